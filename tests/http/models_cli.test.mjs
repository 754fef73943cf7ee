// `atelier models pull|list|verify`. The Hugging Face hub cannot be reached
// from the test machines, so pull runs against a LOCAL server that speaks the
// hub's download protocol as huggingface_hub uses it: GET
// /{repo}/resolve/{revision}/{file}; small files answer 200 with their git
// blob SHA-1 as ETag; large (LFS) files answer 302 to a CDN URL with
// X-Linked-Etag (their SHA-256) and X-Linked-Size on the redirect. The folder
// served is the random-weight BERT checkpoint from the `transformers` fixture;
// after the pull the real server loads it and answers with the torch
// reference's vectors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import crypto from 'node:crypto';
import { readFileSync, writeFileSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { BIN, startServer, createKey, json } from './helpers.mjs';

const FIXTURES = process.env.ATELIER_FIXTURES;
const SRC = path.join(FIXTURES, 'bert-tiny');
const FILES = ['config.json', 'model.safetensors', 'vocab.txt', 'tokenizer_config.json', '1_Pooling/config.json'];
const LFS = new Set(['model.safetensors']);
const ref = JSON.parse(readFileSync(path.join(FIXTURES, 'reference.json'), 'utf8'));

const sha256 = (b) => crypto.createHash('sha256').update(b).digest('hex');
const gitSha1 = (b) => crypto.createHash('sha1').update(Buffer.concat([Buffer.from(`blob ${b.length}\0`), b])).digest('hex');

let hub, hubUrl, dir, catalog;
const requests = [];

function serveFile(res, repo, file, body) {
  if (LFS.has(file)) {
    // What the hub does for LFS files: redirect to the CDN, checksum on the redirect.
    const cdn = `/cdn/${repo}/${file}`;
    res.writeHead(302, { location: cdn, 'x-linked-etag': `"${sha256(readFileSync(path.join(SRC, file)))}"`,
      'x-linked-size': String(readFileSync(path.join(SRC, file)).length), etag: '"0123abcd"' }).end();
    return;
  }
  res.writeHead(200, { etag: `"${gitSha1(body)}"`, 'content-length': body.length }).end(body);
}

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'atelier-pull-'));
  hub = http.createServer((req, res) => {
    requests.push({ url: req.url, auth: req.headers.authorization });
    const m = req.url.match(/^\/(acme\/[\w.-]+)\/resolve\/(\w+)\/(.+)$/);
    const cdn = req.url.match(/^\/cdn\/(acme\/[\w.-]+)\/(.+)$/);
    if (cdn) {
      let body = readFileSync(path.join(SRC, cdn[2]));
      if (cdn[1] === 'acme/corrupt') { body = Buffer.from(body); body[body.length - 1] ^= 0xff; }
      res.writeHead(200, { 'content-length': body.length, etag: '"cdn-etag"' }).end(body);
      return;
    }
    if (!m) { res.writeHead(404).end('not found'); return; }
    const [, repo, , file] = m;
    if (repo === 'acme/gated' && req.headers.authorization !== 'Bearer hf_test_token') {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"Access to model acme/gated is restricted."}');
      return;
    }
    if (repo === 'acme/missing-file' && file === 'vocab.txt') { res.writeHead(404).end('Entry not found'); return; }
    const p = path.join(SRC, file);
    if (!existsSync(p)) { res.writeHead(404).end('Entry not found'); return; }
    serveFile(res, repo, file, readFileSync(p));
  });
  hubUrl = await new Promise((r) => hub.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${hub.address().port}`)));
  const entry = (name, extra = {}) => ({ name, architecture: 'bert', license: 'test', files: FILES, ...extra });
  catalog = path.join(dir, 'models.json');
  writeFileSync(catalog, JSON.stringify({ models: [
    entry('acme/bert-tiny'), entry('acme/corrupt'), entry('acme/gated'), entry('acme/missing-file'),
    entry('acme/pinned', { files: [...FILES.filter((f) => f !== 'model.safetensors'),
      { path: 'model.safetensors', sha256: sha256(readFileSync(path.join(SRC, 'model.safetensors'))) }] }),
    entry('acme/pinned-wrong', { files: [{ path: 'config.json', sha256: '0'.repeat(64) }] }),
  ] }));
});

after(() => {
  hub?.close();
  rmSync(dir, { recursive: true, force: true });
});

const env = (extra = {}) => {
  const e = { ...process.env };
  delete e.HF_TOKEN;
  return { ...e, ATELIER_HF_ENDPOINT: hubUrl, ATELIER_MODEL_CATALOG: catalog,
    ATELIER_MODELS_DIR: path.join(dir, 'models'), ATELIER_DATA_DIR: path.join(dir, 'data'), ...extra };
};
// Asynchronous: the fake hub runs in this process and must keep answering.
const cli = (args, extra) => new Promise((resolve) => {
  const p = spawn(BIN, args, { env: env(extra) });
  let stdout = '', stderr = '';
  p.stdout.on('data', (d) => (stdout += d));
  p.stderr.on('data', (d) => (stderr += d));
  p.on('close', (code) => resolve({ code, stdout, stderr }));
});

test('pull downloads the folder, checks every file against the hub, writes a manifest', async () => {
  const r = await cli(['models', 'pull', 'acme/bert-tiny']);
  assert.equal(r.code, 0, r.stderr);
  const lines = Object.fromEntries(r.stdout.trim().split('\n').filter((l) => l.includes('\t')).map((l) => [l.split('\t')[0], l.split('\t')]));
  assert.equal(lines['model.safetensors'][3], 'hub X-Linked-Etag (sha256)');
  assert.equal(lines['config.json'][3], 'hub ETag (git blob sha1)');
  assert.equal(lines['1_Pooling/config.json'][3], 'hub ETag (git blob sha1)');
  for (const f of FILES) {
    const got = readFileSync(path.join(dir, 'models/acme/bert-tiny', f));
    assert.ok(got.equals(readFileSync(path.join(SRC, f))), f);
  }
  // Non-terminal progress: a line per quarter of each file.
  assert.match(r.stderr, /model\.safetensors 100% of 8\.2 MB/);
  const manifest = JSON.parse(readFileSync(path.join(dir, 'models/acme/bert-tiny/atelier-manifest.json'), 'utf8'));
  assert.equal(manifest.files['model.safetensors'].sha256, sha256(readFileSync(path.join(SRC, 'model.safetensors'))));
  assert.equal(manifest.revision, 'main');
  // The LFS file came through the redirect.
  assert.ok(requests.some((q) => q.url === '/cdn/acme/bert-tiny/model.safetensors'));
  const list = await cli(['models', 'list']);
  assert.match(list.stdout, /acme\/bert-tiny\tinstalled\tbert\t/);
  assert.match(list.stdout, /acme\/corrupt\tavailable/);
});

test('a pinned catalogue checksum is used, and a wrong one refuses the pull', async () => {
  const ok = await cli(['models', 'pull', 'acme/pinned']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /model\.safetensors\t\d+\t[0-9a-f]{64}\tcatalogue sha256/);
  const bad = await cli(['models', 'pull', 'acme/pinned-wrong']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /config\.json: SHA-256 [0-9a-f]{64} does not match catalogue sha256 0{64}/);
  assert.equal(existsSync(path.join(dir, 'models/acme/pinned-wrong')), false);
});

test('a corrupted download is refused and leaves nothing behind', async () => {
  const r = await cli(['models', 'pull', 'acme/corrupt']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /model\.safetensors: SHA-256 .* does not match hub X-Linked-Etag/);
  assert.equal(existsSync(path.join(dir, 'models/acme/corrupt')), false);
  assert.deepEqual(readdirSync(path.join(dir, 'models/acme')).filter((n) => n.includes('.partial') || n.includes('.old')), []);
});

test('gated models need HF_TOKEN; missing files and unknown names fail clearly', async () => {
  const denied = await cli(['models', 'pull', 'acme/gated']);
  assert.equal(denied.code, 1);
  assert.match(denied.stderr, /HTTP 401 \(a gated model\? set HF_TOKEN\)/);
  const allowed = await cli(['models', 'pull', 'acme/gated'], { HF_TOKEN: 'hf_test_token' });
  assert.equal(allowed.code, 0, allowed.stderr);
  assert.ok(requests.some((q) => q.url.startsWith('/acme/gated/') && q.auth === 'Bearer hf_test_token'));
  const missing = await cli(['models', 'pull', 'acme/missing-file']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /vocab\.txt answered HTTP 404/);
  const unknown = await cli(['models', 'pull', 'acme/nope']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown model 'acme\/nope'/);
  const noHub = await cli(['models', 'pull', 'acme/bert-tiny'], { ATELIER_HF_ENDPOINT: 'http://127.0.0.1:9' });
  assert.equal(noHub.code, 1);
  assert.match(noHub.stderr, /pull failed: .*(refused|connect)/i);
});

test('verify re-hashes pulled folders and catches a changed byte', async () => {
  const ok = await cli(['models', 'verify', 'acme/bert-tiny']);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /^ok\tacme\/bert-tiny\t5 files/m);
  const p = path.join(dir, 'models/acme/pinned/vocab.txt');
  const b = readFileSync(p);
  b[10] ^= 1;
  writeFileSync(p, b);
  const bad = await cli(['models', 'verify']);
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, /FAILED\tacme\/pinned\tvocab\.txt: SHA-256 [0-9a-f]{64} does not match the manifest/);
  assert.match(bad.stdout, /^ok\tacme\/bert-tiny/m);
});

test('the pulled folder serves embeddings equal to the torch reference', async () => {
  const s = await startServer({ ATELIER_MODELS_DIR: path.join(dir, 'models'), ATELIER_NATIVE_MODELS: 'acme/bert-tiny' });
  try {
    const key = createKey(s, 'premium');
    const r = await fetch(`${s.url}/v1/embeddings`, { method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'acme/bert-tiny', input: ref.texts[2] }) });
    assert.equal(r.status, 200);
    const v = (await json(r)).data[0].embedding;
    const want = ref.bert[2].pooled[0];
    assert.ok(Math.max(...v.map((x, i) => Math.abs(x - want[i]))) < 1e-4);
  } finally {
    await s.stop();
  }
});
