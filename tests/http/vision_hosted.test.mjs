// Hosted engines and image URLs. No hosted service can be reached from the
// test machines, so the hosted caption/VQA engine is tested against a LOCAL
// server that speaks the OpenAI chat completions wire protocol (POST
// /v1/chat/completions, bearer key, a user message with text and image_url
// parts, `choices[0].message.content` back). The fake answers from what it
// received (the image's size and the question), so the test proves the
// image and question made the round trip; it also plays 5xx, slow and
// malformed answers. Image URL fetching (SSRF rules) is tested against a
// local static server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startServer, json, expectProblem, createKey } from './helpers.mjs';

const SHARED = path.resolve(process.env.ATELIER_SOURCE_DIR || '.', '../shared/data');
const PHOTO = path.join(SHARED, 'coco/images/val2017/000000000139.jpg');

let mode = 'ok';
const seen = [];
const slowCalls = []; // how each slow call ended
// Waits for a condition itself, with a generous bound (never a timing assertion).
async function waitFor(cond, ms) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
let fake, fakeUrl, files, filesUrl, s, key;

function listen(server) {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${server.address().port}`)));
}

before(async () => {
  fake = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', async () => {
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions') { res.writeHead(404).end(); return; }
      if (req.headers.authorization !== 'Bearer sk-test-123') {
        res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'bad key' } }));
        return;
      }
      const j = JSON.parse(body);
      seen.push(j);
      if (mode === '5xx') { res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'model overloaded' } })); return; }
      if (mode === 'slow') {
        // Answers only after a minute, unless atelier hangs up first (its
        // timeout): what the test checks is who ended the call.
        const hungUp = await new Promise((r) => {
          const t = setTimeout(() => r(false), 60000);
          res.on('close', () => { clearTimeout(t); r(true); });
        });
        slowCalls.push(hungUp ? 'abandoned by atelier' : 'answered');
        if (hungUp) return;
      }
      if (mode === 'malformed') { res.writeHead(200, { 'content-type': 'application/json' }).end('{"choices": [{"message": {}}'); return; }
      const parts = j.messages.at(-1).content;
      const text = parts.find((p) => p.type === 'text').text;
      const url = parts.find((p) => p.type === 'image_url').image_url.url;
      const jpeg = Buffer.from(url.slice('data:image/jpeg;base64,'.length), 'base64');
      const isJpeg = jpeg[0] === 0xff && jpeg[1] === 0xd8;
      const question = (text.match(/Question: (.*)$/) || [])[1];
      const content = question ? `fake answer to "${question}"` : `fake caption of a ${isJpeg ? 'JPEG' : 'non-JPEG'} of ${jpeg.length} bytes`;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({
        id: 'chatcmpl-1', object: 'chat.completion', model: j.model,
        choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
      }));
    });
  });
  fakeUrl = await listen(fake);
  files = http.createServer((req, res) => {
    if (req.url === '/photo.jpg') res.writeHead(200, { 'content-type': 'image/jpeg' }).end(readFileSync(PHOTO));
    else if (req.url === '/moved') res.writeHead(302, { location: 'http://169.254.169.254/' }).end();
    else res.writeHead(404).end();
  });
  filesUrl = await listen(files);
  s = await startServer({
    ATELIER_CAPTION_ENGINE: 'openai',
    ATELIER_OPENAI_BASE_URL: `${fakeUrl}/v1`,
    ATELIER_OPENAI_MODEL: 'gpt-test-vision',
    ATELIER_OPENAI_API_KEY: 'sk-test-123',
    ATELIER_OPENAI_TIMEOUT_SECONDS: '1',
    ATELIER_IMAGE_URL_HOSTS: '127.0.0.1,*.example.invalid',
    ATELIER_IMAGE_URL_ALLOW_PRIVATE: 'true',
  });
  key = createKey(s, 'admin', 'hosted');
});
after(async () => {
  await s?.stop();
  fake?.close();
  files?.close();
});

// Results are cached by content hash, so each case sends other bytes.
let variant = 0;
function form(fields = {}, photo = PHOTO) {
  const fd = new FormData();
  const bytes = Buffer.concat([readFileSync(photo), Buffer.from(`pad${variant++}`)]);  // bytes after EOI are ignored
  fd.append('image', new Blob([bytes], { type: 'image/jpeg' }), 'photo.jpg');
  for (const [k, v] of Object.entries(fields)) fd.append(k, v);
  return fd;
}
const post = (route, body, headers = {}) =>
  fetch(`${s.url}${route}`, { method: 'POST', body, headers: { authorization: `Bearer ${key}`, ...headers } });

test('caption and VQA go to the OpenAI-compatible server with the image as a data URL', async () => {
  mode = 'ok';
  const cap = await post('/v1/vision/caption', form());
  const c = await json(cap);
  assert.equal(cap.status, 200, JSON.stringify(c));
  assert.match(c.caption.text, /^fake caption of a JPEG of \d+ bytes$/);
  assert.equal(c.caption.engine, 'openai:gpt-test-vision');
  assert.ok(c.caption.evidence.some((e) => e.includes('gpt-test-vision')));
  const req = seen.at(-1);
  assert.equal(req.model, 'gpt-test-vision');
  assert.equal(req.messages[0].role, 'system');
  // The local detector's findings travel as hints.
  assert.match(req.messages.at(-1).content[0].text, /A local detector found: .*tv/);

  const vqa = await json(await post('/v1/vision/vqa', form({ question: 'What style is this room?' })));
  assert.equal(vqa.answer.text, 'fake answer to "What style is this room?"');
});

test('hosted failures: 5xx and malformed answers are 503, a slow one 504 within the timeout', async () => {
  mode = '5xx';
  let r = await post('/v1/vision/caption', form());
  let p = await expectProblem(assert, r, 503);
  assert.match(p.detail, /HTTP 500: model overloaded/);
  assert.ok(r.headers.get('retry-after'));
  mode = 'malformed';
  p = await expectProblem(assert, await post('/v1/vision/vqa', form({ question: 'colour?' })), 503);
  assert.match(p.detail, /malformed/);
  mode = 'slow';
  r = await post('/v1/vision/vqa', form({ question: 'slow?' }));
  await expectProblem(assert, r, 504);
  // The 504 came from atelier's own timeout (1 s), which hung up on the
  // engine, not from the engine's answer a minute later.
  await waitFor(() => slowCalls.length === 1, 30000);
  assert.deepEqual(slowCalls, ['abandoned by atelier']);
  mode = 'ok';
});

test('image_url: fetched from an allowed host; redirects, other hosts and bad schemes refused', async () => {
  const ok = await post('/v1/vision/detect', JSON.stringify({ image_url: `${filesUrl}/photo.jpg` }), { 'content-type': 'application/json' });
  const body = await json(ok);
  assert.equal(ok.status, 200, JSON.stringify(body));
  assert.ok(body.detections.some((d) => d.class === 'tv'));
  const cases = [
    [`${filesUrl}/moved`, 400, /redirect/],
    ['http://localhost:1/photo.jpg', 403, /allowlist/],
    ['ftp://127.0.0.1/photo.jpg', 400, /http or https/],
    [`${filesUrl}/missing.jpg`, 400, /HTTP 404/],
    ['http://user:pw@127.0.0.1/photo.jpg', 400, /credentials/],
  ];
  for (const [url, status, re] of cases) {
    const p = await expectProblem(assert, await post('/v1/vision/detect', JSON.stringify({ image_url: url }), { 'content-type': 'application/json' }), status);
    assert.match(p.detail, re, url);
  }
});

test('image_url: private, loopback and link-local targets are refused by default', async () => {
  const strict = await startServer({ ATELIER_IMAGE_URL_HOSTS: '127.0.0.1,169.254.169.254,10.0.0.1,[::1]' });
  try {
    const k = createKey(strict, 'admin', 'strict');
    for (const url of [`${filesUrl}/photo.jpg`, 'http://169.254.169.254/latest/meta-data', 'http://10.0.0.1/x.jpg', 'http://[::1]/x.jpg']) {
      const r = await fetch(`${strict.url}/v1/vision/detect`, {
        method: 'POST', body: JSON.stringify({ image_url: url }),
        headers: { authorization: `Bearer ${k}`, 'content-type': 'application/json' },
      });
      const p = await expectProblem(assert, r, 403);
      assert.match(p.detail, /non-public/, url);
    }
  } finally {
    await strict.stop();
  }
});
