// Chat over a WebSocket (GET /v1/chat/ws) through the real binary, with the
// `ws` client from npm: the same answers as the OpenAI-compatible route,
// frame by frame; credentials in the handshake or in a first frame; cancel
// keeps the socket; bad frames are answered, oversized ones cut; pings both
// ways; per-token quotas; a drain says 1001.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { Socket } from './ws_client.mjs';
import { startServer, json, createKey, sleep } from './helpers.mjs';

let s, key, h;
before(async () => {
  s = await startServer({ ATELIER_IDENTITY_RATE_LIMIT_PER_MINUTE: '0', ATELIER_CHAT_STREAMS_PER_USER: '2' });
  key = createKey(s, 'free', 'socket');
  h = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
});
after(async () => s && (await s.stop()));

const completion = async (content, extra = {}) =>
  json(await fetch(`${s.url}/v1/chat/completions`, {
    method: 'POST', headers: h,
    body: JSON.stringify({ model: 'local', messages: [{ role: 'user', content }], ...extra }),
  }));

test('a turn streams sources, deltas and one done: the same answer as the completions route', async () => {
  const ws = await Socket.open(s, { headers: { authorization: `Bearer ${key}` } });
  const ready = await ws.next();
  assert.equal(ready.type, 'ready');
  assert.equal(ready.anonymous, false);
  assert.deepEqual(ready.models, ['local']);
  for (const q of ['What is tweed?', 'tweed vs flannel', 'What is chintz?']) {
    const t = await ws.turn({ content: q });
    assert.equal(t.last.type, 'done', JSON.stringify(t.last));
    assert.equal(t.frames[0].type, 'sources', 'sources come first');
    assert.equal(t.frames.filter((f) => f.type === 'done').length, 1);
    assert.equal(t.turns.size, 1, 'every frame names the same turn');
    assert.match([...t.turns][0], /^chatcmpl-/);
    assert.equal(t.last.finish_reason, 'stop');
    assert.equal(t.last.model, 'local');
    const whole = await completion(q);
    assert.equal(t.text, whole.choices[0].message.content, 'streamed text equals the whole answer');
    assert.deepEqual(t.sources.map((x) => x.id), whole.sources.map((x) => x.id));
    assert.equal(t.last.usage.completion_tokens, whole.usage.completion_tokens);
    assert.equal(t.last.usage.total_tokens, t.last.usage.prompt_tokens + t.last.usage.completion_tokens);
    assert.ok(t.last.timings.total_ms >= t.last.timings.first_token_ms);
    for (const m of t.text.matchAll(/\[(\d+)\]/g)) assert.ok(t.sources.some((x) => x.n === Number(m[1])), `[${m[1]}] resolves`);
  }
  await ws.close();
});

test('the socket keeps its turns: a follow-up is searched with its context', async () => {
  const ws = await Socket.open(s, { headers: { authorization: `Bearer ${key}` } });
  await ws.next();
  const first = await ws.turn({ content: 'What is tweed?' });
  const follow = await ws.turn({ content: 'how does it compare to flannel?' });
  assert.equal(follow.last.type, 'done');
  const titles = follow.sources.map((x) => x.title);
  assert.ok(titles.includes('flannel') && titles.includes('tweed'), JSON.stringify(titles));
  assert.ok(follow.last.usage.prompt_tokens > first.last.usage.prompt_tokens, 'the history was sent');
  await ws.close();
});

test('a conversation over the socket is stored like one over the completions route', async () => {
  const c = await json(await fetch(`${s.url}/v1/conversations`, { method: 'POST', headers: h, body: '{}' }));
  const ws = await Socket.open(s, { headers: { authorization: `Bearer ${key}` } });
  await ws.next();
  const t = await ws.turn({ content: 'What is velvet?', conversation_id: c.id });
  assert.equal(t.last.conversation_id, c.id);
  const stored = await json(await fetch(`${s.url}/v1/conversations/${c.id}`, { headers: h }));
  assert.deepEqual(stored.messages.map((m) => m.role), ['user', 'assistant']);
  assert.equal(stored.messages[1].content, t.text);
  const missing = await ws.turn({ content: 'hello', conversation_id: 'cv_nope' });
  assert.equal(missing.last.type, 'error');
  assert.equal(missing.last.status, 404);
  await ws.close();
});

test('browsers sign in with a first frame; bad or missing credentials close with 1008', async () => {
  const ws = await Socket.open(s);
  ws.send({ type: 'auth', token: key });
  const ready = await ws.next();
  assert.equal(ready.type, 'ready');
  const t = await ws.turn({ content: 'What is tweed?' });
  assert.equal(t.last.type, 'done');
  ws.send({ type: 'auth', token: key });
  assert.equal((await ws.next()).status, 400, 'signing in twice is refused, the socket stays');
  await ws.close();

  const bad = await Socket.open(s);
  bad.send({ type: 'auth', token: 'atl_not_a_key' });
  const e = await bad.next();
  assert.equal(e.type, 'error');
  assert.equal(e.status, 401);
  assert.equal((await bad.closed).code, 1008);

  // Anonymous callers (on by default) chat without credentials, by IP.
  const anon = await Socket.open(s);
  anon.send({ type: 'message', content: 'What is tweed?' });
  const r = await anon.next();
  assert.equal(r.type, 'ready');
  assert.equal(r.anonymous, true);
  assert.equal((await anon.next()).type, 'sources');
  while ((await anon.next()).type !== 'done');
  const conv = await anon.turn({ content: 'hi', conversation_id: 'cv_x' });
  assert.equal(conv.last.status, 401, 'conversations need a user or key');
  await anon.close();
  const closedServer = await startServer({ ATELIER_ALLOW_ANONYMOUS: 'false' });
  try {
    const off = await Socket.open(closedServer);
    off.send({ type: 'message', content: 'What is tweed?' });
    assert.equal((await off.next()).status, 401);
    assert.equal((await off.closed).code, 1008);
  } finally {
    await closedServer.stop();
  }

  // Credentials in the handshake are checked before the upgrade.
  await assert.rejects(Socket.open(s, { headers: { authorization: 'Bearer atl_wrong' } }), (err) => err.status === 401);
});

test('bad frames get error frames and the socket stays; binary and oversized frames close it', async () => {
  const ws = await Socket.open(s, { headers: { 'x-api-key': key } });
  await ws.next();
  for (const [frame, status] of [
    ['not json', 400], ['[1,2]', 400], [{ type: 'dance' }, 400], [{ type: 'message' }, 400],
    [{ type: 'message', content: 'x', model: 'gpt-9' }, 404], [{ type: 'message', content: 'x', collections: 'all' }, 400],
    [{ type: 'message', content: 'x'.repeat(40000) }, 400],
  ]) {
    ws.send(frame);
    const e = await ws.next();
    assert.equal(e.type, 'error', JSON.stringify(frame));
    assert.equal(e.status, status, `${JSON.stringify(frame).slice(0, 60)}: ${e.message}`);
    assert.ok(e.message.length > 0);
  }
  ws.send({ type: 'ping' });
  assert.equal((await ws.next()).type, 'pong');
  const pong = new Promise((r) => ws.ws.once('pong', (d) => r(d.toString())));
  ws.ws.ping('are you there');
  assert.equal(await pong, 'are you there', 'ping frames are answered');
  ws.send({ type: 'cancel' });  // nothing running: ignored
  assert.equal((await ws.turn({ content: 'What is tweed?' })).last.type, 'done');
  ws.ws.send(Buffer.from([1, 2, 3]), { binary: true });
  assert.equal((await ws.closed).code, 1003);

  // A frame declaring 2 GiB is cut before any buffer is sized for it.
  const raw = await handshake(s.port);
  const head = Buffer.alloc(14);
  head[0] = 0x81; head[1] = 0x80 | 127;
  head.writeBigUInt64BE(2n ** 31n, 2);
  raw.write(head);
  await new Promise((resolve) => raw.on('close', resolve));
  const again = await Socket.open(s, { headers: { 'x-api-key': key } });
  assert.equal((await again.next()).type, 'ready', 'the server is still serving');
  // A message over 1 MiB closes with 1009.
  again.send({ type: 'message', content: 'y'.repeat(1100000) });
  assert.equal((await again.closed).code, 1009);
});

test('at most the configured sockets per caller', async () => {
  const a = await Socket.open(s, { headers: { authorization: `Bearer ${key}` } });
  await a.next();
  const b = await Socket.open(s, { headers: { authorization: `Bearer ${key}` } });
  assert.equal((await b.next()).type, 'ready');
  const c = await Socket.open(s, { headers: { authorization: `Bearer ${key}` } });
  const e = await c.next();
  assert.equal(e.status, 429);
  assert.match(e.message, /at most 2/);
  assert.equal((await c.closed).code, 1013);
  await a.close();
  await b.close();
  await sleep(100);
  const d = await Socket.open(s, { headers: { authorization: `Bearer ${key}` } });
  assert.equal((await d.next()).type, 'ready', 'closed sockets give their slots back');
  await d.close();
});

test('a plain GET is told to upgrade (426)', async () => {
  const r = await fetch(`${s.url}/v1/chat/ws`, { headers: h });
  assert.equal(r.status, 426);
  assert.equal(r.headers.get('upgrade'), 'websocket');
  assert.equal(r.headers.get('content-type'), 'application/problem+json');
});

// A raw handshake: a socket that then says nothing, not even pongs.
async function handshake(port, apiKey = key) {
  const sock = net.connect(port, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  sock.write(`GET /v1/chat/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nX-API-Key: ${apiKey}\r\n\r\n`);
  let head = '';
  await new Promise((resolve) => sock.on('data', function on(d) {
    head += d.toString('latin1');
    if (head.includes('\r\n\r\n')) { sock.off('data', on); resolve(); }
  }));
  assert.match(head, /^HTTP\/1\.1 101/);
  return sock;
}

test('tokens delivered are charged when per-token quotas are on; a dead peer is dropped after two pings', async () => {
  const metered = await startServer({ ATELIER_CHAT_TOKENS_PER_UNIT: '5', ATELIER_WS_PING_SECONDS: '1', ATELIER_IDENTITY_RATE_LIMIT_PER_MINUTE: '0' });
  try {
    const k = createKey(metered, 'free', 'metered');
    const used = async () => (await json(await fetch(`${metered.url}/v1/rate-limit/status`, { headers: { authorization: `Bearer ${k}` } }))).daily_quota.used;
    const u0 = await used();  // the status route itself does not count
    const ws = await Socket.open(metered, { headers: { authorization: `Bearer ${k}` } });
    await ws.next();
    const t = await ws.turn({ content: 'What is tweed?' });
    await ws.close();
    const u1 = await used();
    const tokens = t.last.usage.completion_tokens;
    assert.equal(u1 - u0, 1 + Math.ceil(tokens / 5), `one unit for the turn and one per 5 of its ${tokens} tokens`);
    const r = await fetch(`${metered.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${k}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'local', messages: [{ role: 'user', content: 'What is tweed?' }] }) });
    const whole = await r.json();
    const u2 = await used();
    assert.equal(u2 - u1, 1 + Math.ceil(whole.usage.completion_tokens / 5), 'the completions route charges the same way');

    const raw = await handshake(metered.port, k);
    let pings = 0;
    raw.on('data', (d) => { if (d[0] === 0x89) pings++; });
    await new Promise((resolve) => raw.on('close', resolve));
    assert.ok(pings >= 1, 'it was pinged before being dropped');
  } finally {
    await metered.stop();
  }
});

test('a draining server closes its sockets with 1001', async () => {
  const d = await startServer({});
  const k = createKey(d, 'free', 'drain');
  const ws = await Socket.open(d, { headers: { authorization: `Bearer ${k}` } });
  await ws.next();
  d.proc.kill('SIGTERM');
  const closed = await ws.closed;
  assert.equal(closed.code, 1001);
  assert.equal((await d.exited).code, 0);
});
