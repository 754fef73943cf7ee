// Issue 23: what the second outside probe found. One test per defect, named
// after it; each failed on the head the probe tested. Storage defects run on
// both backends (ctest http.robustness_issue23 and .postgres).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import http from 'node:http';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { startServer, json, expectProblem, createKey, rawRequest, sleep, BACKEND, SOURCE_DIR } from './helpers.mjs';

const SHARED = path.resolve(SOURCE_DIR, '../shared/data');
const GARMENTS = path.join(SHARED, 'fashion', 'garments');
const photos = readdirSync(GARMENTS).filter((f) => f.endsWith('.jpg')).map((f) => readFileSync(path.join(GARMENTS, f)));

let s;
before(async () => {
  s = await startServer({ ATELIER_IDENTITY_RATE_LIMIT_PER_MINUTE: '0', ATELIER_RATE_LIMIT_PER_MINUTE: '0' });
});
after(async () => s && (await s.stop()));

// One value from the server's database, read behind its back.
function sql(server, query) {
  const r = BACKEND === 'postgres'
    ? spawnSync('psql', [server.env.ATELIER_DATABASE_URL, '-tAc', query], { encoding: 'utf8' })
    : spawnSync('sqlite3', [path.join(server.dir, 'atelier.db'), query], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

const bearer = (token) => ({ authorization: `Bearer ${token}` });
async function register(server, email) {
  const r = await fetch(`${server.url}/v1/auth/register`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: 'a long password' }),
  });
  assert.equal(r.status, 201, await r.clone().text());
  const token = (await json(r)).access_token;
  const me = await json(await fetch(`${server.url}/v1/me`, { headers: bearer(token) }));
  return { token, id: me.user_id ?? me.id, owner: me.identity ?? `user:${me.user_id ?? me.id}` };
}
function upload(server, token, photo, fields = {}) {
  const fd = new FormData();
  fd.append('image', new Blob([photo], { type: 'image/jpeg' }), 'item.jpg');
  for (const [k, v] of Object.entries(fields)) fd.append(k, typeof v === 'string' ? v : JSON.stringify(v));
  return fetch(`${server.url}/v1/wardrobe/items`, { method: 'POST', headers: bearer(token), body: fd });
}

test('defect 1: a deleted account\'s id is never given to the next account, and its token opens nothing', async () => {
  for (let round = 0; round < 3; round++) {
    const victim = await register(s, `victim${round}@example.com`);
    assert.equal((await upload(s, victim.token, photos[0], { name: 'my coat' })).status, 201);
    assert.equal((await fetch(`${s.url}/v1/me`, { method: 'DELETE', headers: bearer(victim.token) })).status, 204);
    // The next registration, at once (the probe's: in the same second).
    const next = await register(s, `next${round}@example.com`);
    assert.notEqual(next.id, victim.id, 'a new account never takes a deleted account\'s id');
    for (const route of ['/v1/me', '/v1/wardrobe/items', '/v1/me/export']) {
      await expectProblem(assert, await fetch(`${s.url}${route}`, { headers: bearer(victim.token) }), 401);
    }
    const listed = await json(await fetch(`${s.url}/v1/wardrobe/items`, { headers: bearer(next.token) }));
    assert.deepEqual(listed.items, [], 'the new account starts empty');
  }
});

test('defect 2: deletion wins the race with uploads in flight: nothing of the account is left', async () => {
  const blobFiles = () => {
    const root = path.join(s.dir, 'wardrobe-blobs');
    if (!existsSync(root)) return 0;
    return readdirSync(root, { recursive: true }).filter((f) => /^[0-9a-f]{2}[\\/][0-9a-f]{62}$/.test(f)).length;
  };
  const before = blobFiles();
  for (let round = 0; round < 3; round++) {
    const u = await register(s, `racer${round}@example.com`);
    const owner = `user:${u.id}`;
    // Eight uploads of photos nobody else holds, then the deletion while they are being tagged.
    const uploads = photos.slice(1 + round * 8, 9 + round * 8).map((p) => upload(s, u.token, p).then(async (r) => (r.status === 201 ? 201 : `${r.status} ${(await r.json()).detail}`)));
    await sleep(80);
    const del = await fetch(`${s.url}/v1/me`, { method: 'DELETE', headers: bearer(u.token) });
    assert.equal(del.status, 204);
    const statuses = await Promise.all(uploads);
    console.log(`round ${round}: uploads answered ${statuses}`);
    for (const st of statuses) assert.ok(st === 201 || /^(401|404) /.test(st), `upload answered ${st}`);
    for (const table of ['wardrobe_items', 'wardrobe_feedback', 'chat_conversations', 'rooms', 'designs', 'collections']) {
      assert.equal(sql(s, `SELECT count(*) FROM ${table} WHERE owner = '${owner}'`), '0', `${table} rows of ${owner} outlived the deletion (uploads: ${statuses})`);
    }
  }
  assert.equal(blobFiles(), before, 'no photo of a deleted account is left on disk');
  // Usage written behind (every second) does not bring a deleted account's row back.
  await sleep(2500);
  assert.equal(sql(s, "SELECT count(*) FROM usage_daily WHERE identity LIKE 'user:%' AND identity NOT IN (SELECT 'user:' || id FROM users)"), '0');
});

// A raw WebSocket handshake (no client library: the tests need to not read).
async function rawSocket(server, headers = {}) {
  const sock = net.connect(server.port, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  sock.write(`GET /v1/chat/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n${extra}\r\n`);
  let head = Buffer.alloc(0);
  await new Promise((resolve) => sock.on('data', function on(d) {
    head = Buffer.concat([head, d]);
    if (head.includes('\r\n\r\n')) { sock.off('data', on); resolve(); }
  }));
  const text = head.toString('latin1');
  return { sock, status: Number(/^HTTP\/1\.1 (\d+)/.exec(text)[1]), rest: head.subarray(head.indexOf('\r\n\r\n') + 4) };
}
// A masked client frame.
function frame(opcode, payload) {
  const data = Buffer.from(payload);
  const mask = randomBytes(4);
  const len = data.length;
  const head = len < 126 ? Buffer.from([0x80 | opcode, 0x80 | len])
    : Buffer.from([0x80 | opcode, 0x80 | 126, len >> 8, len & 255]);
  const body = Buffer.from(data.map((b, i) => b ^ mask[i % 4]));
  return Buffer.concat([head, mask, body]);
}
// Resolves with the close code the server sent (1006 if the connection just
// ended; 'open' if it was still open after 30 s, a bound far above the
// seconds these tests configure).
function closeCode(sock, initial = Buffer.alloc(0)) {
  return new Promise((resolve) => {
    setTimeout(() => resolve('open'), 30000).unref();
    let buf = initial;
    const look = () => {
      while (buf.length >= 2) {
        const op = buf[0] & 0x0f, len = buf[1] & 0x7f;
        if (len >= 126 || buf.length < 2 + len) return;  // long frames are not expected here
        if (op === 8) return resolve(len >= 2 ? buf.readUInt16BE(2) : 1005);
        if (op === 9 && !sock.destroyed) sock.write(frame(10, buf.subarray(2, 2 + len)));  // a live peer answers pings
        buf = buf.subarray(2 + len);
      }
    };
    look();
    sock.on('data', (d) => { buf = Buffer.concat([buf, d]); look(); });
    sock.on('close', () => resolve(1006));
  });
}

test('defect 3: sockets without credentials sign in within the time or close, are capped per address, and idle ones close', async () => {
  const t = await startServer({ ATELIER_WS_AUTH_SECONDS: '1', ATELIER_WS_UNSIGNED_PER_IP: '3', ATELIER_WS_IDLE_SECONDS: '2', ATELIER_WS_PING_SECONDS: '1' });
  try {
    const key = createKey(t, 'free', 'ws');
    // Silent: closed with 1008 once the sign-in time is up (waited for, not timed).
    const silent = await rawSocket(t);
    assert.equal(silent.status, 101);
    assert.equal(await closeCode(silent.sock, silent.rest), 1008);
    // Pings keep nothing alive before sign-in: the first one closes it.
    const pinger = await rawSocket(t);
    pinger.sock.write(frame(1, JSON.stringify({ type: 'ping' })));
    assert.equal(await closeCode(pinger.sock, pinger.rest), 1008);
    // At most three unsigned sockets per address: the fourth handshake is 429.
    const held = [await rawSocket(t), await rawSocket(t), await rawSocket(t)];
    for (const h of held) assert.equal(h.status, 101);
    const fourth = await rawSocket(t);
    assert.equal(fourth.status, 429);
    fourth.sock.destroy();
    // Signing one in frees its place.
    held[0].sock.write(frame(1, JSON.stringify({ type: 'auth', token: key })));
    let place;
    for (let i = 0; i < 100; i++) {
      place = await rawSocket(t);
      if (place.status === 101) break;
      place.sock.destroy();
      await sleep(20);
    }
    assert.equal(place.status, 101, 'a signed-in socket no longer counts');
    // Other connections are served meanwhile.
    assert.equal((await fetch(`${t.url}/health`)).status, 200);
    // A signed-in socket that exchanges no message is closed when idle (1000).
    const idle = await rawSocket(t, { 'X-API-Key': key });
    assert.equal(idle.status, 101);
    assert.equal(await closeCode(idle.sock, idle.rest), 1000);
    // Pings, frames or messages, do not make a socket busy.
    const chatty = await rawSocket(t, { 'X-API-Key': key });
    const pings = setInterval(() => { if (!chatty.sock.destroyed) chatty.sock.write(frame(1, JSON.stringify({ type: 'ping' }))); }, 300);
    try {
      assert.equal(await closeCode(chatty.sock, chatty.rest), 1000);
    } finally {
      clearInterval(pings);
    }
    for (const h of [...held, place]) h.sock.destroy();
  } finally {
    await t.stop();
  }
});

test('defect 8: a peer that does not read is cut off; error frames never echo unbounded input', async () => {
  const t = await startServer({});
  try {
    const key = createKey(t, 'free', 'reader');
    const rss = async () => Number(/^process_resident_memory_bytes (\S+)/m.exec(await (await fetch(`${t.url}/metrics`)).text())[1]);
    const before = await rss();
    const peer = await rawSocket(t, { 'X-API-Key': key });
    assert.equal(peer.status, 101);
    peer.sock.pause();  // never reads again
    peer.sock.on('error', () => {});  // the server resets it
    const closed = new Promise((r) => peer.sock.once('close', r));
    // Pings (each answered with a pong) far beyond any socket buffer.
    const ping = frame(9, 'x'.repeat(125));
    let sent = 0;
    let open = true;
    peer.sock.once('close', () => { open = false; });
    while (open && sent < 64 * 1024 * 1024) {
      const ok = peer.sock.write(Buffer.concat(Array.from({ length: 256 }, () => ping)));
      sent += 256 * ping.length;
      if (!ok) await Promise.race([new Promise((r) => peer.sock.once('drain', r)), closed]);
    }
    await Promise.race([closed, sleep(30000)]);
    assert.ok(!open, `the server cut the connection (after ${sent} bytes sent)`);
    const grew = (await rss()) - before;
    console.log(`sent ${sent} bytes; server RSS grew ${(grew / 1048576).toFixed(1)} MiB`);
    assert.ok(grew < 64 * 1024 * 1024, 'the server did not buffer the replies');
    // An error frame names an unknown type only in part.
    const ws = await rawSocket(t, { 'X-API-Key': key });
    ws.sock.write(frame(1, JSON.stringify({ type: 'x'.repeat(60000) })));
    let got = ws.rest;
    await new Promise((resolve) => {
      const check = () => { if (got.includes('"type":"error"')) resolve(); };
      ws.sock.on('data', (d) => { got = Buffer.concat([got, d]); check(); });
      check();
    });
    assert.ok(got.length < 4096, `the error frame is bounded (${got.length} bytes read)`);
    ws.sock.destroy();
  } finally {
    await t.stop();
  }
});

test('defect 9: wrong JSON types in a chat completion are 400s in OpenAI\'s error shape, never 500', async () => {
  const key = createKey(s, 'free', 'types');
  const msg = [{ role: 'user', content: 'What is tweed?' }];
  const cases = [
    { model: 5, messages: msg }, { model: {}, messages: msg }, { model: null, messages: msg, stream: 'yes' },
    { messages: msg, stream: true, stream_options: { include_usage: 'yes' } },
    { messages: msg, stream_options: 'usage' },
    { messages: [{ role: 'user', content: [{ type: 5, text: 'x' }] }] },
    { messages: [{ role: 'user', content: [{ type: 'text', text: 7 }] }] },
    { messages: [{ role: 5, content: 'x' }] }, { messages: [5] }, { messages: 'hello' },
    { messages: msg, n: '1' }, { messages: msg, conversation_id: 5 }, { messages: msg, collections: 'all' },
  ];
  const bodies = [...cases.map((c) => JSON.stringify(c)), '[]', '"text"', '5', 'null'];
  for (const body of bodies) {
    const r = await fetch(`${s.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body });
    assert.equal(r.status, 400, body);
    const j = await r.json();
    assert.equal(j.error?.type, 'invalid_request_error', body);
    assert.ok(j.error.message.length > 0, body);
  }
});

test('defect 4: every stored wardrobe field is bounded, on PATCH, upload and multipart alike; seasons are de-duplicated', async () => {
  const key = createKey(s, 'free', 'bounds');
  const h = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  const made = await upload(s, key, photos[0], { season: '["winter"]' });
  assert.equal(made.status, 201, 'a form field holding a JSON list is read as one');
  const item = await made.json();
  assert.deepEqual(item.season, ['winter']);
  const patch = (body) => fetch(`${s.url}/v1/wardrobe/items/${item.id}`, { method: 'PATCH', headers: h, body: JSON.stringify(body) });
  // The probe's: a list of millions of "winter" (here 2 MB of them).
  await expectProblem(assert, await patch({ season: Array.from({ length: 250000 }, () => 'winter') }), 400);
  await expectProblem(assert, await patch({ season: 'winter,'.repeat(50000) }), 400);
  await expectProblem(assert, await patch({ season: ['winter', 'x'.repeat(100)] }), 400);
  await expectProblem(assert, await patch({ name: 'n'.repeat(201) }), 400);
  await expectProblem(assert, await patch({ notes: 'n'.repeat(2001) }), 400);
  await expectProblem(assert, await patch({ type: 't'.repeat(65) }), 400);
  const dup = await patch({ season: ['winter', 'autumn', 'winter', 'autumn'] });
  assert.equal(dup.status, 200);
  assert.deepEqual((await dup.json()).season, ['winter', 'autumn']);
  for (const fields of [{ name: 'n'.repeat(201) }, { season: JSON.stringify(Array.from({ length: 100 }, () => 'winter')) }, { brand: 'b'.repeat(201) }]) {
    await expectProblem(assert, await upload(s, key, photos[0], fields), 400);
  }
});

test('defect 5: a conversation is bounded in what it stores and what one request adds, and is read a page at a time', async () => {
  const key = createKey(s, 'free', 'talker');
  const h = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  const conv = await json(await fetch(`${s.url}/v1/conversations`, { method: 'POST', headers: h, body: '{"title":"bounded"}' }));
  const ask = (messages) => fetch(`${s.url}/v1/chat/completions`, { method: 'POST', headers: h, body: JSON.stringify({ model: 'local', conversation_id: conv.id, messages }) });
  // The probe's request: 200 messages of 32 KiB each.
  const huge = Array.from({ length: 200 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: 'w'.repeat(32 * 1024) }));
  huge[huge.length - 1].role = 'user';
  await expectProblem(assert, await ask(huge), 413);
  for (let i = 0; i < 3; i++) assert.equal((await ask([{ role: 'user', content: `What is tweed? (${i})` }])).status, 200);
  const page1 = await json(await fetch(`${s.url}/v1/conversations/${conv.id}?limit=4`, { headers: h }));
  assert.equal(page1.messages.length, 4);
  assert.equal(typeof page1.next_cursor, 'string');
  const page2 = await json(await fetch(`${s.url}/v1/conversations/${conv.id}?limit=4&cursor=${encodeURIComponent(page1.next_cursor)}`, { headers: h }));
  assert.equal(page2.messages.length, 2);
  assert.equal(page2.next_cursor, null);
  assert.deepEqual([...page1.messages, ...page2.messages].map((m) => m.seq), [1, 2, 3, 4, 5, 6]);
  // Filling it: refused with 413 once full, and what was stored is kept.
  const big = Array.from({ length: 60 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: 'v'.repeat(4000) }));
  big[big.length - 1] = { role: 'user', content: 'What is tweed?' };
  let status = 200, rounds = 0;
  while (status === 200 && rounds < 20) { status = (await ask(big)).status; rounds++; }
  assert.equal(status, 413, 'a full conversation refuses more');
  const stored = await json(await fetch(`${s.url}/v1/conversations/${conv.id}?limit=1000`, { headers: h }));
  assert.ok(stored.messages.length <= 1000);
  assert.ok(stored.messages.reduce((n, m) => n + m.content.length, 0) <= 1000000);
});

test('defect 6: the knowledge base\'s name cannot be taken, and a collection that took it before keeps its data under its owner', async () => {
  const squatter = createKey(s, 'free', 'squatter');
  const h = { authorization: `Bearer ${squatter}`, 'content-type': 'application/json' };
  await expectProblem(assert, await fetch(`${s.url}/v1/collections`, { method: 'POST', headers: h, body: '{"name":"style-glossary","visibility":"public"}' }), 403);
  const r = await fetch(`${s.url}/v1/rag/query`, { method: 'POST', headers: h, body: '{"question":"What is tweed?"}' });
  assert.equal(r.status, 200);
  assert.ok((await r.json()).sources.some((x) => x.collection === 'style-glossary'));
  // Naming the knowledge base by its ref is the same collection, searched once.
  const twice = await json(await fetch(`${s.url}/v1/rag/query`, { method: 'POST', headers: h, body: '{"question":"What is tweed?","collections":["system:style-glossary","style-glossary"]}' }));
  const cited = twice.sources.map((x) => `${x.collection}/${x.id}`);
  assert.deepEqual(cited, [...new Set(cited)], 'no passage twice');
  assert.ok(twice.sources.every((x) => x.collection === 'style-glossary'), JSON.stringify(cited));
  await expectProblem(assert, await fetch(`${s.url}/v1/collections/style-glossary`, { method: 'DELETE', headers: h }), 403);
  await expectProblem(assert, await fetch(`${s.url}/v1/collections/system:style-glossary`, { method: 'DELETE', headers: h }), 403);
  const admin = createKey(s, 'admin', 'root');
  await expectProblem(assert, await fetch(`${s.url}/v1/collections/style-glossary`, { method: 'DELETE', headers: { authorization: `Bearer ${admin}` } }), 403);
  // A database from before names were per owner (migration 17), where
  // someone took the name first: the next start keeps that collection as
  // the squatter's own and builds the knowledge base beside it.
  const t = await startServer({});
  try {
    const k = createKey(t, 'free', 'early');
    const hk = { authorization: `Bearer ${k}`, 'content-type': 'application/json' };
    assert.equal((await fetch(`${t.url}/v1/collections`, { method: 'POST', headers: hk, body: '{"name":"early-bird"}' })).status, 201);
    assert.equal((await fetch(`${t.url}/v1/collections/early-bird/documents`, { method: 'POST', headers: hk, body: '[{"id":"a","text":"my own tweed notes"}]' })).status, 200);
    await t.stop({ keepData: true });
    sql(t, "UPDATE collections SET name = 'style-glossary' WHERE name LIKE '%:early-bird'");
    sql(t, "DELETE FROM collections WHERE owner = 'system'");
    sql(t, 'DELETE FROM schema_migrations WHERE version = 17');
    const u = await startServer({}, { dataDir: t.dir });
    try {
      const q = await fetch(`${u.url}/v1/rag/query`, { method: 'POST', headers: hk, body: '{"question":"What is tweed?"}' });
      assert.equal(q.status, 200, await q.clone().text());
      assert.ok((await q.json()).sources.some((x) => x.collection === 'style-glossary' && x.id !== 'a'), 'the knowledge base answers');
      const mine = (await json(await fetch(`${u.url}/v1/collections`, { headers: hk }))).collections;
      const kept = mine.find((c) => c.name === 'style-glossary' && c.owner !== 'system');
      assert.ok(kept, `the squatter's collection is kept as its own: ${JSON.stringify(mine)}`);
      assert.equal(kept.ref, `${kept.owner}:style-glossary`);
      const hits = await json(await fetch(`${u.url}/v1/collections/${encodeURIComponent(kept.ref)}/search?q=tweed`, { headers: hk }));
      assert.deepEqual(hits.hits.map((x) => x.id), ['a']);
      assert.ok(mine.some((c) => c.ref === 'system:style-glossary'));
    } finally {
      await u.stop({ keepData: true });
    }
  } finally {
    await t.stop();
  }
});

test('defect 10: numbers end where their text ends; chunk sizes past 2^63 get a status line; k does not wrap; inline photos cost what they do', async () => {
  const key = createKey(s, 'premium', 'small');
  const auth = { authorization: `Bearer ${key}` };
  const img = { ...auth, 'content-type': 'image/jpeg' };
  await expectProblem(assert, await fetch(`${s.url}/v1/vision/detect?min_score=0.9%00junk`, { method: 'POST', headers: img, body: photos[0] }), 400);
  await expectProblem(assert, await fetch(`${s.url}/v1/collections/x/search?q=a&k=5%00`, { headers: auth }), 400);
  const { data } = await rawRequest(s.port, 'POST /v1/text/analyze HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\nffffffffffffffff\r\n{}\r\n0\r\n\r\n');
  assert.match(data, /^HTTP\/1\.1 400 /, data.slice(0, 100));
  const rag = await fetch(`${s.url}/v1/rag/query`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{"question":"What is tweed?","k":4294967297}' });
  await expectProblem(assert, rag, 400);
  // An inline evaluation of three photos costs 2 units and 1 per photo.
  const used = async () => (await json(await fetch(`${s.url}/v1/rate-limit/status`, { headers: auth }))).daily_quota.used;
  const u0 = await used();
  const items = photos.slice(0, 3).map((p) => ({ image: p.toString('base64') }));
  const e = await fetch(`${s.url}/v1/outfits/evaluate`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ items }) });
  assert.equal(e.status, 200);
  assert.equal((await used()) - u0, 2 + 3);
});

// A local server speaking OpenAI's chat completions protocol (streamed, as
// the hosted engine asks), holding every answer until released.
async function heldUpstream() {
  const waiting = [];
  let release;
  const released = new Promise((r) => { release = r; });
  const server = http.createServer(async (req, res) => {
    for await (const _ of req);  // the body
    waiting.push(res);
    await released;
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(`data: ${JSON.stringify({ id: 'up', object: 'chat.completion.chunk', created: 1, model: 'upstream-model', choices: [{ index: 0, delta: { content: 'Tweed.' }, finish_reason: 'stop' }] })}\n\n`);
    res.end('data: [DONE]\n\n');
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { server, waiting, release: () => release(), url: `http://127.0.0.1:${server.address().port}/v1` };
}

test('defect 7: every hosted call counts against its caller\'s cap, and waiting on the engine holds no thread model work needs', async () => {
  const up = await heldUpstream();
  const t = await startServer({
    ATELIER_IDENTITY_RATE_LIMIT_PER_MINUTE: '0', ATELIER_RATE_LIMIT_PER_MINUTE: '0',
    ATELIER_CHAT_OPENAI_BASE_URL: up.url, ATELIER_CHAT_OPENAI_MODEL: 'upstream-model',
    ATELIER_CHAT_STREAMS_PER_USER: '2', ATELIER_INFERENCE_WORKERS: '4',
  });
  try {
    const ask = (key) => fetch(`${t.url}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'upstream-model', messages: [{ role: 'user', content: 'What is tweed?' }] }),
    });
    // Eight callers, two non-streamed calls each, all waiting on the engine:
    // more than the inference pool has threads.
    const keys = Array.from({ length: 8 }, (_, i) => createKey(t, 'premium', `asker${i}`));
    const pending = keys.flatMap((k) => [ask(k), ask(k)]);
    for (let i = 0; i < 1500 && up.waiting.length < 16; i++) await sleep(20);
    assert.equal(up.waiting.length, 16, 'all sixteen calls wait on the engine at once');
    // A third call of one caller is over its cap.
    await expectProblem(assert, await ask(keys[0]), 429);
    // Another user's upload is served while the sixteen wait.
    const other = createKey(t, 'premium', 'uploader');
    assert.equal((await upload(t, other, photos[0])).status, 201);
    assert.equal(up.waiting.length, 16, 'the engine has answered none yet');
    up.release();
    for (const r of await Promise.all(pending)) assert.equal(r.status, 200);
  } finally {
    up.release();
    await t.stop();
    up.server.close();
  }
});
