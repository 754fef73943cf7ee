// Identity end to end: register, login, JWTs (and forgeries), API keys from
// the CLI and the API, revocation, tiers and admin-only routes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, json, expectProblem, createKey, keyId, readJwtSecret, runCli, sleep } from './helpers.mjs';

let s;
before(async () => {
  s = await startServer();
});
after(async () => {
  await s.stop();
});

const b64 = (o) => Buffer.from(typeof o === 'string' ? o : JSON.stringify(o)).toString('base64url');
function sign(secret, header, payload) {
  const body = `${b64(header)}.${b64(payload)}`;
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
}
const post = (url, body, headers = {}) =>
  fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });

test('register, login and use the token', async () => {
  const reg = await post(`${s.url}/v1/auth/register`, { email: 'Ada@Example.com', password: 'correct horse' });
  assert.equal(reg.status, 201);
  const r = await json(reg);
  assert.equal(r.token_type, 'Bearer');
  assert.equal(r.user.tier, 'authenticated');
  assert.equal(r.user.email, 'ada@example.com');
  await expectProblem(assert, await post(`${s.url}/v1/auth/register`, { email: 'ada@example.com', password: 'correct horse' }), 409);
  await expectProblem(assert, await post(`${s.url}/v1/auth/register`, { email: 'bad', password: 'correct horse' }), 400);
  await expectProblem(assert, await post(`${s.url}/v1/auth/register`, { email: 'b@x.io', password: 'short' }), 400);
  await expectProblem(assert, await post(`${s.url}/v1/auth/register`, { email: 7, password: 'correct horse' }), 400);

  const login = await post(`${s.url}/v1/auth/login`, { email: 'ada@example.com', password: 'correct horse' });
  assert.equal(login.status, 200);
  const { access_token } = await json(login);
  const me = await json(await fetch(`${s.url}/v1/me`, { headers: { Authorization: `Bearer ${access_token}` } }));
  assert.equal(me.identity, `user:${r.user.id}`);
  assert.equal(me.credential, 'jwt');
  assert.equal(me.tier, 'authenticated');

  const wrong = await post(`${s.url}/v1/auth/login`, { email: 'ada@example.com', password: 'not the password' });
  const p = await expectProblem(assert, wrong, 401);
  assert.equal(p.detail, 'wrong email or password');
  const nobody = await expectProblem(assert, await post(`${s.url}/v1/auth/login`, { email: 'no@one.io', password: 'whatever1' }), 401);
  assert.equal(nobody.detail, p.detail, 'unknown emails and wrong passwords look the same');
});

test('invalid, expired and forged JWTs are 401', async () => {
  const secret = readJwtSecret(s.dir);
  const now = Math.floor(Date.now() / 1000);
  const claims = { sub: '1', iss: 'atelier', tier: 'admin', role: 'admin', iat: now, exp: now + 600 };
  const good = sign(secret, { alg: 'HS256', typ: 'JWT' }, claims);
  assert.equal((await fetch(`${s.url}/v1/me`, { headers: { Authorization: `Bearer ${good}` } })).status, 200,
    'a correctly signed token is accepted (the forgeries below differ in one thing each)');
  const cases = {
    expired: sign(secret, { alg: 'HS256' }, { ...claims, exp: now - 5 }),
    'alg none': `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`,
    'wrong key': sign('not-the-server-secret-but-long-enough!!', { alg: 'HS256' }, claims),
    'other issuer': sign(secret, { alg: 'HS256' }, { ...claims, iss: 'someone-else' }),
    'alg HS512 header': sign(secret, { alg: 'HS512' }, claims),
    tampered: good.split('.').map((part, i) => (i === 1 ? b64({ ...claims, sub: '2' }) : part)).join('.'),
    garbage: 'not.a.jwt',
  };
  for (const [name, token] of Object.entries(cases)) {
    const r = await fetch(`${s.url}/v1/me`, { headers: { Authorization: `Bearer ${token}` } });
    const b = await expectProblem(assert, r, 401);
    assert.equal(r.headers.get('www-authenticate'), 'Bearer', name);
    assert.ok(b.detail.length > 0, name);
  }
  await expectProblem(assert, await fetch(`${s.url}/v1/me`, { headers: { Authorization: 'Basic dXNlcjpwYXNz' } }), 401);
});

test('API keys: CLI key works via Bearer and X-API-Key; revocation stops it', async () => {
  const key = createKey(s, 'premium', 'cli');
  assert.match(key, /^atl_[A-Za-z0-9]+_[A-Za-z0-9]+$/);
  const a = await json(await fetch(`${s.url}/v1/me`, { headers: { Authorization: `Bearer ${key}` } }));
  assert.equal(a.tier, 'premium');
  assert.equal((await fetch(`${s.url}/v1/me`, { headers: { 'X-API-Key': key } })).status, 200);

  // Revoked by another process (the CLI): effective within the key cache TTL (2 s).
  const r = s.cli(['keys', 'revoke', String(keyId(s, key))]);
  assert.equal(r.code, 0, r.stderr);
  await sleep(2100);
  const b = await expectProblem(assert, await fetch(`${s.url}/v1/me`, { headers: { 'X-API-Key': key } }), 401);
  assert.match(b.detail, /revoked/);
  assert.match(s.cli(['keys', 'list']).stdout, /revoked/);
});

// Polls until `f` is true, never past 30 s (the condition itself, not a fixed sleep).
async function until(f) {
  for (let i = 0; i < 300; ++i) {
    if (await f()) return true;
    await sleep(100);
  }
  return false;
}

test('issue 25: users list, disable, enable and set-tier from the CLI reach keys and tokens', async () => {
  const email = 'ops-user@example.com';
  const made = runCli(['users', 'create', '--email', email, '--password-stdin'], s.env, 'a long passphrase\n');
  assert.equal(made.code, 0, made.stderr);
  const keyOut = s.cli(['keys', 'create', '--name', 'ops', '--tier', 'premium', '--user', email]);
  assert.equal(keyOut.code, 0, keyOut.stderr);
  const key = keyOut.stdout.trim().split('\n').pop();
  const me = () => fetch(`${s.url}/v1/me`, { headers: { 'X-API-Key': key } });
  assert.equal((await me()).status, 200);
  const list = s.cli(['users', 'list']);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, new RegExp(`\\t${email}\\tauthenticated\\tuser\\tactive$`, 'm'));

  assert.equal(s.cli(['users', 'disable', email]).code, 0);
  assert.match(s.cli(['users', 'list']).stdout, new RegExp(`\\t${email}\\t.*\\tdisabled$`, 'm'));
  assert.ok(await until(async () => (await me()).status === 401), "a disabled user's key is refused");
  const refused = await expectProblem(assert, await me(), 401);
  assert.match(refused.detail, /disabled/);
  const login = () => post(`${s.url}/v1/auth/login`, { email, password: 'a long passphrase' });
  assert.equal((await login()).status, 401);

  assert.equal(s.cli(['users', 'enable', email]).code, 0);
  assert.ok(await until(async () => (await me()).status === 200), 'enabled again, the key answers');
  const set = s.cli(['users', 'set-tier', email, 'premium']);
  assert.equal(set.code, 0, set.stderr);
  const token = (await json(await login())).access_token;
  const who = await json(await fetch(`${s.url}/v1/me`, { headers: { Authorization: `Bearer ${token}` } }));
  assert.equal(who.tier, 'premium');
  assert.equal(s.cli(['users', 'set-tier', email, 'platinum']).code, 2);
  assert.equal(s.cli(['users', 'disable', 'nobody@example.com']).code, 1);
});

test('admin routes: keys made and revoked over HTTP take effect at once; others get 403', async () => {
  const admin = createKey(s, 'admin', 'root');
  const user = createKey(s, 'free', 'plain');
  await expectProblem(assert, await fetch(`${s.url}/v1/admin/keys`, { headers: { 'X-API-Key': user } }), 403);
  await expectProblem(assert, await fetch(`${s.url}/v1/admin/keys`), 401);

  const made = await post(`${s.url}/v1/admin/keys`, { name: 'svc', tier: 'authenticated' }, { 'X-API-Key': admin });
  assert.equal(made.status, 201);
  const k = await json(made);
  assert.equal((await fetch(`${s.url}/v1/me`, { headers: { 'X-API-Key': k.key } })).status, 200);
  const list = await json(await fetch(`${s.url}/v1/admin/keys`, { headers: { 'X-API-Key': admin } }));
  assert.ok(list.keys.some((x) => x.id === k.id));
  assert.ok(!JSON.stringify(list).includes(k.key), 'listings never show secrets');

  const del = await fetch(`${s.url}/v1/admin/keys/${k.id}`, { method: 'DELETE', headers: { 'X-API-Key': admin } });
  assert.equal(del.status, 204);
  await expectProblem(assert, await fetch(`${s.url}/v1/me`, { headers: { 'X-API-Key': k.key } }), 401);
  await expectProblem(assert, await fetch(`${s.url}/v1/admin/keys/${k.id}`, { method: 'DELETE', headers: { 'X-API-Key': admin } }), 404);
  await expectProblem(assert, await fetch(`${s.url}/v1/admin/keys/abc`, { method: 'DELETE', headers: { 'X-API-Key': admin } }), 400);
  await expectProblem(assert, await post(`${s.url}/v1/admin/keys`, { tier: 'platinum' }, { 'X-API-Key': admin }), 400);
});

test('users create their own keys with their tier', async () => {
  const reg = await json(await post(`${s.url}/v1/auth/register`, { email: 'own@keys.io', password: 'long password' }));
  const made = await post(`${s.url}/v1/keys`, { name: 'laptop' }, { Authorization: `Bearer ${reg.access_token}` });
  assert.equal(made.status, 201);
  const k = await json(made);
  assert.equal(k.tier, 'authenticated');
  const me = await json(await fetch(`${s.url}/v1/me`, { headers: { 'X-API-Key': k.key } }));
  assert.equal(me.identity, `user:${reg.user.id}`, 'a user key shares the user identity (and quota)');
  const service = createKey(s, 'free', 'service');
  await expectProblem(assert, await post(`${s.url}/v1/keys`, {}, { 'X-API-Key': service }), 403);
});

test('production profile: no anonymous callers, detailed health is admin-only', async () => {
  const p = await startServer({
    ATELIER_CONFIG: `${process.env.ATELIER_SOURCE_DIR || '.'}/config/production.env`,
    ATELIER_JWT_SECRET: 'p'.repeat(48),
    ATELIER_HOST: '127.0.0.1',
    ATELIER_TRUST_FORWARDED_FOR: 'false',
  });
  try {
    await expectProblem(assert, await fetch(`${p.url}/v1/rate-limit/status`), 401);
    await expectProblem(assert, await fetch(`${p.url}/health/detailed`), 401);
    const admin = createKey(p, 'admin', 'ops');
    assert.equal((await fetch(`${p.url}/health/detailed`, { headers: { 'X-API-Key': admin } })).status, 200);
    assert.equal((await fetch(`${p.url}/health`)).status, 200);
    const st = await json(await fetch(`${p.url}/v1/rate-limit/status`, { headers: { 'X-API-Key': admin } }));
    assert.equal(st.limits.find((l) => l.name === 'identity_minute').limit, 60);
  } finally {
    await p.stop();
  }
});

test('CLI: common flags work after the subcommand, as people type them', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'atelier-cli-'));
  try {
    const env = { ...process.env };
    delete env.ATELIER_DATA_DIR;
    const made = runCli(['keys', 'create', '--tier', 'free', '--name', 'late', '--data-dir', dir], env);
    assert.equal(made.code, 0, made.stderr);
    assert.ok(existsSync(join(dir, 'atelier.db')), 'the key went to the data dir named after the subcommand');
    const before = runCli(['--data-dir', dir, 'keys', 'list'], env);
    assert.equal(before.code, 0, before.stderr);
    assert.match(before.stdout, /late/);
    const migrated = runCli(['migrate', '--data-dir', dir], env);
    assert.equal(migrated.code, 0, migrated.stderr);
    assert.notEqual(runCli(['keys', 'create', '--no-such-flag', 'x', '--data-dir', dir], env).code, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
