// Chat through the real binary: retrieval-augmented answers from the style
// knowledge base that atelier builds from Debian's wordnet-base on first use.
// Every cited span must be found verbatim in its source (citation precision
// 100%); connective sentences are fixed templates over the sources' fields;
// what the knowledge cannot answer is said, not guessed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startServer, json, expectProblem, createKey } from './helpers.mjs';
import { gcideAvailable, loadGcide, definitionQuery } from './gcide.mjs';

const KB = path.resolve(process.env.ATELIER_SOURCE_DIR || '.', '../shared/data/kb');

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

test('documents of the caller\'s collections are cited by the sentence that answers', async () => {
  const h = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  assert.equal((await fetch(`${s.url}/v1/collections`, { method: 'POST', headers: h, body: JSON.stringify({ name: 'care-notes' }) })).status, 201);
  const docs = [
    { id: 'linen', text: 'Linen creases easily. Wash linen shirts cold and hang them to dry. Iron while damp.' },
    { id: 'returns', text: 'Returns are accepted within thirty days of purchase.' },
  ];
  assert.equal((await fetch(`${s.url}/v1/collections/care-notes/documents`, { method: 'POST', headers: h, body: JSON.stringify(docs) })).status, 200);
  const a = await json(await ask({ question: 'How should I wash my linen shirts?', collections: ['care-notes'] }));
  assert.equal(a.found, true);
  const cited = a.sources.find((x) => x.collection === 'care-notes');
  assert.ok(cited, JSON.stringify(a));
  assert.equal(cited.id, 'linen');
  assert.ok(a.answer.includes(`Wash linen shirts cold and hang them to dry. [${cited.n}]`), a.answer);
  checkCitations(a);
  // Without the collection the knowledge base alone answers (or says it cannot).
  const b = await json(await ask({ question: 'How should I wash my linen shirts?' }));
  assert.ok(b.sources.every((x) => x.collection === 'style-glossary'));
  // Another caller cannot search this collection.
  const other = createKey(s, 'free', 'other');
  const r = await fetch(`${s.url}/v1/rag/query`, { method: 'POST', headers: { authorization: `Bearer ${other}`, 'content-type': 'application/json' },
    body: JSON.stringify({ question: 'wash linen', collections: ['care-notes'] }) });
  assert.equal(r.status, 404);
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

test('the official openai client, unmodified: completions, models and errors', async () => {
  const { default: OpenAI } = await import('openai');
  const client = new OpenAI({ apiKey: key, baseURL: `${s.url}/v1`, maxRetries: 0 });
  const c = await client.chat.completions.create({
    model: 'local',
    messages: [
      { role: 'system', content: 'You are a stylist.' },
      { role: 'user', content: [{ type: 'text', text: 'What is chintz?' }] },
    ],
  });
  assert.equal(c.object, 'chat.completion');
  assert.match(c.id, /^chatcmpl-/);
  assert.equal(c.choices.length, 1);
  assert.equal(c.choices[0].finish_reason, 'stop');
  assert.equal(c.choices[0].message.role, 'assistant');
  const rag = await json(await ask({ question: 'What is chintz?' }));
  assert.equal(c.choices[0].message.content, rag.answer, 'the same answer as /v1/rag/query');
  assert.deepEqual(c.sources, rag.sources);
  checkCitations({ answer: c.choices[0].message.content, sources: c.sources });
  assert.equal(c.usage.total_tokens, c.usage.prompt_tokens + c.usage.completion_tokens);
  assert.ok(c.usage.completion_tokens > 0);
  const models = await client.models.list();
  const ids = models.data.map((m) => m.id);
  assert.ok(ids.includes('local') && ids.includes('glove-sif-100d'), ids.join());
  assert.equal(models.data.find((m) => m.id === 'local').engine, 'local');
  await assert.rejects(client.chat.completions.create({ model: 'gpt-9', messages: [{ role: 'user', content: 'hi' }] }),
    (e) => e.status === 404 && /not served here/.test(e.message));
  await assert.rejects(client.chat.completions.create({ model: 'local', messages: [] }),
    (e) => e.status === 400 && e.error?.type === 'invalid_request_error');
  const bad = await fetch(`${s.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ messages: [{ role: 'wizard', content: 'x' }] }) });
  assert.equal(bad.status, 400);
  const problem = await bad.json();
  assert.equal(problem.error.message, problem.detail, 'problem+json and OpenAI error shape at once');
});

test('issue 25: max_tokens and stop cut the local answer (finish_reason length / stop); bad sampling values are 400 naming them', async () => {
  const { default: OpenAI } = await import('openai');
  const client = new OpenAI({ apiKey: key, baseURL: `${s.url}/v1`, maxRetries: 0 });
  const messages = [{ role: 'user', content: 'What is chintz?' }];
  const full = (await client.chat.completions.create({ model: 'local', messages })).choices[0].message.content;
  assert.ok(full.length > 24, full);
  const cut = await client.chat.completions.create({ model: 'local', messages, max_tokens: 4 });
  assert.equal(cut.choices[0].finish_reason, 'length');
  assert.ok(cut.usage.completion_tokens <= 4, JSON.stringify(cut.usage));
  const text = cut.choices[0].message.content;
  assert.ok(text.length > 0 && full.startsWith(text) && text.length < full.length, text);
  // The same cut streamed: the pieces join to the same prefix, one finish, "length".
  const stream = await client.chat.completions.create({ model: 'local', messages, max_completion_tokens: 4, stream: true });
  let streamed = '';
  const reasons = [];
  for await (const ch of stream) for (const x of ch.choices) {
    streamed += x.delta.content ?? '';
    if (x.finish_reason) reasons.push(x.finish_reason);
  }
  assert.equal(streamed, text);
  assert.deepEqual(reasons, ['length']);
  // A stop sequence ends the answer before it.
  const word = full.split(' ')[2];
  const stopped = await client.chat.completions.create({ model: 'local', messages, stop: [word, 'zzz-never'] });
  assert.equal(stopped.choices[0].finish_reason, 'stop');
  assert.equal(stopped.choices[0].message.content, full.slice(0, full.indexOf(word)));
  // The composer does not sample: temperature, top_p and seed leave the answer as it is.
  const same = await client.chat.completions.create({ model: 'local', messages, temperature: 1.5, top_p: 0.5, seed: 3 });
  assert.equal(same.choices[0].message.content, full);
  for (const [param, value] of [['temperature', 3], ['top_p', -0.1], ['max_tokens', 0], ['stop', [1]], ['seed', 'x'], ['n', 2]]) {
    await assert.rejects(client.chat.completions.create({ model: 'local', messages, [param]: value }),
      (e) => e.status === 400 && e.error?.type === 'invalid_request_error' && e.message.includes(`'${param}'`), param);
  }
  // OpenAI's error codes and params, as its clients switch on them.
  await assert.rejects(client.chat.completions.create({ model: 'local', messages, temperature: 3 }),
    (e) => e.param === 'temperature');
  await assert.rejects(client.chat.completions.create({ model: 'gpt-9', messages }),
    (e) => e.status === 404 && e.code === 'model_not_found');
  const stranger = new OpenAI({ apiKey: 'atl_wrong_key', baseURL: `${s.url}/v1`, maxRetries: 0 });
  await assert.rejects(stranger.chat.completions.create({ model: 'local', messages }),
    (e) => e.status === 401 && e.code === 'invalid_api_key');
  await assert.rejects(client.embeddings.create({ model: 'no-such-model', input: 'tweed' }),
    (e) => e.status === 404 && e.code === 'model_not_found' && e.error?.type === 'invalid_request_error');
});

test('streamed with the official client: chunks, sources on the first, one finish, usage only when asked', async () => {
  const { default: OpenAI } = await import('openai');
  const client = new OpenAI({ apiKey: key, baseURL: `${s.url}/v1`, maxRetries: 0 });
  const messages = [{ role: 'user', content: 'tweed vs flannel' }];
  const whole = await client.chat.completions.create({ model: 'local', messages });
  for (const includeUsage of [false, true]) {
    const stream = await client.chat.completions.create({
      model: 'local', messages, stream: true, ...(includeUsage ? { stream_options: { include_usage: true } } : {}),
    });
    let text = '', finishes = 0, chunks = 0, sources = null, usage = null;
    const ids = new Set();
    for await (const chunk of stream) {
      chunks++;
      ids.add(chunk.id);
      assert.equal(chunk.object, 'chat.completion.chunk');
      if (chunk.sources) sources = chunk.sources;
      if (chunk.usage) usage = chunk.usage;
      else if (includeUsage) assert.equal(chunk.usage, null, 'earlier chunks carry usage: null');
      else assert.equal('usage' in chunk, false, 'no usage unless asked');
      for (const c of chunk.choices) {
        text += c.delta.content ?? '';
        if (c.finish_reason) {
          finishes++;
          assert.ok(chunk.timings.first_token_ms > 0 && chunk.timings.first_token_ms <= chunk.timings.total_ms, JSON.stringify(chunk.timings));
        }
      }
    }
    assert.equal(ids.size, 1, 'one id across the chunks');
    assert.ok(chunks >= 4);
    assert.equal(finishes, 1, 'exactly one chunk with finish_reason');
    assert.equal(text, whole.choices[0].message.content, 'streamed text equals the whole answer');
    assert.deepEqual(sources, whole.sources);
    if (includeUsage) assert.deepEqual(usage, whole.usage);
    else assert.equal(usage, null);
  }
  const raw = await fetch(`${s.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ messages, stream: true }) });
  assert.equal(raw.headers.get('content-type'), 'text/event-stream');
  assert.equal(raw.headers.get('x-accel-buffering'), 'no');
  const body = await raw.text();
  assert.ok(body.endsWith('data: [DONE]\n\n'));
  assert.doesNotMatch(body, /^event:/m, 'no named events: the openai client would break on them');
  // Metrics: turns by engine and outcome, time to first token.
  const metrics = await (await fetch(`${s.url}/metrics`)).text();
  assert.match(metrics, /atelier_chat_turns_total\{engine="local",outcome="answered"\} [1-9]/);
  assert.match(metrics, /atelier_chat_time_to_first_token_seconds_count\{engine="local"\} [1-9]/);
});

test('conversations keep the turns, give context to the next question, and belong to their owner', async () => {
  const { default: OpenAI } = await import('openai');
  const me = createKey(s, 'free', 'talker');
  const other = createKey(s, 'free', 'stranger');
  const call = (k, method, route, body) => fetch(`${s.url}${route}`, {
    method, headers: { authorization: `Bearer ${k}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const made = await call(me, 'POST', '/v1/conversations', { title: 'fabrics' });
  assert.equal(made.status, 201);
  const conv = await json(made);
  assert.match(conv.id, /^cv_/);
  const client = new OpenAI({ apiKey: me, baseURL: `${s.url}/v1`, maxRetries: 0 });
  const turn = (content) => client.chat.completions.create({ model: 'local', messages: [{ role: 'user', content }], conversation_id: conv.id });
  const first = await turn('What is tweed?');
  assert.match(first.choices[0].message.content, /^tweed: /);
  // "it" refers back: the previous question gives the context.
  const second = await turn('How does it compare to flannel?');
  assert.match(second.choices[0].message.content, /Both are kinds of fabric\.$/);
  checkCitations({ answer: second.choices[0].message.content, sources: second.sources });
  const got = await json(await call(me, 'GET', `/v1/conversations/${conv.id}`));
  assert.deepEqual(got.messages.map((m) => m.role), ['user', 'assistant', 'user', 'assistant']);
  assert.equal(got.messages[3].content, second.choices[0].message.content);
  assert.ok(got.messages[3].sources.length >= 2);
  const list = await json(await call(me, 'GET', '/v1/conversations'));
  assert.equal(list.conversations[0].id, conv.id);
  assert.equal(list.conversations[0].messages, 4);
  // The same context from a stateless request that carries the turns itself.
  const stateless = await client.chat.completions.create({ model: 'local', messages: [
    { role: 'user', content: 'What is tweed?' }, { role: 'assistant', content: first.choices[0].message.content },
    { role: 'user', content: 'How does it compare to flannel?' }] });
  assert.equal(stateless.choices[0].message.content, second.choices[0].message.content);
  // Another owner's conversation does not exist for them.
  for (const [method, route, body] of [['GET', `/v1/conversations/${conv.id}`], ['DELETE', `/v1/conversations/${conv.id}`],
    ['POST', '/v1/chat/completions', { messages: [{ role: 'user', content: 'tweed' }], conversation_id: conv.id }]])
    await expectProblem(assert, await call(other, method, route, body), 404);
  assert.equal((await json(await call(other, 'GET', '/v1/conversations'))).conversations.length, 0);
  // Export carries it; account deletion takes it.
  const exported = await json(await call(me, 'GET', '/v1/me/export'));
  assert.equal(exported.conversations[0].messages.length, 4);
  assert.equal((await call(me, 'DELETE', `/v1/conversations/${conv.id}`)).status, 204);
  await expectProblem(assert, await call(me, 'GET', `/v1/conversations/${conv.id}`), 404);
});

test('retrieval quality on the knowledge base, asked in GCIDE\'s words (an independent dictionary)', { skip: !gcideAvailable() && 'needs dict-gcide' }, async () => {
  const kb = await json(await fetch(`${s.url}/v1/rag/knowledge`));  // builds it
  assert.ok(kb.passages > 0);
  // Headwords: the one-word names (titles and synonyms) of the glossary
  // fixture's passages that GCIDE defines as nouns.
  const entries = loadGcide();
  const titles = new Map();  // headword -> passage ids that answer to it
  for (const line of readFileSync(path.join(KB, 'wordnet_style_glossary.jsonl'), 'utf8').split('\n')) {
    if (!line) continue;
    const p = JSON.parse(line);
    for (const name of [p.title, ...p.synonyms]) {
      const h = name.toLowerCase();
      if (!/^[a-z]+$/.test(h)) continue;
      if (!titles.has(h)) titles.set(h, new Set());
      titles.get(h).add(p.id);
    }
  }
  const queries = [];
  for (const [h, ids] of titles) {
    const q = definitionQuery(entries, h);
    if (q) queries.push({ h, q, ids });
  }
  const evalKey = createKey(s, 'admin', 'evaluator');  // thousands of searches: no daily quota
  const search = async (q, mode) => {
    const r = await fetch(`${s.url}/v1/collections/style-glossary/search?q=${encodeURIComponent(q)}&k=10&mode=${mode}`,
      { headers: { authorization: `Bearer ${evalKey}` } });
    const body = await json(r);
    assert.equal(r.status, 200, JSON.stringify(body));
    return body.hits;
  };
  const figures = {};
  for (const mode of ['bm25', 'vector', 'hybrid']) {
    let hit5 = 0, rr = 0;
    for (const { q, ids } of queries) {
      const res = await search(q, mode);
      const rank = res.findIndex((r) => ids.has(r.id));
      if (rank >= 0 && rank < 5) hit5++;
      if (rank >= 0) rr += 1 / (rank + 1);
    }
    figures[mode] = { recall5: hit5 / queries.length, mrr10: rr / queries.length };
  }
  console.log(`knowledge base retrieval, ${queries.length} GCIDE definitions of its headwords: ` +
    Object.entries(figures).map(([m, f]) => `${m} recall@5 ${f.recall5.toFixed(3)} MRR@10 ${f.mrr10.toFixed(3)}`).join('; '));
  // Asked as a person asks for a word (issue 26): the answer must name and
  // cite the passage the description defines, not define the words it uses.
  let cited = 0, inTop5 = 0;
  for (const { q, ids } of queries) {
    const r = await fetch(`${s.url}/v1/rag/query`, { method: 'POST',
      headers: { authorization: `Bearer ${evalKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ question: `Which word means: ${q}?` }) });
    const a = await json(r);
    assert.equal(r.status, 200, JSON.stringify(a));
    if (a.sources.some((x) => ids.has(x.id))) cited++;
  }
  for (const { q, ids } of queries) {
    const res = await search(`Which word means: ${q}?`, 'hybrid');
    if (res.slice(0, 5).some((x) => ids.has(x.id))) inTop5++;
  }
  console.log(`"Which word means: <GCIDE definition>?" over ${queries.length} headwords: the answer cites the right passage for ` +
    `${(cited / queries.length).toFixed(3)}; hybrid retrieval has it in the top 5 for ${(inTop5 / queries.length).toFixed(3)}`);
  assert.ok(queries.length >= 300, `${queries.length} queries`);
  // 0.306 with the definition matcher (chat/definition_match.h), 0.237 with
  // the composer's shared-word count alone, 0 before (the words of the
  // question were defined); issue 26 aims at 0.45.
  assert.ok(cited / queries.length >= 0.28, `the answer names the word asked for: ${cited} of ${queries.length}`);
  assert.ok(figures.hybrid.recall5 >= figures.bm25.recall5, 'hybrid no worse than BM25 alone (recall@5)');
  assert.ok(figures.hybrid.mrr10 >= figures.bm25.mrr10 - 0.005, 'hybrid no worse than BM25 alone (MRR)');
});

// The project's own questions (tests/golden/chat_questions.json), written in
// the developers' words for each form a style assistant is asked in: which
// kind of X is Y, which word means, what is, compare, kinds of, is X Y.
test('the project\'s own questions, by form: the answer cites what answers them, verbatim', async () => {
  const golden = JSON.parse(readFileSync(path.resolve(process.env.ATELIER_SOURCE_DIR || '.', 'tests/golden/chat_questions.json'), 'utf8'));
  const evalKey = createKey(s, 'admin', 'golden');
  const byForm = {};
  let right = 0, quoted = 0, templates = 0;
  for (const x of golden.questions) {
    const r = await fetch(`${s.url}/v1/rag/query`, { method: 'POST',
      headers: { authorization: `Bearer ${evalKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ question: x.q }) });
    const a = await json(r);
    assert.equal(r.status, 200, JSON.stringify(a));
    const has = (t) => a.sources.some((y) => y.title === t);
    const ok = (x.cites.every(has) || (x.or || []).some(has)) && a.sources.length >= (x.at_least || 1);
    const f = (byForm[x.form] ||= [0, 0]);
    f[1]++;
    if (ok) { f[0]++; right++; } else console.log(`  missed [${x.form}] ${x.q} -> ${a.answer.slice(0, 120)}`);
    // Every cited piece is verbatim in its source (checkCitations asserts it);
    // the rest are the composer's connective templates.
    quoted += checkCitations(a);
    templates += (a.answer.match(/Both are kinds of [^.]+\.|[A-Z][^.]* is a kind of [^,]+, while [^.]+ is a kind of [^.]+\./g) || []).length;
  }
  const n = golden.questions.length;
  console.log(`the project's own questions: ${right} of ${n} answered citing the right passage (` +
    Object.entries(byForm).map(([k, [ok, m]]) => `${k} ${ok}/${m}`).join(', ') + `); ` +
    `${quoted} of ${quoted + templates} answer sentences are verbatim quotes of a cited source, the others connectives`);
  // 35 of 37 when this was written (30 at the first run, before the which-kind
  // parse took any word after the thing named).
  assert.ok(right / n >= 0.9, `${right} of ${n}`);
  assert.ok(quoted / (quoted + templates) >= 0.95, 'answers are quotes, not paraphrase');
});

test('"what goes with my navy blazer?" is answered from the asker\'s own wardrobe, citing the items', async () => {
  const me = createKey(s, 'admin', 'dresser');
  const OUTFITS = path.resolve(process.env.ATELIER_SOURCE_DIR || '.', '../shared/data/outfits');
  const mango = JSON.parse(readFileSync(path.join(OUTFITS, 'outfits.json'), 'utf8'));
  const items = [...new Map(mango.flatMap((o) => o.items).map((i) => [i.item_id, i])).values()];
  const upload = async (item, name) => {
    const fd = new FormData();
    fd.append('image', new Blob([readFileSync(path.join(OUTFITS, item.image))], { type: 'image/jpeg' }), 'x.jpg');
    if (name) fd.append('name', name);
    fd.append('category', { Jackets: 'outerwear', 'T-shirt': 'top', Jeans: 'bottom', Footwear: 'footwear' }[item.semantic_category]);
    const r = await fetch(`${s.url}/v1/wardrobe/items`, { method: 'POST', body: fd, headers: { authorization: `Bearer ${me}` } });
    assert.equal(r.status, 201);
    return json(r);
  };
  const pick = (cat, n) => items.filter((i) => i.semantic_category === cat).slice(0, n);
  const blazer = await upload(pick('Jackets', 1)[0], 'navy blazer');
  for (const [n, i] of pick('T-shirt', 2).entries()) await upload(i, `plain tee ${n + 1}`);
  for (const [n, i] of pick('Jeans', 2).entries()) await upload(i, `denim ${n + 1}`);
  const r = await fetch(`${s.url}/v1/rag/query`, { method: 'POST', headers: { authorization: `Bearer ${me}`, 'content-type': 'application/json' },
    body: JSON.stringify({ question: 'What goes with my navy blazer?' }) });
  assert.equal(r.status, 200);
  const a = await json(r);
  assert.equal(a.found, true);
  console.log(`wardrobe answer: ${a.answer}`);
  assert.equal(a.sources[0].collection, 'wardrobe');
  assert.equal(a.sources[0].id, blazer.id);
  assert.equal(a.sources[0].title, 'navy blazer');
  const m = a.answer.match(/^From your wardrobe, navy blazer \[1\] goes best with (.+?)\.(?: |$)/);
  assert.ok(m, a.answer);
  const named = m[1].split(/ \[\d+\](?:, | and )?/).filter(Boolean);
  assert.deepEqual(named, a.sources.slice(1).map((x) => x.title), 'each match is named before its marker');
  const cats = a.sources.slice(1).map((x) => x.snippet);
  assert.ok(cats.some((x) => /\btop\b/.test(x)) && cats.some((x) => /\bbottom\b/.test(x)), cats.join(' | '));
  assert.doesNotMatch(a.answer.slice(m[0].length), /\[\d+\]/, 'the explanation cites nothing new');
  // The item a question names is found by its words, never by the words
  // every question has: "my" does not pick an item named "my dress" (issue 26).
  const tee = await upload(pick('T-shirt', 3)[2], '');  // named by its auto-tags only
  await upload(pick('Jackets', 2)[1], 'my dress');
  const asked = async (question) => json(await fetch(`${s.url}/v1/rag/query`, { method: 'POST',
    headers: { authorization: `Bearer ${me}`, 'content-type': 'application/json' }, body: JSON.stringify({ question }) }));
  const teeTags = await json(await fetch(`${s.url}/v1/wardrobe/items/${tee.id}`, { headers: { authorization: `Bearer ${me}` } }));
  const t = await asked(`what goes with my ${teeTags.color_family ?? ''} ${teeTags.type ?? 't-shirt'}?`);
  console.log(`the tee's tags: ${teeTags.color_family} ${teeTags.type}; answer: ${t.answer}`);
  assert.equal(t.sources[0]?.id, tee.id, `${t.answer} ${JSON.stringify(t.sources.map((x) => x.title))}`);
  for (const q of ['what goes with my?', 'What goes with my thing?']) {
    const none = await asked(q);
    assert.ok(!none.sources.some((x) => x.collection === 'wardrobe'), `${q}: ${none.answer}`);
  }
  // Someone else's wardrobe does not answer for them.
  const other = await json(await ask({ question: 'What goes with my navy blazer?' }));
  assert.equal(other.found, false);
  assert.match(other.answer, /no item in your wardrobe/);
  assert.deepEqual(other.sources, []);
});
