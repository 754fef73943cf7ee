// Rate limits, blocks and daily quotas through the real server, including the
// race for the last units and survival of usage across a restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startServer, json, expectProblem, createKey } from './helpers.mjs';

test('per-identity limit: headers count down, 429 names the limit, others unaffected', async () => {
  const s = await startServer({ ATELIER_IDENTITY_RATE_LIMIT_PER_MINUTE: '5', ATELIER_BLOCK_AFTER_VIOLATIONS: '0' });
  try {
    const a = createKey(s, 'free', 'a');
    const b = createKey(s, 'free', 'b');
    const remaining = [];
    for (let i = 0; i < 5; i++) {
      const r = await fetch(`${s.url}/v1/me`, { headers: { 'X-API-Key': a } });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('ratelimit-limit') !== null, true);
      remaining.push(Number(r.headers.get('ratelimit-remaining')));
      await r.arrayBuffer();
    }
    assert.deepEqual(remaining, [4, 3, 2, 1, 0]);
    const r = await fetch(`${s.url}/v1/me`, { headers: { 'X-API-Key': a } });
    const p = await expectProblem(assert, r, 429);
    assert.equal(p.limit, 'identity_minute');
    const retry = Number(r.headers.get('retry-after'));
    assert.ok(retry >= 1 && retry <= 60, `Retry-After ${retry}`);
    assert.equal(r.headers.get('ratelimit-remaining'), '0');
    assert.equal(Number(r.headers.get('ratelimit-reset')), retry);
    assert.equal((await fetch(`${s.url}/v1/me`, { headers: { 'X-API-Key': b } })).status, 200);
    // the status endpoint reports without counting
    const st = await json(await fetch(`${s.url}/v1/rate-limit/status`, { headers: { 'X-API-Key': a } }));
    assert.equal(st.limits.find((l) => l.name === 'identity_minute').remaining, 0);
    assert.equal(st.blocked, false);
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    assert.match(metrics, /rate_limit_exceeded_total\{limit="identity_minute",user_type="free"\} 1/);
  } finally {
    await s.stop();
  }
});

test('repeated violations block the caller for the block duration', async () => {
  const s = await startServer({
    ATELIER_IDENTITY_RATE_LIMIT_PER_MINUTE: '2',
    ATELIER_BLOCK_AFTER_VIOLATIONS: '3',
    ATELIER_BLOCK_DURATION_SECONDS: '600',
  });
  try {
    const k = createKey(s, 'authenticated', 'spammy');
    const statuses = [];
    for (let i = 0; i < 6; i++) {
      const r = await fetch(`${s.url}/v1/me`, { headers: { 'X-API-Key': k } });
      statuses.push(r.status);
      const b = await r.json();
      if (i === 5) {
        assert.equal(b.limit, 'blocked');
        assert.ok(Number(r.headers.get('retry-after')) > 500, 'blocked for about the block duration');
      }
    }
    assert.deepEqual(statuses, [200, 200, 429, 429, 429, 429]);
    const st = await json(await fetch(`${s.url}/v1/rate-limit/status`, { headers: { 'X-API-Key': k } }));
    assert.equal(st.blocked, true);
    assert.ok(st.blocked_for_s > 500);
  } finally {
    await s.stop();
  }
});

test('global per-minute limit applies to all callers together', async () => {
  const s = await startServer({ ATELIER_RATE_LIMIT_PER_MINUTE: '3', ATELIER_IDENTITY_RATE_LIMIT_PER_MINUTE: '0' });
  try {
    const keys = [createKey(s), createKey(s), createKey(s), createKey(s)];
    const codes = [];
    for (const k of keys) codes.push((await fetch(`${s.url}/v1/me`, { headers: { 'X-API-Key': k } })).status);
    assert.deepEqual(codes, [200, 200, 200, 429]);
    const p = await json(await fetch(`${s.url}/v1/me`, { headers: { 'X-API-Key': keys[0] } }));
    assert.equal(p.limit, 'global_minute');
  } finally {
    await s.stop();
  }
});

test('anonymous callers are limited by client IP as tier free', async () => {
  const s = await startServer({ ATELIER_IDENTITY_RATE_LIMIT_PER_MINUTE: '3' });
  try {
    const st = await json(await fetch(`${s.url}/v1/rate-limit/status`));
    assert.equal(st.identity, 'ip:127.0.0.1');
    assert.equal(st.tier, 'free');
    // login is open but limited per IP: a password-guessing loop hits 429
    const codes = [];
    for (let i = 0; i < 4; i++) {
      const r = await fetch(`${s.url}/v1/auth/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ email: 'x@y.io', password: `guess-${i}-guess` }),
      });
      codes.push(r.status);
      await r.arrayBuffer();
    }
    assert.deepEqual(codes, [401, 401, 401, 429]);
  } finally {
    await s.stop();
  }
});

test('failed credentials count against the client IP: guessing runs into 429 and the block', async () => {
  const s = await startServer({
    ATELIER_IDENTITY_RATE_LIMIT_PER_MINUTE: '3',
    ATELIER_BLOCK_AFTER_VIOLATIONS: '2',
    ATELIER_BLOCK_DURATION_SECONDS: '600',
  });
  try {
    const codes = [];
    for (let i = 0; i < 6; i++) {
      const r = await fetch(`${s.url}/v1/me`, { headers: { 'X-API-Key': `atl_guess_${i}xxxxxxxxxxxxxxxx` } });
      codes.push(r.status);
      await r.arrayBuffer();
    }
    assert.deepEqual(codes, [401, 401, 401, 429, 429, 429]);
    const st = await json(await fetch(`${s.url}/v1/rate-limit/status`));
    assert.equal(st.identity, 'ip:127.0.0.1');
    assert.equal(st.blocked, true, 'repeated guessing blocks the address');
    // A valid key from the same address still works: it is a different identity.
    const k = createKey(s, 'free', 'legit');
    assert.equal((await fetch(`${s.url}/v1/me`, { headers: { 'X-API-Key': k } })).status, 200);
  } finally {
    await s.stop();
  }
});

// Many independent connections at once, so the requests really race.
function burst(url, n, headers) {
  const agent = new http.Agent({ keepAlive: false, maxSockets: n });
  return Promise.all(
    Array.from({ length: n }, () =>
      new Promise((resolve, reject) => {
        const req = http.get(url, { agent, headers }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode));
        });
        req.on('error', reject);
      }),
    ),
  );
}

test('daily quota is exact when 100 clients race for the last units, and survives a restart', async () => {
  const s = await startServer(
    { ATELIER_FREE_DAILY_LIMIT: '60', ATELIER_IDENTITY_RATE_LIMIT_PER_MINUTE: '0', ATELIER_IO_THREADS: '2' },
  );
  let dir;
  try {
    const k = createKey(s, 'free', 'racer');
    // Use 10 units first so the race is for the last 50.
    for (let i = 0; i < 10; i++) assert.equal((await fetch(`${s.url}/v1/me`, { headers: { 'X-API-Key': k } })).status, 200);
    const codes = await burst(`${s.url}/v1/me`, 100, { 'X-API-Key': k });
    const ok = codes.filter((c) => c === 200).length;
    const limited = codes.filter((c) => c === 429).length;
    assert.equal(ok, 50, 'exactly the remaining quota was granted');
    assert.equal(limited, 50);
    const r = await fetch(`${s.url}/v1/me`, { headers: { 'X-API-Key': k } });
    const p = await expectProblem(assert, r, 429);
    assert.equal(p.limit, 'daily_quota');
    const retry = Number(r.headers.get('retry-after'));
    assert.ok(retry > 0 && retry <= 86400);
    const st = await json(await fetch(`${s.url}/v1/rate-limit/status`, { headers: { 'X-API-Key': k } }));
    assert.equal(st.daily_quota.used, 60);
    assert.equal(st.daily_quota.remaining, 0);
    dir = s.dir;
    const { code } = await s.stop({ keepData: true });
    assert.equal(code, 0);

    // Same data dir, new process: the usage was written at shutdown.
    const again = await startServer({ ATELIER_FREE_DAILY_LIMIT: '60' }, { dataDir: dir });
    try {
      await expectProblem(assert, await fetch(`${again.url}/v1/me`, { headers: { 'X-API-Key': k } }), 429);
      const st2 = await json(await fetch(`${again.url}/v1/rate-limit/status`, { headers: { 'X-API-Key': k } }));
      assert.equal(st2.daily_quota.used, 60);
    } finally {
      await again.stop();
    }
  } finally {
    if (s.proc.exitCode === null) await s.stop();
  }
});

test('refused requests are not charged; admin is unlimited by default', async () => {
  const s = await startServer({ ATELIER_PREMIUM_DAILY_LIMIT: '5' });
  try {
    const admin = createKey(s, 'admin', 'a');
    const prem = createKey(s, 'premium', 'p');
    // /v1/me costs 1: five calls use the quota up
    for (let i = 0; i < 5; i++) assert.equal((await fetch(`${s.url}/v1/me`, { headers: { 'X-API-Key': prem } })).status, 200);
    await expectProblem(assert, await fetch(`${s.url}/v1/me`, { headers: { 'X-API-Key': prem } }), 429);
    const st = await json(await fetch(`${s.url}/v1/rate-limit/status`, { headers: { 'X-API-Key': prem } }));
    assert.equal(st.daily_quota.used, 5, 'the refused request was not counted');
    const adm = await json(await fetch(`${s.url}/v1/me`, { headers: { 'X-API-Key': admin } }));
    assert.equal(adm.usage_today.limit, 0, 'admin is unlimited by default');
  } finally {
    await s.stop();
  }
});
