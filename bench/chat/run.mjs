// bench/chat: the local engine's time to first token (the first SSE chunk
// with text) and to the full answer, streamed, through HTTP against the real
// binary (SQLite, the WordNet knowledge base built before timing), at
// concurrency 1 and 8; p50/p95 in ms. Questions: definitions, comparisons and
// lists over the knowledge base's headwords, cycled. Then the hosted engine:
// a local server speaking OpenAI's streamed protocol with a fixed 50 ms
// before its first token, timed alone and through atelier, so the difference
// is what atelier adds (retrieval, prompt, passthrough). The local engine is
// also timed over the WebSocket (one socket per client, turns in sequence).
// Usage: node bench/chat/run.mjs   (from the repository root, after a build)
import http from 'node:http';
import os from 'node:os';
import { startServer, createKey } from '../../tests/http/helpers.mjs';
import { Socket } from '../../tests/http/ws_client.mjs';

const QUESTIONS = ['What is tweed?', 'tweed vs flannel', 'What kinds of boots are there?',
  'What is the difference between a tuxedo and a blazer?', 'what is chintz', 'Is cashmere warm?',
  'What is a complementary color?', 'What should I wear to a wedding?'];
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const fmt = (xs) => `p50 ${pct(xs, 50).toFixed(2)} ms, p95 ${pct(xs, 95).toFixed(2)} ms (n=${xs.length})`;

const DELAY_MS = 50;
const upstream = http.createServer(async (req, res) => {
  for await (const _ of req);  // eslint-disable-line no-unused-vars
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  await new Promise((r) => setTimeout(r, DELAY_MS));
  for (const piece of ['Tweed ', 'is a ', 'woollen ', 'fabric [1].'])
    res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: piece }, finish_reason: null }] })}\n\n`);
  res.end('data: [DONE]\n\n');
});
await new Promise((r) => upstream.listen(0, '127.0.0.1', r));
const upstreamUrl = `http://127.0.0.1:${upstream.address().port}/v1`;

const s = await startServer({
  ATELIER_IDENTITY_RATE_LIMIT_PER_MINUTE: '0', ATELIER_ACCESS_LOG: 'false',
  ATELIER_CHAT_OPENAI_BASE_URL: upstreamUrl, ATELIER_CHAT_OPENAI_MODEL: 'upstream-model',
  ATELIER_CHAT_STREAMS_PER_USER: '16',
});
try {
  const key = createKey(s, 'admin', 'bench');
  await fetch(`${s.url}/v1/rag/knowledge`);  // builds the knowledge base once
  const turn = async (n, base = s.url + '/v1', model = 'local') => {
    const t = performance.now();
    const r = await fetch(`${base}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, stream: true, messages: [{ role: 'user', content: QUESTIONS[n % QUESTIONS.length] }] }),
    });
    if (!r.ok) throw new Error(`${r.status} ${await r.text()}`);
    let first = 0, buf = '';
    const decoder = new TextDecoder();
    for await (const part of r.body) {
      buf += decoder.decode(part, { stream: true });
      if (!first && /"delta":\{"content":"[^"]/.test(buf)) first = performance.now() - t;
    }
    return [first, performance.now() - t];
  };
  for (let n = 0; n < 20; n++) await turn(n);  // warm up
  console.log(`cpu: ${os.cpus().length} cores; ${QUESTIONS.length} questions cycled`);
  for (const c of [1, 8]) {
    const ttft = [], total = [];
    let next = 0;
    const N = c === 1 ? 200 : 400;
    await Promise.all(Array.from({ length: c }, async () => {
      while (next < N) {
        const [a, b] = await turn(next++);
        ttft.push(a);
        total.push(b);
      }
    }));
    console.log(`local engine, streamed, concurrency ${c}: first token ${fmt(ttft)}; full answer ${fmt(total)}`);
  }
  for (const c of [1, 8]) {
    const ttft = [], total = [];
    let next = 0;
    const N = c === 1 ? 200 : 400;
    await Promise.all(Array.from({ length: c }, async () => {
      const ws = await Socket.open(s, { headers: { authorization: `Bearer ${key}` } });
      await ws.next();
      while (next < N) {
        const t = performance.now();
        let first = 0;
        const turn = await ws.turn({ content: QUESTIONS[next++ % QUESTIONS.length] },
          { onDelta: () => { if (!first) first = performance.now() - t; } });
        if (turn.last.type !== 'done') throw new Error(JSON.stringify(turn.last));
        ttft.push(first);
        total.push(performance.now() - t);
      }
      await ws.close();
    }));
    console.log(`local engine, WebSocket, concurrency ${c}: first token ${fmt(ttft)}; full answer ${fmt(total)}`);
  }
  // The hosted engine: the protocol server alone, then through atelier.
  for (const c of [1, 8]) {
    const run = async (base, model) => {
      const ttft = [];
      let next = 0;
      await Promise.all(Array.from({ length: c }, async () => {
        while (next < 160) ttft.push((await turn(next++, base, model))[0]);
      }));
      return ttft;
    };
    const alone = await run(upstreamUrl, 'upstream-model');
    const through = await run(`${s.url}/v1`, 'upstream-model');
    console.log(`hosted engine (${DELAY_MS} ms to its first token), concurrency ${c}: alone ${fmt(alone)}; ` +
      `through atelier ${fmt(through)}; added p50 ${(pct(through, 50) - pct(alone, 50)).toFixed(2)} ms, ` +
      `p95 ${(pct(through, 95) - pct(alone, 95)).toFixed(2)} ms`);
  }
} finally {
  await s.stop();
  upstream.close();
}
