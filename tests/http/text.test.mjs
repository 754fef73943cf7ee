// POST /v1/text/analyze and GET /v1/text/languages through the real server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, json, expectProblem } from './helpers.mjs';

let s;
before(async () => {
  s = await startServer({ ATELIER_MAX_INPUT_LENGTH: '200' });
});
after(async () => {
  await s.stop();
});

const analyze = (body, headers = {}) =>
  fetch(`${s.url}/v1/text/analyze`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

test('analyzes English: tokens, stems, stopwords, sentences, readability', async () => {
  const r = await analyze({ text: 'The tailored jackets were knitted. Knights consigned them!' });
  assert.equal(r.status, 200);
  assert.match(r.headers.get('server-timing'), /queue;dur=/);
  const b = await json(r);
  assert.equal(b.language, 'english');
  const stems = Object.fromEntries(b.tokens.map((t) => [t.text, t.stem]));
  assert.equal(stems.tailored, 'tailor');
  assert.equal(stems.jackets, 'jacket');
  assert.equal(stems.knitted, 'knit');
  assert.equal(stems.Knights, 'knight');
  assert.equal(stems.consigned, 'consign');
  assert.equal(b.tokens[0].normalized, 'the');
  assert.equal(b.tokens[0].stopword, true);
  assert.deepEqual(b.sentences.map((x) => x.text), ['The tailored jackets were knitted.', 'Knights consigned them!']);
  assert.equal(b.complexity.words, 8);
  assert.equal(b.complexity.sentences, 2);
  assert.equal(b.complexity.mean_sentence_length, 4);
  assert.equal(typeof b.complexity.flesch_reading_ease, 'number');
  assert.equal(b.characters, 58);
});

test('languages by Snowball name or ISO code; CJK and emoji tokens; options trim the answer', async () => {
  const fr = await json(await analyze({ text: 'Les robes élégantes', language: 'fr' }));
  assert.equal(fr.language, 'french');
  assert.equal(fr.tokens[0].stopword, true);
  const zh = await json(await analyze({ text: '我喜欢时尚 👗', language: 'english' }));
  assert.deepEqual(zh.tokens.map((t) => [t.text, t.type]), [['我', 'ideographic'], ['喜欢', 'ideographic'], ['时尚', 'ideographic'], ['👗', 'symbol']]);
  const lean = await json(await analyze({ text: 'Just the figures.', tokens: false, sentences: false }));
  assert.equal(lean.tokens, undefined);
  assert.equal(lean.sentences, undefined);
  assert.equal(lean.complexity.words, 3);
  const langs = await json(await fetch(`${s.url}/v1/text/languages`));
  assert.ok(langs.languages.length >= 25);
  const en = langs.languages.find((l) => l.name === 'english');
  assert.deepEqual(en, { name: 'english', iso: 'en', stopwords: true });
});

test('bad input: 400 for missing text, wrong types, unknown language; 413 over the input limit', async () => {
  await expectProblem(assert, await analyze({}), 400);
  await expectProblem(assert, await analyze({ text: 5 }), 400);
  await expectProblem(assert, await analyze({ text: 'x', tokens: 'yes' }), 400);
  const lang = await expectProblem(assert, await analyze({ text: 'x', language: 'klingon' }), 400);
  assert.match(lang.detail, /unknown language/);
  await expectProblem(assert, await analyze('{"text": "unterminated'), 400);
  await expectProblem(assert, await analyze({ text: 'x' }, { 'Content-Type': 'text/plain' }), 415);
  const long = await expectProblem(assert, await analyze({ text: 'é'.repeat(201) }), 413);
  assert.match(long.detail, /201 characters; the limit is 200/);
  assert.equal((await analyze({ text: 'é'.repeat(200) })).status, 200, 'the limit counts characters, not bytes');
  assert.equal((await fetch(`${s.url}/health`)).status, 200);
});

test('each analysis costs one quota unit', async () => {
  const before = await json(await fetch(`${s.url}/v1/rate-limit/status`));
  await analyze({ text: 'one' });
  await expectProblem(assert, await analyze({ text: 'x', language: 'klingon' }), 400);
  const after = await json(await fetch(`${s.url}/v1/rate-limit/status`));
  assert.equal(after.daily_quota.used - before.daily_quota.used, 1, 'failed requests are not charged');
});
