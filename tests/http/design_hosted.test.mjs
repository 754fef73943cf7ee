// Hosted design engines. Replicate and Hugging Face Inference Endpoints
// cannot be reached from the test machines, so each is tested against a
// LOCAL server that speaks its documented wire protocol:
// - Replicate: POST /v1/predictions {version, input} with a bearer token ->
//   201 {id, status, urls.get, urls.cancel}; GET urls.get until succeeded
//   with `output` URLs; POST urls.cancel.
// - HF Inference Endpoint: POST {inputs, parameters} with a bearer token ->
//   image bytes; 503 {error, estimated_time} while scaling up.
// The fakes answer with the control image they received, so the test also
// proves the layout control made the round trip. They play 5xx, malformed,
// slow (past the AI timeout) answers and off-allowlist output URLs, and a run
// of failures opens the engine's circuit breaker.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFileSync, readdirSync } from 'node:fs';
import crypto from 'node:crypto';
import path from 'node:path';
import { startServer, json, createKey, SOURCE_DIR } from './helpers.mjs';

const ROOMS = path.resolve(SOURCE_DIR, '../shared/data/rooms');
const PHOTO = readFileSync(path.join(ROOMS, 'bedroom', readdirSync(path.join(ROOMS, 'bedroom')).find((f) => f.endsWith('.jpg'))));
const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');

let mode = { replicate: 'ok', hf: 'ok' };
const seen = { replicate: [], hf: [], cancels: [] };
const predictions = new Map();
let fake, base, s, key, rid;

function body(req) {
  return new Promise((r) => { let b = ''; req.on('data', (d) => (b += d)); req.on('end', () => r(b)); });
}
const dataUri = (u) => Buffer.from(u.slice(u.indexOf(',') + 1), 'base64');

before(async () => {
  fake = http.createServer(async (req, res) => {
    const b = await body(req);
    const send = (status, obj, type = 'application/json') => res.writeHead(status, { 'content-type': type }).end(typeof obj === 'string' || Buffer.isBuffer(obj) ? obj : JSON.stringify(obj));
    // ---- Replicate ----
    if (req.url.startsWith('/replicate/')) {
      if (req.headers.authorization !== 'Bearer r8_test') return send(401, { detail: 'Invalid token.' });
      const m = mode.replicate;
      if (req.method === 'POST' && req.url === '/replicate/v1/predictions') {
        const j = JSON.parse(b);
        seen.replicate.push(j);
        if (m === '5xx') return send(500, { detail: 'internal error' });
        if (m === 'malformed') return send(201, { oops: true });
        const id = `p${predictions.size + 1}`;
        predictions.set(id, { polls: 0, control: dataUri(j.input.control_image), mode: m });
        return send(201, { id, status: 'starting', urls: { get: `${base}/replicate/v1/predictions/${id}`, cancel: `${base}/replicate/v1/predictions/${id}/cancel` } });
      }
      const g = req.url.match(/^\/replicate\/v1\/predictions\/(\w+)(\/cancel)?$/);
      if (g && predictions.has(g[1])) {
        const p = predictions.get(g[1]);
        if (g[2]) { seen.cancels.push(g[1]); p.canceled = true; return send(200, { id: g[1], status: 'canceled' }); }
        p.polls += 1;
        if (p.mode === 'slow' || p.polls < 2) return send(200, { id: g[1], status: 'processing', output: null });
        const out = p.mode === 'offhost' ? 'http://files.example.com/evil.png' : `${base}/delivery/${g[1]}.png`;
        return send(200, { id: g[1], status: 'succeeded', output: [out] });
      }
    }
    const d = req.url.match(/^\/delivery\/(\w+)\.png$/);
    if (d) return send(200, predictions.get(d[1]).control, 'image/png');
    // ---- Hugging Face Inference Endpoint ----
    if (req.url === '/hf') {
      if (req.headers.authorization !== 'Bearer hf_test') return send(401, { error: 'Authorization header is invalid' });
      const j = JSON.parse(b);
      seen.hf.push(j);
      if (mode.hf === '503') return send(503, { error: 'Model is currently loading', estimated_time: 20 });
      if (mode.hf === 'malformed') return send(200, '<html>oops</html>', 'text/html');
      if (mode.hf === 'slow') await new Promise((r) => setTimeout(r, 4000));
      return send(200, Buffer.from(j.parameters.control_image, 'base64'), 'image/png');
    }
    send(404, { detail: 'not found' });
  });
  base = await new Promise((r) => fake.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${fake.address().port}`)));
  s = await startServer({
    ATELIER_REPLICATE_BASE_URL: `${base}/replicate/v1`, ATELIER_REPLICATE_API_TOKEN: 'r8_test',
    ATELIER_REPLICATE_MODEL_VERSION: 'abc123', ATELIER_REPLICATE_OUTPUT_HOSTS: '127.0.0.1',
    ATELIER_REPLICATE_POLL_MS: '20', ATELIER_HF_ENDPOINT_URL: `${base}/hf`, ATELIER_HF_API_TOKEN: 'hf_test',
    ATELIER_HOSTED_ALLOW_PRIVATE: 'true', ATELIER_AI_TIMEOUT_SECONDS: '2', ATELIER_BREAKER_THRESHOLD: '3',
    ATELIER_BREAKER_COOLDOWN_SECONDS: '2', ATELIER_DESIGN_COST_REPLICATE: '0.05', ATELIER_DESIGN_WORKERS: '2',
  });
  key = createKey(s, 'admin');
  const r = await fetch(`${s.url}/v1/rooms?room_type=bedroom`, { method: 'POST', body: PHOTO, headers: { authorization: `Bearer ${key}`, 'content-type': 'image/jpeg' } });
  rid = (await json(r)).id;
});
after(async () => { await s?.stop(); fake?.close(); });

const design = (engine, extra = {}) => fetch(`${s.url}/v1/designs?wait=10`, { method: 'POST',
  body: JSON.stringify({ room_id: rid, style: 'modern', engine, seed: 3, ...extra }),
  headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' } }).then(json);
// ?wait is capped at the AI timeout; a job that runs into it ends a moment later.
async function settled(d) {
  const end = Date.now() + 10000;
  while (!['succeeded', 'failed', 'cancelled'].includes(d.status) && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 25));
    d = await fetch(`${s.url}/v1/designs/${d.id}`, { headers: { authorization: `Bearer ${key}` } }).then(json);
  }
  return d;
}
const bytes = (p) => fetch(s.url + p, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.arrayBuffer()).then((a) => Buffer.from(a));

test('replicate: create, poll, fetch the output from the allowed host; prompt, seed and control sent; cost charged', async () => {
  mode.replicate = 'ok';
  const d = await design('replicate');
  assert.equal(d.status, 'succeeded', d.error);
  assert.equal(d.engine, 'replicate');
  assert.equal(d.cost_usd, 0.05);
  const sent = seen.replicate.at(-1);
  assert.equal(sent.version, 'abc123');
  assert.equal(sent.input.seed, 3);
  assert.equal(sent.input.prompt, d.prompt);
  assert.equal(sha(dataUri(sent.input.image)), sha(PHOTO));
  // The fake returns the control it got: the output equals our control image.
  assert.equal(sha(await bytes(d.image_url)), sha(await bytes(d.control_url)));
  const m = await (await fetch(`${s.url}/metrics`)).text();
  assert.match(m, /ai_generation_cost_total\{engine="replicate"\} 0\.05/);
});

test('replicate: 5xx, malformed answers and off-allowlist outputs fail the job with the reason and refund', async () => {
  const before = (await json(await fetch(`${s.url}/v1/design/spend`, { headers: { authorization: `Bearer ${key}` } }))).generations_today;
  mode.replicate = 'malformed';
  let d = await design('replicate');
  assert.equal(d.status, 'failed');
  assert.match(d.error, /replicate answered a prediction without id/);
  mode.replicate = 'offhost';
  d = await design('replicate');
  assert.equal(d.status, 'failed');
  assert.match(d.error, /outside the configured hosts/);
  mode.replicate = 'ok';
  d = await design('replicate');
  assert.equal(d.status, 'succeeded');
  const after = (await json(await fetch(`${s.url}/v1/design/spend`, { headers: { authorization: `Bearer ${key}` } }))).generations_today;
  assert.equal(after - before, 1, 'only the succeeded job is charged');
});

test('replicate: a prediction that outlives the AI timeout is cancelled there and the job fails within the timeout', async () => {
  mode.replicate = 'slow';
  const d = await settled(await design('replicate'));
  assert.equal(d.status, 'failed');
  // The fake never finishes: ending at all, as deadline_exceeded, proves the timeout.
  assert.match(d.error, /deadline_exceeded: replicate prediction p\d+ did not finish within the AI timeout/);
  const id = d.error.match(/prediction (p\d+)/)[1];
  assert.ok(seen.cancels.includes(id), 'the remote prediction was cancelled');
});

test('hf_inference: image, prompt and control in; image out; 503, malformed and slow answers fail cleanly', async () => {
  mode.hf = 'ok';
  let d = await design('hf_inference', { prompt: 'oak floor' });
  assert.equal(d.status, 'succeeded', d.error);
  const sent = seen.hf.at(-1);
  assert.equal(sha(Buffer.from(sent.inputs, 'base64')), sha(PHOTO));
  assert.match(sent.parameters.prompt, /oak floor$/);
  assert.equal(sent.parameters.seed, 3);
  assert.equal(sha(await bytes(d.image_url)), sha(await bytes(d.control_url)));
  mode.hf = '503';
  d = await design('hf_inference');
  assert.match(d.error, /unavailable: the Hugging Face endpoint is not ready: Model is currently loading/);
  mode.hf = 'malformed';
  d = await design('hf_inference');
  assert.match(d.error, /not an image \(text\/html\)/);
  mode.hf = 'ok';  // close the circuit again before the slow case
  assert.equal((await design('hf_inference')).status, 'succeeded');
  mode.hf = 'slow';
  d = await settled(await design('hf_inference'));
  assert.equal(d.status, 'failed');
  // The fake answers after 4 s, so a deadline_exceeded failure means our 2 s timeout acted.
  assert.match(d.error, /deadline_exceeded/);
  mode.hf = 'ok';
});

test('repeated failures open the circuit: calls are refused without reaching the service, then it recovers', async () => {
  // Start closed: after any earlier failures' cooldown, one success closes it.
  mode.replicate = 'ok';
  await new Promise((r) => setTimeout(r, 2100));
  assert.equal((await design('replicate')).status, 'succeeded');
  mode.replicate = '5xx';
  for (let i = 0; i < 3; i++) {
    const d = await design('replicate');
    assert.match(d.error, /HTTP 500/);
  }
  const calls = seen.replicate.length;
  const refused = await design('replicate');
  assert.equal(refused.status, 'failed');
  assert.match(refused.error, /circuit open/);
  assert.equal(seen.replicate.length, calls, 'an open circuit does not call the service');
  let m = await (await fetch(`${s.url}/metrics`)).text();
  assert.match(m, /ai_engine_circuit_open\{engine="replicate"\} 1/);
  assert.match(m, /ai_generations_total\{engine="replicate",status="failed"\} [4-9]/);
  mode.replicate = 'ok';
  await new Promise((r) => setTimeout(r, 2100));
  const ok = await design('replicate');
  assert.equal(ok.status, 'succeeded', ok.error);
  m = await (await fetch(`${s.url}/metrics`)).text();
  assert.match(m, /ai_engine_circuit_open\{engine="replicate"\} 0/);
});
