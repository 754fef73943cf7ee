// Operations surface of the platform: probes, metrics, OpenAPI, docs,
// request ids, timing, CORS, JSON logs and the CLI's configuration commands.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import { startServer, runCli, json, expectProblem, createKey, BIN } from './helpers.mjs';

let s;
before(async () => {
  s = await startServer({ ATELIER_CORS_ORIGINS: 'https://app.example' });
});
after(async () => {
  await s.stop();
});

test('/health is cheap and reports version and uptime', async () => {
  const r = await fetch(`${s.url}/health`);
  assert.equal(r.status, 200);
  const b = await json(r);
  assert.equal(b.status, 'ok');
  assert.match(b.version, /^\d+\.\d+\.\d+/);
  assert.ok(b.uptime_s >= 0);
  assert.equal((await fetch(`${s.url}/health/live`)).status, 200);
});

test('ATELIER_REQUIRED_MODELS: a replica without a required model never goes Ready', async () => {
  const missing = await startServer({ ATELIER_REQUIRED_MODELS: 'yolox-nano,no-such-model' }, { replica: true });
  try {
    const r = await fetch(`${missing.url}/health/ready`);
    assert.equal(r.status, 503);
    const b = await json(r);
    assert.deepEqual(b.failing, ['model:no-such-model']);
    assert.equal(b.components['model:yolox-nano'].required, true);
    assert.equal(b.components['model:yolox-nano'].status, 'up');
  } finally {
    await missing.stop();
  }
  const r = await json(await fetch(`${s.url}/health/ready`));
  assert.equal(r.components['model:yolox-nano'].required, false, 'not required unless asked');
});

test('/health/ready names its components and /health/detailed shows pool figures', async () => {
  const r = await fetch(`${s.url}/health/ready`);
  assert.equal(r.status, 200);
  const b = await json(r);
  assert.equal(b.status, 'ready');
  assert.equal(b.components.database.status, 'up');
  assert.equal(b.components.work_queue.status, 'up');
  // An open probe shows states only: the database's address and model paths are for admins.
  assert.deepEqual(Object.keys(b.components.database).sort(), ['required', 'status']);
  assert.ok(!JSON.stringify(b).includes('sqlite:'), JSON.stringify(b));
  const d = await json(await fetch(`${s.url}/health/detailed`));
  assert.equal(typeof d.work_pool.queue_capacity, 'number');
  assert.equal(d.components.database.backend.startsWith('sqlite:'), true);
});

test('request ids are accepted or made, and Server-Timing is present', async () => {
  const mine = await fetch(`${s.url}/health`, { headers: { 'X-Request-ID': 'abc-123' } });
  assert.equal(mine.headers.get('x-request-id'), 'abc-123');
  const bad = await fetch(`${s.url}/health`, { headers: { 'X-Request-ID': 'no spaces <allowed>' } });
  assert.notEqual(bad.headers.get('x-request-id'), 'no spaces <allowed>');
  assert.ok(bad.headers.get('x-request-id').length > 4);
  assert.match(mine.headers.get('server-timing'), /queue;dur=[\d.]+, compute;dur=[\d.]+, total;dur=[\d.]+/);
});

test('unknown routes are 404 and wrong methods 405 with Allow, both problem+json', async () => {
  await expectProblem(assert, await fetch(`${s.url}/nope`), 404);
  const r = await fetch(`${s.url}/health`, { method: 'DELETE' });
  const b = await expectProblem(assert, r, 405);
  assert.equal(r.headers.get('allow'), 'GET');
  assert.match(b.detail, /DELETE/);
});

test('/metrics passes promtool and counts requests by route template', async () => {
  const key = createKey(s, 'free', 'metrics');
  await fetch(`${s.url}/v1/me`, { headers: { Authorization: `Bearer ${key}` } });
  await fetch(`${s.url}/v1/admin/keys/12345`, { method: 'DELETE', headers: { Authorization: `Bearer ${key}` } });
  const text = await (await fetch(`${s.url}/metrics`)).text();
  assert.match(text, /http_requests_total\{method="GET",route="\/v1\/me",status="200"\} 1/);
  assert.match(text, /route="\/v1\/admin\/keys\/\{id\}"/);
  assert.doesNotMatch(text, /12345/);
  assert.doesNotMatch(text, /key:\d+|user:\d+|ip:/);
  for (const name of ['http_request_duration_seconds_bucket', 'http_requests_in_flight', 'process_cpu_seconds_total',
    'process_resident_memory_bytes', 'atelier_work_queue_depth']) {
    assert.ok(text.includes(name), name);
  }
  const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.equal(check.status, 0, `promtool: ${check.stdout}${check.stderr}`);
});

test('/openapi.json is a valid OpenAPI 3.1 document covering every route', async () => {
  const doc = await json(await fetch(`${s.url}/openapi.json`));
  assert.equal(doc.openapi, '3.1.0');
  await SwaggerParser.validate(structuredClone(doc));
  const expected = {
    '/health': ['get'], '/health/live': ['get'], '/health/ready': ['get'], '/health/detailed': ['get'],
    '/metrics': ['get'], '/openapi.json': ['get'], '/docs': ['get'], '/docs/{file}': ['get'],
    '/v1/auth/register': ['post'], '/v1/auth/login': ['post'], '/v1/me': ['get'], '/v1/keys': ['post'],
    '/v1/rate-limit/status': ['get'], '/v1/admin/keys': ['get', 'post'], '/v1/admin/keys/{id}': ['delete'],
    '/v1/text/analyze': ['post'], '/v1/text/languages': ['get'], '/v1/embeddings': ['post'],
    '/v1/collections': ['get', 'post'], '/v1/collections/{name}/documents': ['post'],
    '/v1/collections/{name}/documents/{id}': ['delete'], '/v1/collections/{name}/search': ['get'], '/v1/index/stats': ['get'],
  };
  for (const [p, methods] of Object.entries(expected)) {
    for (const m of methods) {
      assert.ok(doc.paths[p]?.[m], `${m.toUpperCase()} ${p} documented`);
      assert.equal(typeof doc.paths[p][m]['x-atelier-cost'], 'number');
    }
  }
  assert.ok(doc.paths['/v1/me'].get.responses['429'], 'limited routes document 429');
  assert.equal(doc.paths['/v1/me'].get['x-atelier-cost'], 1);
});

test('/docs serves Swagger UI from this server, no CDN', async () => {
  const r = await fetch(`${s.url}/docs`);
  assert.equal(r.status, 200);
  const html = await r.text();
  assert.match(html, /swagger-ui-bundle\.js/);
  assert.doesNotMatch(html, /https?:\/\//);
  const js = await fetch(`${s.url}/docs/swagger-ui-bundle.js`);
  assert.equal(js.status, 200);
  assert.match(js.headers.get('content-type'), /javascript/);
  assert.ok((await js.arrayBuffer()).byteLength > 100000);
  await expectProblem(assert, await fetch(`${s.url}/docs/..%2f..%2fetc%2fpasswd`), 404);
});

test('CORS: allowed origin gets headers, preflight answers, other origins get none', async () => {
  const ok = await fetch(`${s.url}/health`, { headers: { Origin: 'https://app.example' } });
  assert.equal(ok.headers.get('access-control-allow-origin'), 'https://app.example');
  const pre = await fetch(`${s.url}/v1/me`, {
    method: 'OPTIONS',
    headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'GET' },
  });
  assert.equal(pre.status, 204);
  assert.match(pre.headers.get('access-control-allow-headers'), /Authorization/);
  const other = await fetch(`${s.url}/health`, { headers: { Origin: 'https://evil.example' } });
  assert.equal(other.headers.get('access-control-allow-origin'), null);
});

test('logs are one JSON object per line with request fields and no secrets', async () => {
  const key = createKey(s, 'premium', 'logs');
  await fetch(`${s.url}/v1/me`, { headers: { Authorization: `Bearer ${key}`, 'X-Request-ID': 'log-probe-1' } });
  await new Promise((r) => setTimeout(r, 300));
  const lines = s.out.stdout.trim().split('\n');
  const parsed = lines.map((l) => JSON.parse(l));
  const line = parsed.find((l) => l.request_id === 'log-probe-1');
  assert.ok(line, 'access log line present');
  for (const f of ['ts', 'level', 'request_id', 'route', 'status', 'latency_ms', 'identity']) assert.ok(f in line, f);
  assert.equal(line.route, '/v1/me');
  assert.match(line.identity, /^key:\d+$/);
  assert.ok(!s.out.stdout.includes(key), 'the API key never reaches the log');
});

test('config show masks secrets; bad configuration exits 2 naming each bad value', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'atelier-cfg-'));
  const env = { ...process.env, ATELIER_DATA_DIR: dir, ATELIER_JWT_SECRET: 'z'.repeat(40) };
  const shown = runCli(['config', 'show'], env);
  assert.equal(shown.code, 0);
  assert.match(shown.stdout, /^jwt_secret=\*{8}$/m);
  assert.ok(!shown.stdout.includes('z'.repeat(40)));
  const file = path.join(dir, 'bad.yaml');
  writeFileSync(file, 'port: 99999\nlog_level: chatty\n');
  const bad = runCli(['--config', file, 'config', 'show'], { ...env, ATELIER_WORKERS: 'many' });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /port must be between 0 and 65535/);
  assert.match(bad.stderr, /log_level must be one of/);
  assert.match(bad.stderr, /workers expected an integer/);
  const flags = runCli(['--data-dir', dir, 'config', 'show'], { ...env, ATELIER_DATA_DIR: '/elsewhere' });
  assert.match(flags.stdout, new RegExp(`^data_dir=${dir}$`, 'm'));
  const m = runCli(['migrate'], env);
  assert.equal(m.code, 0, m.stderr);
  assert.match(m.stdout, /^schema version [1-9]\d*$/m);
  const v = spawnSync(BIN, ['version'], { encoding: 'utf8' });
  assert.match(v.stdout, /^atelier \d+\.\d+\.\d+/);
  const vflag = spawnSync(BIN, ['--version'], { encoding: 'utf8' });
  assert.equal(vflag.status, 0);
  assert.match(vflag.stdout, /^atelier \d+\.\d+\.\d+/);
  // Issue 25: a profile that cannot serve is still shown, then what is wrong.
  const { ATELIER_JWT_SECRET, ...noSecret } = env;
  const prod = runCli(['config', 'show'], { ...noSecret, ATELIER_ENV: 'production' });
  assert.equal(prod.code, 2);
  assert.match(prod.stdout, /^env=production$/m);
  assert.match(prod.stdout, /^jwt_secret=\(unset\)$/m);
  assert.match(prod.stderr, /jwt_secret must be set to at least 32 bytes in the production profile/);
  // Help names every command's common options and shows defaults.
  const help = spawnSync(BIN, ['keys', 'create', '--help'], { encoding: 'utf8' });
  assert.match(help.stdout, /--data-dir/);
  assert.match(help.stdout, /--tier\s+TEXT=free/);
});

test('users create asks for nothing it was given: --password-stdin reads one line from a pipe', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'atelier-cfg-'));
  const env = { ...process.env, ATELIER_DATA_DIR: dir, ATELIER_JWT_SECRET: 'z'.repeat(40) };
  const made = spawnSync(BIN, ['users', 'create', '--email', 'pipe@example.com', '--password-stdin'],
    { encoding: 'utf8', env, input: 'correct horse battery staple\n' });
  assert.equal(made.status, 0, made.stderr);
  assert.match(made.stdout, /created user id=\d+ email=pipe@example\.com/);
  assert.ok(!made.stderr.includes('password:'), 'no prompt when standard input is not a terminal');
  const none = spawnSync(BIN, ['users', 'create', '--email', 'none@example.com'],
    { encoding: 'utf8', env, input: '' });
  assert.equal(none.status, 2);
  assert.match(none.stderr, /a password is required/);
});
