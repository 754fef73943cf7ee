// Native BERT and CLIP encoders served over HTTP. The model folders are the
// small random-weight checkpoints that tools/make-transformer-fixtures.py
// writes in Hugging Face's layout (the ctest fixture `transformers`), put on
// the models path beside the shared models: the server must find them, load
// them unchanged and answer with the torch reference's vectors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, cpSync, writeFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, json, expectProblem, createKey, SOURCE_DIR } from './helpers.mjs';

const FIXTURES = process.env.ATELIER_FIXTURES;
const SHARED = path.resolve(SOURCE_DIR, '../shared');
const ref = JSON.parse(readFileSync(path.join(FIXTURES, 'reference.json'), 'utf8'));
const PHOTOS = readFileSync(path.join(SHARED, 'data/fashion/labels.csv'), 'utf8').trim().split('\n').slice(1, 13)
  .map((l) => path.join(SHARED, 'data/fashion', l.split(',')[0]));

let s, key, extra;
const auth = () => ({ authorization: `Bearer ${key}` });
const post = (p, body) => fetch(s.url + p, { method: 'POST', headers: { ...auth(), 'content-type': 'application/json' }, body: JSON.stringify(body) });
const maxAbs = (a, b) => Math.max(...a.map((x, i) => Math.abs(x - b[i])));
const dot = (a, b) => a.reduce((t, x, i) => t + x * b[i], 0);

before(async () => {
  // A second models folder holding a broken checkpoint: it must not stop the server.
  extra = mkdtempSync(path.join(os.tmpdir(), 'atelier-models-'));
  cpSync(path.join(FIXTURES, 'bert-tiny'), path.join(extra, 'acme/broken-bert'), { recursive: true });
  const cfg = JSON.parse(readFileSync(path.join(extra, 'acme/broken-bert/config.json'), 'utf8'));
  cfg.hidden_size = 96;
  writeFileSync(path.join(extra, 'acme/broken-bert/config.json'), JSON.stringify(cfg));
  s = await startServer({
    ATELIER_MODELS_DIR: [FIXTURES, extra, path.join(SOURCE_DIR, 'models'), path.join(SHARED, 'models')].join(':'),
    ATELIER_RATE_LIMIT_PER_MINUTE: '100000',
  });
  key = createKey(s, 'premium');
});

after(async () => {
  await s?.stop();
  rmSync(extra, { recursive: true, force: true });
});

test('model folders on the models path are found and reported in /health/detailed', async () => {
  const h = await json(await fetch(`${s.url}/health/detailed`));
  const c = h.components;
  assert.equal(c['model:bert-tiny'].status, 'up');
  assert.equal(c['model:clip-tiny'].status, 'up');
  const broken = c['model:acme/broken-bert'];
  assert.equal(broken.status, 'down');
  assert.match(broken.detail, /broken-bert\/model\.safetensors: tensor 'encoder\.layer\.0\.attention\.self\.\w+\.weight' has shape \[64,64\] but the config expects \[96,96\]/);
});

test('BERT sentence vectors over HTTP equal the torch reference (mean pooling, L2)', async () => {
  // (OpenAI's API refuses empty strings, so the reference's first text stays out.)
  const r = await post('/v1/embeddings', { model: 'bert-tiny', input: ref.texts.slice(1) });
  assert.equal(r.status, 200);
  const body = await json(r);
  assert.equal(body.model, 'bert-tiny');
  const want = ref.bert.at(-1).pooled.slice(1);
  assert.equal(body.data.length, want.length);
  body.data.forEach((d, i) => assert.ok(maxAbs(d.embedding, want[i]) < 1e-4, `text ${i + 1}`));
  const tokens = ref.bert_ids.slice(1).reduce((t, ids) => t + ids.length, 0);
  assert.equal(body.usage.prompt_tokens, tokens);
});

// Whether calls meet in one forward depends on timing; that batched rows
// equal lone rows exactly is proved by the C++ exactness tests. Here every
// concurrent call must come back with its own text's vector.
test('concurrent requests each get their own exact vector', async () => {
  const texts = ref.texts.slice(1, 13);
  const rs = await Promise.all(texts.map((t) => post('/v1/embeddings', { model: 'bert-tiny', input: t }).then(json)));
  rs.forEach((b, i) => assert.ok(maxAbs(b.data[0].embedding, ref.bert.at(-1).pooled[i + 1]) < 1e-4, `text ${i + 1}`));
  const m = await (await fetch(`${s.url}/metrics`)).text();
  const count = Number((m.match(/atelier_inference_batch_size_count\{model="bert-tiny"\} (\d+)/) || [])[1]);
  const sum = Number((m.match(/atelier_inference_batch_size_sum\{model="bert-tiny"\} (\d+)/) || [])[1]);
  assert.ok(count >= 1 && count <= sum && sum >= 13, `forwards ${count}, calls ${sum}`);
});

test('CLIP text embeddings equal the reference; text-to-image search in a CLIP image collection', async () => {
  const t = await json(await post('/v1/embeddings', { model: 'clip-tiny', input: ['hello world'] }));
  const raw = ref.clip_text[1].embeds[0];
  const norm = Math.sqrt(dot(raw, raw));
  assert.ok(maxAbs(t.data[0].embedding, raw.map((x) => x / norm)) < 1e-4);

  assert.equal((await post('/v1/collections', { name: 'looks', model: 'clip-tiny' })).status, 201);
  const items = PHOTOS.map((f, i) => ({ id: `p${i}`, image: readFileSync(f).toString('base64'), metadata: { n: i } }));
  const ing = await post('/v1/collections/looks/images', items);
  assert.equal(ing.status, 200, await ing.clone().text());

  // The image vectors the collection holds are the image tower's.
  const img = await fetch(`${s.url}/v1/embeddings/images?model=clip-tiny`, {
    method: 'POST', headers: { ...auth(), 'content-type': 'image/jpeg' }, body: readFileSync(PHOTOS[3]) });
  assert.equal(img.status, 200);
  const v3 = (await json(img)).data[0].embedding;
  assert.equal(v3.length, 32);
  assert.ok(Math.abs(dot(v3, v3) - 1) < 1e-5);
  const byImage = await fetch(`${s.url}/v1/collections/looks/search/image?k=1`, {
    method: 'POST', headers: { ...auth(), 'content-type': 'image/jpeg' }, body: readFileSync(PHOTOS[3]) });
  const hit = (await json(byImage)).hits[0];
  assert.equal(hit.id, 'p3');
  assert.ok(Math.abs(hit.score - 1) < 1e-4);

  // A text query is embedded by CLIP's text tower and ranked against the
  // image vectors: the scores are the cosine of the two towers' vectors.
  const q = 'a navy blazer';
  const qv = (await json(await post('/v1/embeddings', { model: 'clip-tiny', input: [q] }))).data[0].embedding;
  const sr = await fetch(`${s.url}/v1/collections/looks/search?mode=vector&k=12&q=${encodeURIComponent(q)}`, { headers: auth() });
  assert.equal(sr.status, 200);
  const hits = (await json(sr)).hits;
  assert.equal(hits.length, PHOTOS.length);
  const p3 = hits.find((h) => h.id === 'p3');
  const score = p3.vector_score ?? p3.score;
  assert.ok(Math.abs(score - dot(qv, v3)) < 1e-4, `${score} vs ${dot(qv, v3)}`);
  for (let i = 1; i < hits.length; i++) assert.ok((hits[i - 1].vector_score ?? hits[i - 1].score) >= (hits[i].vector_score ?? hits[i].score));
});

test('bad requests: unknown model, text collection given images, images to a text model', async () => {
  await expectProblem(assert, await post('/v1/embeddings', { model: 'no/such-model', input: 'x' }), 404);
  const u = await fetch(`${s.url}/v1/embeddings/images?model=bert-tiny`, {
    method: 'POST', headers: { ...auth(), 'content-type': 'image/jpeg' }, body: readFileSync(PHOTOS[0]) });
  await expectProblem(assert, u, 404);
  assert.equal((await post('/v1/collections', { name: 'notes', model: 'bert-tiny' })).status, 201);
  const bad = await post('/v1/collections/notes/images', [{ id: 'a', image: readFileSync(PHOTOS[0]).toString('base64') }]);
  const p = await expectProblem(assert, bad, 400);
  assert.match(p.detail, /text vectors/);
  // Long input is truncated to the model's window, not refused.
  const long = await post('/v1/embeddings', { model: 'bert-tiny', input: 'word '.repeat(2000) });
  assert.equal(long.status, 200);
  assert.equal((await json(long)).usage.prompt_tokens, 256);
});
