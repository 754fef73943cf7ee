// /v1/embeddings against the official `openai` npm client, unmodified, pointed
// at atelier (this checks wire compatibility: request shape, base64 decoding,
// error handling), plus the raw JSON shapes and bad input.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startServer, json, expectProblem, createKey } from './helpers.mjs';

let s;
let client;
before(async () => {
  s = await startServer({ ATELIER_MAX_INPUT_LENGTH: '500' });
  client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: createKey(s, 'premium', 'openai-client'), maxRetries: 0 });
});
after(async () => {
  await s.stop();
});

const cos = (a, b) => a.reduce((sum, x, i) => sum + x * b[i], 0);

test('the official openai client gets 100-d unit vectors that rank meaning sensibly', async () => {
  // The client asks for base64 by default and decodes it itself.
  const res = await client.embeddings.create({
    model: 'glove-sif-100d',
    input: ['a red evening dress', 'a crimson gown', 'a wool winter coat', 'the database index was rebuilt'],
  });
  assert.equal(res.object, 'list');
  assert.equal(res.model, 'glove-sif-100d');
  assert.equal(res.data.length, 4);
  assert.deepEqual(res.data.map((d) => d.index), [0, 1, 2, 3]);
  const v = res.data.map((d) => d.embedding);
  for (const e of v) {
    assert.equal(e.length, 100);
    assert.ok(Math.abs(cos(e, e) - 1) < 1e-5, 'L2-normalised');
  }
  assert.ok(cos(v[0], v[1]) > cos(v[0], v[3]) + 0.3, 'dress is nearer gown than database');
  assert.ok(cos(v[0], v[2]) > cos(v[0], v[3]), 'clothes are nearer each other');
  assert.ok(res.usage.prompt_tokens >= 14);
  assert.equal(res.usage.total_tokens, res.usage.prompt_tokens);

  const asFloats = await client.embeddings.create({ model: 'glove-sif-100d', input: 'a crimson gown', encoding_format: 'float' });
  const diff = asFloats.data[0].embedding.map((x, i) => Math.abs(x - v[1][i]));
  assert.ok(Math.max(...diff) < 1e-6, 'float and base64 encodings carry the same vector');
});

test('errors surface through the client as API errors with their status', async () => {
  await assert.rejects(client.embeddings.create({ model: 'no-such-model', input: 'x' }), (e) => e.status === 404);
  await assert.rejects(client.embeddings.create({ model: 'glove-sif-100d', input: 'x', dimensions: 50 }), (e) => e.status === 400);
  await assert.rejects(client.embeddings.create({ model: 'glove-sif-100d', input: 'x'.repeat(501) }), (e) => e.status === 413);
});

test('raw shapes and bad input', async () => {
  const post = (body) => fetch(`${s.url}/v1/embeddings`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const r = await json(await post({ input: 'navy blazer' }));
  assert.equal(r.model, 'glove-sif-100d', 'model defaults to the configured one');
  assert.equal(r.data[0].object, 'embedding');
  assert.equal(r.data[0].embedding.length, 100);
  const oov = await json(await post({ input: 'zzqxv qqzzk' }));
  assert.ok(oov.data[0].embedding.every((x) => x === 0), 'no known word: the zero vector');
  for (const bad of [{}, { input: [] }, { input: [1, 2, 3] }, { input: [[1, 2]] }, { input: '' }, { input: 'x', encoding_format: 'hex' }, { input: 5 }]) {
    await expectProblem(assert, await post(bad), 400);
  }
  const many = await post({ input: Array.from({ length: 2049 }, () => 'x') });
  await expectProblem(assert, many, 400);
});
