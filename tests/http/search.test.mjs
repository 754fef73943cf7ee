// Collections, ingest, delete, BM25 / vector / hybrid search and index stats
// through the real server; SciFact retrieval quality through the HTTP API.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, json, expectProblem, createKey, sleep, CLUSTER } from './helpers.mjs';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ingestScifact, ndcgAt10 } from './scifact_eval.mjs';

let s;
let key;
before(async () => {
  s = await startServer({ ATELIER_IDENTITY_RATE_LIMIT_PER_MINUTE: '0', ATELIER_PREMIUM_DAILY_LIMIT: '0' });
  key = createKey(s, 'premium', 'search');
});
after(async () => {
  await s.stop();
});

const req = (method, path, body, type = 'application/json') =>
  fetch(`${s.url}${path}`, {
    method,
    headers: { 'X-API-Key': key, ...(body !== undefined ? { 'Content-Type': type } : {}) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
const search = async (q, extra = '') => json(await req('GET', `/v1/collections/wardrobe/search?q=${encodeURIComponent(q)}${extra}`));

test('collections: create, ingest (JSON and JSON lines), upsert, search modes, filter, delete, stats', async () => {
  const made = await req('POST', '/v1/collections', { name: 'wardrobe' });
  assert.equal(made.status, 201);
  assert.deepEqual((({ name, model, dimensions, documents }) => ({ name, model, dimensions, documents }))(await made.json()),
    { name: 'wardrobe', model: 'glove-sif-100d', dimensions: 100, documents: 0 });
  await expectProblem(assert, await req('POST', '/v1/collections', { name: 'wardrobe' }), 409);
  await expectProblem(assert, await req('POST', '/v1/collections', { name: 'bad name!' }), 400);
  await expectProblem(assert, await req('POST', '/v1/collections', { name: 'x', model: 'nope' }), 400);

  const docs = [
    { id: 'd1', text: 'A red silk evening dress with a long skirt', metadata: { season: 'summer', price: 120 } },
    { id: 'd2', text: 'Navy wool winter coat, double breasted', metadata: { season: 'winter', price: 300 } },
    { id: 'd3', text: 'White leather running shoes for jogging', metadata: { season: 'summer', price: 90 } },
  ];
  const ing = await json(await req('POST', '/v1/collections/wardrobe/documents', docs));
  assert.deepEqual(ing, { collection: 'wardrobe', inserted: 3, updated: 0 });
  const jsonl = [
    JSON.stringify({ id: 'd4', text: 'Crimson gown for a gala dinner', metadata: { season: 'winter' } }),
    JSON.stringify({ id: 'd3', text: 'White leather running shoes for jogging and trail running', metadata: { season: 'summer' } }),
  ].join('\n');
  assert.deepEqual(await json(await req('POST', '/v1/collections/wardrobe/documents', jsonl, 'application/x-ndjson')),
    { collection: 'wardrobe', inserted: 1, updated: 1 });

  const bm25 = await search('running shoes', '&mode=bm25');
  assert.equal(bm25.hits[0].id, 'd3');
  assert.equal(bm25.hits[0].bm25.rank, 1);
  assert.equal(bm25.hits[0].vector, null);
  assert.match(bm25.hits[0].snippet, /<b>running<\/b>/i);
  // Porter stemming: "jog" finds "jogging".
  assert.equal((await search('jog', '&mode=bm25')).hits[0].id, 'd3');

  // Vectors find meaning without shared words: "scarlet frock" shares no term with d1.
  const vec = await search('scarlet frock', '&mode=vector&k=2');
  assert.equal(vec.hits[0].id, 'd1');
  assert.equal(vec.hits[0].bm25, null);
  assert.ok(vec.hits[0].vector.score > 0.3);
  assert.equal((await search('scarlet frock', '&mode=bm25')).hits.length, 0);

  const hyb = await search('red dress');
  assert.equal(hyb.mode, 'hybrid');
  assert.equal(hyb.hits[0].id, 'd1');
  assert.equal(hyb.hits[0].bm25.rank, 1);
  assert.ok(hyb.hits[0].vector.rank >= 1);

  const winter = await search('dress gown coat', '&filter=season:winter');
  assert.ok(winter.hits.length > 0);
  assert.ok(winter.hits.every((h) => ['d2', 'd4'].includes(h.id)), JSON.stringify(winter.hits.map((h) => h.id)));
  const cheap = await search('dress shoes', '&mode=bm25&filter=price:90');
  assert.deepEqual(cheap.hits.map((h) => h.id), []);  // d3's price was dropped by the upsert
  assert.deepEqual((await search('leather', '&mode=bm25&filter=price:120')).hits, []);
  assert.deepEqual((await search('silk dress', '&mode=bm25&filter=price:120')).hits.map((h) => h.id), ['d1']);

  assert.equal((await req('DELETE', '/v1/collections/wardrobe/documents/d1')).status, 204);
  await expectProblem(assert, await req('DELETE', '/v1/collections/wardrobe/documents/d1'), 404);
  const after = await search('red silk dress');
  assert.ok(!after.hits.some((h) => h.id === 'd1'), 'deleted from both the full-text and the vector index');

  const stats = await json(await req('GET', '/v1/index/stats'));
  const w = stats.collections.find((c) => c.name === 'wardrobe');
  assert.equal(w.vectors, 3);
  assert.equal(w.dimensions, 100);
  assert.equal(w.index, 'flat');
  assert.ok(w.memory_bytes >= 3 * 100 * 4);
  assert.equal(w.documents, 3);
});

test('search and ingest refuse bad input with problems', async () => {
  await expectProblem(assert, await req('GET', '/v1/collections/nope/search?q=x'), 404);
  await expectProblem(assert, await req('GET', '/v1/collections/wardrobe/search'), 400);
  await expectProblem(assert, await req('GET', '/v1/collections/wardrobe/search?q=x&k=0'), 400);
  await expectProblem(assert, await req('GET', '/v1/collections/wardrobe/search?q=x&k=abc'), 400);
  await expectProblem(assert, await req('GET', '/v1/collections/wardrobe/search?q=x&mode=fuzzy'), 400);
  await expectProblem(assert, await req('GET', '/v1/collections/wardrobe/search?q=x&filter=nocolon'), 400);
  await expectProblem(assert, await req('GET', '/v1/collections/wardrobe/search?q=x&filter=a.b:c'), 400);
  // FTS5 syntax in the query is quoted, never interpreted.
  const odd = await req('GET', `/v1/collections/wardrobe/search?q=${encodeURIComponent('NEAR("a" b) OR * "')}&mode=bm25`);
  assert.equal(odd.status, 200);
  await expectProblem(assert, await req('POST', '/v1/collections/wardrobe/documents', []), 400);
  await expectProblem(assert, await req('POST', '/v1/collections/wardrobe/documents', [{ text: 'no id' }]), 400);
  await expectProblem(assert, await req('POST', '/v1/collections/wardrobe/documents', [{ id: 'x', text: '' }]), 400);
  await expectProblem(assert, await req('POST', '/v1/collections/wardrobe/documents', [{ id: 'x', text: 'ok', metadata: [1] }]), 400);
  await expectProblem(assert, await req('POST', '/v1/collections/wardrobe/documents', '{"id":1}\nnot json', 'application/x-ndjson'), 400);
  await expectProblem(assert, await req('POST', '/v1/collections/nope/documents', [{ id: 'x', text: 'hi' }]), 404);
  const anon = await fetch(`${s.url}/v1/collections`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"name":"z"}' });
  await expectProblem(assert, anon, 401);
  // A private collection (the default) does not exist for anyone but its
  // owner and admins: reads and writes by others are 404.
  // Named by its ref, "<owner>:<name>" (by name it is the other caller's own).
  const other = createKey(s, 'premium', 'other');
  const { ref } = await (await req('GET', '/v1/collections/wardrobe')).json();
  const foreign = await fetch(`${s.url}/v1/collections/${ref}/documents`, {
    method: 'POST', headers: { 'X-API-Key': other, 'Content-Type': 'application/json' }, body: '[{"id":"evil","text":"spam"}]' });
  await expectProblem(assert, foreign, 404);
  await expectProblem(assert, await fetch(`${s.url}/v1/collections/${ref}/documents/d2`, { method: 'DELETE', headers: { 'X-API-Key': other } }), 404);
  await expectProblem(assert, await fetch(`${s.url}/v1/collections/${ref}/search?q=coat`, { headers: { 'X-API-Key': other } }), 404);
  await expectProblem(assert, await fetch(`${s.url}/v1/collections/wardrobe/search?q=coat`, { headers: { 'X-API-Key': other } }), 404);
  assert.equal((await req('GET', `/v1/collections/${ref}/search?q=coat`)).status, 200, 'the ref names it for its owner too');
  // An admin names another owner's collection by its ref.
  const admin = createKey(s, 'admin', 'root');
  await expectProblem(assert, await fetch(`${s.url}/v1/collections/wardrobe/search?q=coat`, { headers: { 'X-API-Key': admin } }), 404);
  const byAdmin = await fetch(`${s.url}/v1/collections/${ref}/documents`, {
    method: 'POST', headers: { 'X-API-Key': admin, 'Content-Type': 'application/json' }, body: '[{"id":"d9","text":"grey wool scarf"}]' });
  assert.equal(byAdmin.status, 200);
  assert.equal((await fetch(`${s.url}/health`)).status, 200);
});

test('SciFact through the HTTP API: nDCG@10 of bm25 >= 0.60 and hybrid >= bm25 on the train judgments', async () => {
  const ingested = await ingestScifact(s.url, key);
  assert.equal(ingested.inserted, 5183);
  const ndcg = await ndcgAt10(s.url, key, 'train');
  console.log(`SciFact train nDCG@10: bm25 ${ndcg.bm25.toFixed(4)}  vector ${ndcg.vector.toFixed(4)}  hybrid ${ndcg.hybrid.toFixed(4)}`);
  assert.ok(ndcg.bm25 >= 0.60, `bm25 ${ndcg.bm25}`);
  assert.ok(ndcg.hybrid >= ndcg.bm25, `hybrid ${ndcg.hybrid} < bm25 ${ndcg.bm25}`);
  assert.ok(ndcg.vector > 0.2, `vector ${ndcg.vector}`);
});

test('a collection that grows past search_flat_max moves to an HNSW index; search metrics are exported', { skip: CLUSTER && 'reads one process\'s loaded index, metrics or log' }, async () => {
  const t = await startServer({ ATELIER_SEARCH_FLAT_MAX: '3' });
  try {
    const k = createKey(t, 'premium', 'hnsw');
    const call = (method, path, body) => fetch(`${t.url}${path}`, {
      method, headers: { 'X-API-Key': k, 'Content-Type': 'application/json' }, body: body && JSON.stringify(body) });
    assert.equal((await call('POST', '/v1/collections', { name: 'small' })).status, 201);
    const texts = ['red dress', 'blue jeans', 'green scarf', 'black boots', 'white shirt'];
    await call('POST', '/v1/collections/small/documents', texts.map((text, i) => ({ id: `p${i}`, text })));
    const stats = await json(await call('GET', '/v1/index/stats'));
    const c = stats.collections.find((x) => x.name === 'small');
    assert.equal(c.index, 'hnsw');
    assert.equal(c.vectors, 5);
    const hit = await json(await call('GET', `/v1/collections/small/search?q=${encodeURIComponent('black boots')}&mode=vector&k=1`));
    assert.equal(hit.hits[0].id, 'p3');
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    assert.match(metrics, /atelier_search_duration_seconds_count\{mode="vector"\} 1/);
    assert.match(metrics, /atelier_index_vectors 5/);
  } finally {
    await t.stop();
  }
});

test('past search_ivf_min a collection moves to FAISS IVF; deletes that leave HNSW tombstones trigger a rebuild', { skip: CLUSTER && 'reads one process\'s loaded index, metrics or log' }, async () => {
  const t = await startServer({ ATELIER_SEARCH_FLAT_MAX: '20', ATELIER_SEARCH_IVF_MIN: '400', ATELIER_SEARCH_IVF_NPROBE: '64', ATELIER_IDENTITY_RATE_LIMIT_PER_MINUTE: '0' });
  try {
    const k = createKey(t, 'premium', 'ivf');
    const call = (method, path, body) => fetch(`${t.url}${path}`, {
      method, headers: { 'X-API-Key': k, 'Content-Type': 'application/json' }, body: body && JSON.stringify(body) });
    const kind = async (name) => (await json(await call('GET', '/v1/index/stats'))).collections.find((x) => x.name === name);
    assert.equal((await call('POST', '/v1/collections', { name: 'big' })).status, 201);
    const colours = ['red', 'blue', 'green', 'black', 'white', 'navy', 'beige', 'olive'];
    const items = ['dress', 'jeans', 'scarf', 'boots', 'shirt', 'coat', 'skirt', 'sandals', 'blazer', 'hat'];
    const docs = [];
    for (let i = 0; i < 500; i++) {
      docs.push({ id: `d${i}`, text: `${colours[i % 8]} ${items[Math.floor(i / 8) % 10]} style ${i}` });
    }
    await call('POST', '/v1/collections/big/documents', docs.slice(0, 300));
    assert.equal((await kind('big')).index, 'hnsw');
    // 200 deletes out of 300: each time tombstones pass a fifth of the graph it is rebuilt from the store.
    for (let i = 0; i < 200; i++) assert.equal((await call('DELETE', `/v1/collections/big/documents/d${i}`)).status, 204);
    const after = await kind('big');
    assert.equal(after.vectors, 100);
    assert.equal(after.index, 'hnsw');
    const gone = await json(await call('GET', `/v1/collections/big/search?q=${encodeURIComponent('red dress style 0')}&mode=vector&k=100`));
    assert.ok(gone.hits.every((h) => Number(h.id.slice(1)) >= 200), 'a deleted document came back');
    await call('POST', '/v1/collections/big/documents', docs);
    const big = await kind('big');
    assert.equal(big.index, 'ivf');
    assert.equal(big.vectors, 500);
    const r = await json(await call('GET', `/v1/collections/big/search?q=${encodeURIComponent('navy coat style 45')}&mode=vector&k=5`));
    assert.ok(r.hits.length === 5, JSON.stringify(r));
    // The six navy coats share one vector (the number is not a GloVe word): the
    // top 5 are five of them, whichever order ties take on a backend.
    const navyCoats = ['d45', 'd125', 'd205', 'd285', 'd365', 'd445'];
    assert.ok(r.hits.every((h) => navyCoats.includes(h.id)), JSON.stringify(r.hits.map((h) => h.id)));
  } finally {
    await t.stop();
  }
});

test('HNSW and BM25 index files are saved at shutdown and reused only while their version matches the database', { skip: CLUSTER && 'reads one process\'s loaded index, metrics or log' }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'atelier-index-'));
  const env = { ATELIER_SEARCH_FLAT_MAX: '5' };
  const texts = ['red dress', 'blue jeans', 'green scarf', 'black boots', 'white shirt', 'navy coat', 'beige skirt', 'olive hat'];
  try {
    let t = await startServer(env, { dataDir: dir });
    const k = createKey(t, 'premium', 'files');
    const call = (srv, method, p, body) => fetch(`${srv.url}${p}`, {
      method, headers: { 'X-API-Key': k, 'Content-Type': 'application/json' }, body: body && JSON.stringify(body) });
    assert.equal((await call(t, 'POST', '/v1/collections', { name: 'saved' })).status, 201);
    await call(t, 'POST', '/v1/collections/saved/documents', texts.map((text, i) => ({ id: `p${i}`, text })));
    const q = `/v1/collections/saved/search?q=${encodeURIComponent('black boots')}&mode=vector&k=3`;
    const qt = `/v1/collections/saved/search?q=${encodeURIComponent('black boots')}&mode=bm25&k=3`;
    const before = await json(await call(t, 'GET', q));
    const beforeText = await json(await call(t, 'GET', qt));
    assert.equal(beforeText.hits[0].id, 'p3');
    await t.stop();
    const files = readdirSync(path.join(dir, 'indexes'));
    assert.ok(files.some((f) => f.endsWith('.hnsw')) && files.some((f) => f.endsWith('.hnsw.meta.json')), files.join());
    assert.ok(files.some((f) => f.endsWith('.bm25')), files.join());

    t = await startServer(env, { dataDir: dir });
    const again = await json(await call(t, 'GET', q));
    assert.deepEqual(again.hits.map((h) => h.id), before.hits.map((h) => h.id));
    assert.deepEqual(await json(await call(t, 'GET', qt)), beforeText);
    await sleep(500);  // the JSON log is flushed every 200 ms
    assert.match(t.out.stdout, /vector index loaded from file/);
    assert.match(t.out.stdout, /BM25 index loaded from file/);
    // A write the file has not seen, then a crash (no save at shutdown): the stale file is not used.
    await call(t, 'POST', '/v1/collections/saved/documents', [{ id: 'p99', text: 'black leather boots' }]);
    t.proc.kill('SIGKILL');
    await t.exited;

    t = await startServer(env, { dataDir: dir });
    const fresh = await json(await call(t, 'GET', q));
    assert.ok(fresh.hits.some((h) => h.id === 'p99'), JSON.stringify(fresh.hits));
    const freshText = await json(await call(t, 'GET', `/v1/collections/saved/search?q=leather&mode=bm25&k=3`));
    assert.deepEqual(freshText.hits.map((h) => h.id), ['p99']);
    await sleep(500);
    assert.doesNotMatch(t.out.stdout, /vector index loaded from file/);
    assert.doesNotMatch(t.out.stdout, /BM25 index loaded from file/);
    assert.match(t.out.stdout, /vector index built/);
    await t.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
