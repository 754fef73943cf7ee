// OpenAPI as the contract (issue 25): every answer the document types is
// checked against the live answer of a real server (ajv, JSON Schema 2020-12,
// the dialect of OpenAPI 3.1), and a client generated from the document with
// openapi-typescript and openapi-fetch type-checks (tsc --strict) and then
// runs against the same server. A route whose answer drifts from its
// documented shape fails here; so does a schema change that breaks the client.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import { startServer, createKey, json, SOURCE_DIR } from './helpers.mjs';
import { Socket } from './ws_client.mjs';

const SHARED = path.resolve(SOURCE_DIR, '../shared/data');
let s, key, spec;
before(async () => {
  s = await startServer();
  key = createKey(s, 'admin', 'contract');
  spec = await json(await fetch(`${s.url}/openapi.json`));
});
after(async () => s && (await s.stop()));

const call = (method, route, body, headers = {}) =>
  fetch(`${s.url}${route}`, { method, body, headers: { 'X-API-Key': key, ...headers } });
const jsonCall = (method, route, obj) =>
  call(method, route, JSON.stringify(obj), { 'content-type': 'application/json' });

// The operation a concrete path answers for: its template in the document.
function operationOf(method, route) {
  const bare = route.split('?')[0];
  for (const [template, ops] of Object.entries(spec.paths)) {
    const re = new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`);
    if (re.test(bare) && ops[method.toLowerCase()]) return { template, op: ops[method.toLowerCase()] };
  }
  return null;
}

test('the document names its server and describes every tag its operations use', async () => {
  assert.deepEqual(spec.servers.map((x) => x.url), ['/']);
  const described = new Map(spec.tags.map((t) => [t.name, t.description]));
  for (const [template, ops] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      for (const tag of op.tags) assert.ok(described.get(tag), `${method} ${template}: tag ${tag} is described`);
    }
  }
});

test('a streamed completion\'s events and the chat socket\'s frames have the shapes the document gives them', async () => {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  // Server-sent events: every `data:` JSON against x-atelier-event.
  const media = spec.paths['/v1/chat/completions'].post.responses['200'].content['text/event-stream'];
  assert.ok(media, 'the completion documents its event stream');
  const event = ajv.compile(media['x-atelier-event']);
  for (const example of media.example.split('\n\n').filter((l) => l.startsWith('data: {')))
    assert.ok(event(JSON.parse(example.slice(6))), `the document's own example event: ${ajv.errorsText(event.errors)}`);
  for (const extra of [{}, { stream_options: { include_usage: true } }]) {
    const r = await call('POST', '/v1/chat/completions', JSON.stringify({ model: 'local', stream: true, messages: [{ role: 'user', content: 'What is chintz?' }], ...extra }), { 'content-type': 'application/json' });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^text\/event-stream/);
    const lines = (await r.text()).split('\n').filter((l) => l.startsWith('data: '));
    assert.equal(lines.at(-1), 'data: [DONE]');
    const events = lines.slice(0, -1).map((l) => JSON.parse(l.slice(6)));
    assert.ok(events.length >= 3);
    for (const e of events) assert.ok(event(e), `${JSON.stringify(e).slice(0, 300)}: ${ajv.errorsText(event.errors)}`);
    assert.ok(events[0].sources, 'sources on the first event');
    if (extra.stream_options) assert.ok(events.at(-1).usage, 'usage on the last event');
  }
  // The socket: frames sent against `client`, frames received against `server`.
  const socket = spec.paths['/v1/chat/ws'].get['x-atelier-websocket'];
  const client = ajv.compile(socket.client);
  const server = ajv.compile(socket.server);
  for (const f of socket.client.examples) assert.ok(client(f), `client example ${JSON.stringify(f)}`);
  for (const f of socket.server.examples) assert.ok(server(f), `server example ${JSON.stringify(f)}`);
  assert.ok(!client({ type: 'message' }), 'a message without content is not a client frame');
  const ws = await Socket.open(s, { headers: { authorization: `Bearer ${key}` } });
  const seen = new Set();
  const received = async () => {
    const f = await ws.next();
    assert.ok(server(f), `${JSON.stringify(f).slice(0, 300)}: ${ajv.errorsText(server.errors)}`);
    seen.add(f.type);
    return f;
  };
  assert.equal((await received()).type, 'ready');
  const sent = [{ type: 'message', content: 'What is tweed?' }, { type: 'ping' }];
  for (const f of sent) assert.ok(client(f));
  ws.send(sent[0]);
  for (let f = await received(); f.type !== 'done'; f = await received()) assert.notEqual(f.type, 'error', JSON.stringify(f));
  ws.send(sent[1]);
  assert.equal((await received()).type, 'pong');
  ws.send({ type: 'nonsense' });
  assert.equal((await received()).type, 'error');
  assert.deepEqual([...seen].sort(), ['delta', 'done', 'error', 'pong', 'ready', 'sources']);
  await ws.close();
});

test('every JSON request body has an example that its schema accepts; image examples are real images', async () => {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addFormat('byte', /^[A-Za-z0-9+/]*={0,2}$/);
  ajv.addFormat('email', /^[^@\s]+@[^@\s]+$/);
  let bodies = 0;
  for (const [template, ops] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const media = op.requestBody?.content?.['application/json'];
      if (!media) continue;
      bodies++;
      assert.ok(media.example !== undefined, `${method} ${template}: a request example`);
      const validate = ajv.compile(media.schema);
      assert.ok(validate(media.example), `${method} ${template}: ${ajv.errorsText(validate.errors)}`);
    }
  }
  assert.ok(bodies >= 25, `${bodies} JSON request bodies`);
  // The image examples decode and are answered as any photo is.
  for (const route of ['/v1/vision/detect', '/v1/vision/analyze', '/v1/vision/ocr', '/v1/vision/caption', '/v1/embeddings/images']) {
    const example = spec.paths[route].post.requestBody.content['application/json'].example;
    const r = await jsonCall('POST', route, example);
    assert.equal(r.status, 200, `${route}: ${await r.text()}`);
  }
});

test('live answers have the shapes the OpenAPI document gives them', async () => {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  const checked = new Set();
  const drift = [];  // every answer that is not the shape its document gives, reported together
  const check = async (method, route, res) => {
    const text = await res.text();
    assert.ok(res.status < 300, `${method} ${route}: ${res.status} ${text.slice(0, 300)}`);
    const found = operationOf(method, route);
    assert.ok(found, `${method} ${route} is documented`);
    const answer = found.op.responses[String(res.status)];
    assert.ok(answer, `${method} ${found.template} documents its ${res.status}`);
    const media = answer.content?.['application/json'];
    if (!media) return null;
    const body = JSON.parse(text);
    const validate = ajv.compile(media.schema);
    if (!validate(body)) drift.push(`${method} ${found.template}: ${ajv.errorsText(validate.errors)}\n  ${text.slice(0, 300)}`);
    if (media.example !== undefined) {
      assert.ok(validate(media.example), `${method} ${found.template}: its own example`);
      checked.add(`${method.toLowerCase()} ${found.template}`);
    }
    return body;
  };
  const get = async (route) => check('GET', route, await call('GET', route));
  const post = async (route, obj) => check('POST', route, await jsonCall('POST', route, obj));
  const upload = async (route, file, type = 'image/jpeg') =>
    check('POST', route, await call('POST', route, readFileSync(file), { 'content-type': type }));

  const outfits = JSON.parse(readFileSync(path.join(SHARED, 'outfits/outfits.json'), 'utf8'));
  const photos = outfits[3].items.map((i) => path.join(SHARED, 'outfits', i.image));
  const roomFile = path.join(SHARED, 'rooms/bedroom', readdirSync(path.join(SHARED, 'rooms/bedroom')).find((f) => f.endsWith('.jpg')));

  for (const route of ['/health', '/health/live', '/health/ready', '/health/detailed', '/v1/me', '/v1/rate-limit/status',
    '/v1/text/languages', '/v1/models', '/v1/design/styles', '/v1/design/spend', '/v1/rag/knowledge',
    '/v1/index/stats', '/v1/me/preferences', '/v1/admin/keys']) await get(route);
  await post('/v1/text/analyze', { text: 'Tweed jackets keep you warm.' });
  await post('/v1/embeddings', { model: 'glove-sif-100d', input: ['navy blazer'] });
  await upload('/v1/embeddings/images', photos[0]);
  for (const op of ['detect', 'analyze', 'ocr', 'caption']) await upload(`/v1/vision/${op}`, photos[0]);
  await upload('/v1/vision/analyze?ocr=true&caption=true&classify=false', photos[0]);
  const fd = new FormData();
  fd.append('image', new Blob([readFileSync(photos[0])], { type: 'image/jpeg' }), 'p.jpg');
  fd.append('question', 'what colour is the top?');
  await check('POST', '/v1/vision/vqa', await call('POST', '/v1/vision/vqa', fd));

  const ids = [];
  for (const p of photos.slice(0, 3)) ids.push((await upload('/v1/wardrobe/items', p)).id);
  await get('/v1/wardrobe/items');
  await get(`/v1/wardrobe/items/${ids[0]}`);
  await get(`/v1/wardrobe/items/${ids[0]}/similar?k=2`);
  await get('/v1/wardrobe/search?q=navy+top');
  await check('PATCH', `/v1/wardrobe/items/${ids[0]}`, await jsonCall('PATCH', `/v1/wardrobe/items/${ids[0]}`, { season: 'autumn' }));
  await post('/v1/outfits/evaluate', { item_ids: ids });
  await post('/v1/outfits/recommend', { occasion: 'work', count: 1 });
  await post('/v1/feedback', { event: 'like', item_ids: ids.slice(0, 2) });

  await post('/v1/collections', { name: 'contract' });
  await get('/v1/collections');
  await get('/v1/collections/contract');
  await post('/v1/collections/contract/documents', [{ id: 'tweed', text: 'Tweed is a rough woollen cloth.', metadata: { fibre: 'wool' } }]);
  await get('/v1/collections/contract/documents');
  await get('/v1/collections/contract/documents/tweed');
  await get('/v1/collections/contract/search?q=wool&include=text,metadata');
  await post('/v1/collections', { name: 'contract-looks', model: 'mobilenet-v2' });
  await post('/v1/collections/contract-looks/images',
    photos.slice(0, 2).map((p, i) => ({ id: `p${i}`, image: readFileSync(p).toString('base64'), text: 'a look', metadata: { n: i } })));
  await upload('/v1/collections/contract-looks/search/image?k=2', photos[1]);

  const conv = await post('/v1/conversations', { title: 'contract' });
  await get('/v1/conversations');
  await post('/v1/chat/completions', { model: 'local', conversation_id: conv.id, messages: [{ role: 'user', content: 'What is tweed?' }] });
  await get(`/v1/conversations/${conv.id}`);
  await post('/v1/rag/query', { question: 'What is flannel?' });

  const room = await upload('/v1/rooms?room_type=bedroom&name=contract', roomFile);
  await get('/v1/rooms');
  await get(`/v1/rooms/${room.id}`);
  const design = await check('POST', '/v1/designs', await jsonCall('POST', '/v1/designs', { room_id: room.id, style: 'scandinavian', seed: 1 }));
  await get(`/v1/designs/${design.id}`);
  await get('/v1/designs');
  await check('POST', `/v1/designs/${design.id}/cancel`, await call('POST', `/v1/designs/${design.id}/cancel`));
  // Everything the caller made above, in one export; a user's, with its
  // account and a key of its own; and this document itself.
  await get('/v1/me/export');
  const reg = await jsonCall('POST', '/v1/auth/register', { email: 'contract@example.com', password: 'correct horse' });
  assert.equal(reg.status, 201);
  const bearer = { authorization: `Bearer ${(await json(reg)).access_token}` };
  const own = await fetch(`${s.url}/v1/keys`, { method: 'POST', body: JSON.stringify({ name: 'laptop' }), headers: { ...bearer, 'content-type': 'application/json' } });
  assert.equal(own.status, 201, await own.clone().text());
  const exported = await check('GET', '/v1/me/export', await fetch(`${s.url}/v1/me/export`, { headers: bearer }));
  assert.equal(exported.account.email, 'contract@example.com');
  assert.equal(exported.api_keys.length, 1);
  await get('/openapi.json');

  assert.deepEqual(drift, [], 'answers that drift from their documented shapes');
  // Every answer the document shows an example of was checked against a live one.
  const withExamples = [];
  for (const [template, ops] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const ok = Object.entries(op.responses).find(([code]) => code < '300');
      if (ok?.[1].content?.['application/json']?.example !== undefined) withExamples.push(`${method} ${template}`);
    }
  }
  const unchecked = withExamples.filter((k) => !checked.has(k));
  assert.deepEqual(unchecked, [], 'operations whose example no live answer was checked against');
  const typed = withExamples.length;
  console.log(`OpenAPI: ${typed} operations typed from real answers, all checked live`);
  // And no JSON answer is left a bare object.
  const untyped = [];
  for (const [template, ops] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      for (const [code, answer] of Object.entries(op.responses)) {
        const schema = code < '300' && answer.content?.['application/json']?.schema;
        if (schema && schema.type === 'object' && !schema.properties && !schema.additionalProperties) untyped.push(`${method} ${template}`);
      }
    }
  }
  assert.deepEqual(untyped, [], 'JSON answers without a shape');
});

test('a client generated with openapi-typescript type-checks (tsc --strict) and runs against the server', async () => {
  // Under the checkout's node_modules, so that imports resolve from there.
  const cache = path.join(SOURCE_DIR, 'node_modules/.cache');
  mkdirSync(cache, { recursive: true });
  const dir = mkdtempSync(path.join(cache, 'atelier-client-'));
  try {
    writeFileSync(path.join(dir, 'openapi.json'), JSON.stringify(spec));
    const bin = (name) => path.join(SOURCE_DIR, 'node_modules/.bin', name);
    const gen = spawnSync(bin('openapi-typescript'), [path.join(dir, 'openapi.json'), '-o', path.join(dir, 'schema.d.ts')], { encoding: 'utf8' });
    assert.equal(gen.status, 0, gen.stderr);
    writeFileSync(path.join(dir, 'client.ts'), `
import createClient from 'openapi-fetch';
import type { paths } from './schema.js';

declare const process: { env: Record<string, string | undefined> };
const api = createClient<paths>({ baseUrl: process.env.ATELIER!, headers: { 'X-API-Key': process.env.KEY! } });
const me = await api.GET('/v1/me');
if (!me.data) throw new Error('no /v1/me');
const identity: string = me.data.identity;
const conv = await api.POST('/v1/conversations', { body: { title: 'typed' } });
if (!conv.data) throw new Error('no conversation');
const id: string = conv.data.id;
const list = await api.GET('/v1/conversations', { params: { query: { limit: 5 } } });
if (!list.data) throw new Error('no list');
const titles: (string | null)[] = list.data.conversations.map((c) => c.title);
const missing = await api.GET('/v1/conversations/{id}', { params: { path: { id: 'cv_nope' } } });
console.log(JSON.stringify({ identity, id, titles, missing: missing.response.status }));
`);
    writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { strict: true, target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', outDir: 'out', skipLibCheck: true },
      files: ['client.ts'],
    }));
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
    const tsc = spawnSync(bin('tsc'), ['-p', dir], { encoding: 'utf8' });
    assert.equal(tsc.status, 0, `tsc: ${tsc.stdout}${tsc.stderr}`);
    const run = spawnSync('node', [path.join(dir, 'out/client.js')], { encoding: 'utf8', env: { ...process.env, ATELIER: s.url, KEY: key } });
    assert.equal(run.status, 0, run.stderr);
    const out = JSON.parse(run.stdout);
    assert.equal(out.identity, 'key:' + out.identity.split(':')[1]);
    assert.ok(out.titles.includes('typed'));
    assert.equal(out.missing, 404);

    // The check can fail: reading a field the document does not give is a type error.
    writeFileSync(path.join(dir, 'client.ts'), `
import createClient from 'openapi-fetch';
import type { paths } from './schema.js';
const api = createClient<paths>({ baseUrl: 'http://x' });
const list = await api.GET('/v1/conversations');
if (list.data) console.log(list.data.conversations[0].no_such_field);
`);
    const broken = spawnSync(bin('tsc'), ['-p', dir], { encoding: 'utf8' });
    assert.notEqual(broken.status, 0);
    assert.match(broken.stdout, /no_such_field/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
