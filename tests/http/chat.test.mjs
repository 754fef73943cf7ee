// Chat through the real binary: retrieval-augmented answers from the style
// knowledge base that atelier builds from Debian's wordnet-base on first use.
// Every cited span must be found verbatim in its source (citation precision
// 100%); connective sentences are fixed templates over the sources' fields;
// what the knowledge cannot answer is said, not guessed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, json, expectProblem, createKey } from './helpers.mjs';

let s, key;
before(async () => {
  s = await startServer({ ATELIER_IDENTITY_RATE_LIMIT_PER_MINUTE: '0' });
  key = createKey(s, 'free', 'asker');
});
after(async () => s && (await s.stop()));

const ask = async (body) => {
  const r = await fetch(`${s.url}/v1/rag/query`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return r;
};

// Splits an answer at its [n] markers and checks each cited piece against
// its source; what is left must be one of the composer's templates.
function checkCitations(a) {
  const byN = new Map(a.sources.map((x) => [x.n, x]));
  const re = /\s*\[(\d+)\]/g;
  let last = 0, m, cited = 0;
  const rest = [];
  while ((m = re.exec(a.answer))) {
    let piece = a.answer.slice(last, m.index).trim();
    last = re.lastIndex;
    const src = byN.get(Number(m[1]));
    assert.ok(src, `marker [${m[1]}] resolves to a source`);
    // The list template names each kind before its marker.
    piece = piece.replace(/^\.\s*/, '').replace(/^Kinds of .+? I can cite: /, '').replace(/^,\s*/, '');
    assert.ok(src.snippet.includes(piece), `"${piece}" is verbatim in source ${m[1]}: "${src.snippet}"`);
    cited++;
  }
  const tail = a.answer.slice(last).trim();
  if (tail && tail !== '.') rest.push(tail);
  for (const t of rest) {
    assert.match(t, /^\.?\s*(Both are kinds of [^.]+\.|[A-Z][^.]* is a kind of [^,]+, while [^.]+ is a kind of [^.]+\.)$/, `template: "${t}"`);
  }
  assert.equal(cited >= a.sources.length, true, 'every source is cited');
  return cited;
}

test('definitions, comparisons and lists are cited spans of the knowledge base', async () => {
  const cases = [
    ['What is tweed?', ['tweed']],
    ['tweed vs flannel', ['tweed', 'flannel']],
    ['What is the difference between a tuxedo and a blazer?', ['dinner jacket', 'blazer']],
    ['What kinds of boots are there?', ['boot']],
    ['what is chintz', ['chintz']],
    ['What is a complementary color?', ['complementary color']],
  ];
  for (const [question, titles] of cases) {
    const r = await ask({ question });
    assert.equal(r.status, 200);
    const a = await json(r);
    assert.equal(a.found, true, question);
    assert.equal(a.engine, 'local');
    for (const t of titles) assert.ok(a.sources.some((x) => x.title === t), `${question}: cites "${t}" (${a.sources.map((x) => x.title)})`);
    assert.ok(a.sources.every((x) => x.collection === 'style-glossary' && x.id.startsWith('wn30-n-')));
    assert.ok(checkCitations(a) >= 1);
    assert.ok(a.retrieval.length >= a.sources.length);
  }
  const tweedFlannel = await json(await ask({ question: 'tweed vs flannel' }));
  assert.match(tweedFlannel.answer, /Both are kinds of fabric\.$/);
  const boots = await json(await ask({ question: 'What kinds of boots are there?' }));
  assert.ok(boots.sources.length >= 4, 'several kinds of boot');
});

test('what the knowledge cannot answer is said, not guessed', async () => {
  for (const question of ['What should I wear to a wedding?', 'Who won the match yesterday?']) {
    const a = await json(await ask({ question }));
    assert.equal(a.found, false);
    assert.deepEqual(a.sources, []);
    assert.match(a.answer, /^I found nothing about that/);
  }
});

test('bad questions get problem+json; the knowledge base says where it comes from', async () => {
  await expectProblem(assert, await ask({}), 400);
  await expectProblem(assert, await ask({ question: '' }), 400);
  await expectProblem(assert, await ask({ question: 'tweed', k: 0 }), 400);
  await expectProblem(assert, await ask({ question: 'tweed', collections: 'x' }), 400);
  await expectProblem(assert, await ask({ question: 'tweed', collections: ['nobody-has-this'] }), 404);
  const kb = await json(await fetch(`${s.url}/v1/rag/knowledge`));
  assert.equal(kb.collection, 'style-glossary');
  assert.ok(kb.passages >= 1558);
  assert.match(kb.license_text, /Princeton University/);
});
