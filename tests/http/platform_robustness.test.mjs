// Bad input and overload: each is answered with its documented status and a
// problem body while the server stays up; shutdown drains in-flight work.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startServer, json, expectProblem, rawRequest, sleep } from './helpers.mjs';

const post = (url, body, type = 'application/json') =>
  fetch(url, { method: 'POST', headers: type ? { 'Content-Type': type } : {}, body });

async function stillUp(s) {
  const r = await fetch(`${s.url}/health`);
  assert.equal(r.status, 200, 'server still answers');
}

test('malformed, deeply nested, empty and wrongly typed bodies are 4xx problems', async () => {
  const s = await startServer();
  try {
    const url = `${s.url}/v1/auth/register`;
    const cases = [
      ['{"email": "a@b.co", "password": ', 'application/json', 400, /not valid JSON/],
      ['[' .repeat(200000) + ']'.repeat(200000), 'application/json', 400, /nested deeper/],
      ['', 'application/json', 400, /empty/],
      ['{"email":"a@b.co","password":"xxxxxxxxx"}', 'text/plain', 415, /application\/json/],
      ['{"email":"a@b.co","password":"xxxxxxxxx"}', null, 415, /application\/json/],
      ['"just a string"', 'application/json', 400, /JSON object/],
      ['{"email":["a"],"password":"xxxxxxxxx"}', 'application/json', 400, /must be a string/],
      ['\u0000\u0001\u00ff', 'application/json', 400, /not valid JSON/],
    ];
    for (const [body, type, status, detail] of cases) {
      const b = await expectProblem(assert, await post(url, body, type), status);
      assert.match(b.detail, detail);
    }
    await stillUp(s);
  } finally {
    await s.stop();
  }
});

test('bodies over the limit get 413 with a problem body; far larger ones are cut off unread', async () => {
  const s = await startServer({ ATELIER_MAX_BODY_BYTES: String(64 * 1024) });
  try {
    const big = 'x'.repeat(100 * 1024);
    const r = await post(`${s.url}/v1/auth/register`, big);
    const b = await expectProblem(assert, r, 413);
    assert.equal(b.limit_bytes, 64 * 1024);
    assert.match(b.detail, /exceeds the limit/);
    // Beyond the transport cap (2x the limit) the server answers 413 and
    // closes the connection as soon as the headers declare the size, without
    // reading the body.
    const raw = await rawRequest(
      s.port,
      `POST /v1/auth/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${10 * 1024 * 1024}\r\n\r\n`,
    );
    assert.notEqual(raw.how, 'timeout');
    assert.match(raw.data, /^HTTP\/1\.1 413 /, 'answered 413 without reading 10 MiB');
    await stillUp(s);
  } finally {
    await s.stop();
  }
});

test('connections beyond the cap are refused at once; idle ones hit the read timeout; the server stays up', async () => {
  const s = await startServer({ ATELIER_MAX_CONNECTIONS: '4', ATELIER_READ_TIMEOUT_SECONDS: '2' });
  try {
    // The readiness poll of startServer has closed its connection by now.
    await sleep(100);
    const idle = await Promise.all(
      Array.from({ length: 4 }, () => new Promise((resolve) => {
        const c = net.connect(s.port, '127.0.0.1', () => resolve(c));
        c.closedAt = null;
        c.on('close', () => { c.closedAt = Date.now(); });
        c.on('error', () => {});
      })),
    );
    await sleep(100);
    // A fifth connection is closed without an answer (not left hanging).
    const fifth = await rawRequest(s.port, 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n', { timeoutMs: 30000 });
    assert.notEqual(fifth.how, 'timeout', 'refused, not left hanging');
    assert.equal(fifth.data, '');
    // The idle connections are closed by the server after the read timeout...
    const end = Date.now() + 30000;
    while (idle.some((c) => c.closedAt === null) && Date.now() < end) await sleep(50);
    for (const c of idle) assert.ok(c.closedAt !== null, 'idle connection closed by the read timeout');
    // ...which frees their slots.
    const again = await rawRequest(s.port, 'GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.match(again.data, /^HTTP\/1\.1 200/);
    await stillUp(s);
  } finally {
    await s.stop();
  }
});

test('a full work queue answers 503 with Retry-After at once', async () => {
  // One worker, one queue slot, real argon2id (64 MiB): a burst overflows.
  const s = await startServer({ ATELIER_WORKERS: '1', ATELIER_QUEUE_CAPACITY: '1' }, { fast: false });
  try {
    const body = JSON.stringify({ email: 'q@q.io', password: 'some password' });
    const results = await Promise.all(
      Array.from({ length: 8 }, () =>
        fetch(`${s.url}/v1/auth/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body }).then(
          async (r) => ({ status: r.status, retry: r.headers.get('retry-after'), body: await r.json() }),
        )),
    );
    const unavailable = results.filter((r) => r.status === 503);
    assert.ok(unavailable.length >= 1, `some 503s: ${results.map((r) => r.status)}`);
    for (const r of unavailable) {
      assert.equal(r.retry, '1');
      assert.match(r.body.detail, /queue is full/);
    }
    assert.ok(results.some((r) => r.status === 401), 'the admitted ones were served');
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    assert.match(metrics, /atelier_work_rejected_total\{pool="cpu"\} [1-9]/);
    await stillUp(s);
  } finally {
    await s.stop();
  }
});

test('readiness turns 503 naming the work queue while it is saturated', async () => {
  // argon2id with 256 MiB: each task takes a few hundred ms, a wide window.
  const s = await startServer({ ATELIER_WORKERS: '1', ATELIER_QUEUE_CAPACITY: '2', ATELIER_ARGON2_MEM_KIB: '262144' },
    { fast: false });
  try {
    const body = JSON.stringify({ email: 'busy@q.io', password: 'some password' });
    const login = () => fetch(`${s.url}/v1/auth/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
    const pool = async () => (await json(await fetch(`${s.url}/health/detailed`))).work_pool;
    const waitFor = async (pred) => {
      for (let i = 0; i < 400; i++) {
        if (pred(await pool())) return;
        await sleep(5);
      }
      throw new Error('pool never reached the expected state');
    };
    const first = login();
    await waitFor((p) => p.active === 1);
    const queued = [login(), login()];
    await waitFor((p) => p.queued === 2);
    const r = await fetch(`${s.url}/health/ready`);
    const p = await expectProblem(assert, r, 503);
    assert.match(p.detail, /work_queue/);
    assert.equal(p.components.work_queue.status, 'down');
    assert.equal(p.components.database.status, 'up');
    await Promise.all([first, ...queued]);
    assert.equal((await fetch(`${s.url}/health/ready`)).status, 200, 'ready again once drained');
  } finally {
    await s.stop();
  }
});

test('the request deadline flows through the queue: work that waited too long is 504 by the deadline, not run', async () => {
  const s = await startServer({ ATELIER_WORKERS: '1', ATELIER_QUEUE_CAPACITY: '64', ATELIER_REQUEST_TIMEOUT_SECONDS: '1' },
    { fast: false });
  try {
    const body = JSON.stringify({ email: 'late@q.io', password: 'some password' });
    const results = await Promise.all(Array.from({ length: 40 }, () => {
      return fetch(`${s.url}/v1/auth/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body })
        .then(async (r) => ({ status: r.status, body: await r.json() }));
    }));
    const late = results.filter((r) => r.status === 504);
    assert.ok(late.length >= 1, `some requests passed their deadline in the queue: ${results.map((r) => r.status)}`);
    // No timing is asserted (the machine may be busy): what happened to the
    // work is counted.
    for (const r of late) assert.match(r.body.detail, /deadline/);
    // Answered at the deadline, the queued ones are then dropped unrun. A 504
    // whose work had started in time runs to its end (work is checked between
    // steps) and is counted as overran; every 504 is one or the other.
    const counter = (m, name) => Number(new RegExp(`${name}\\{pool="cpu"\\} (\\d+)`).exec(m)[1]);
    let expired = 0;
    let overran = 0;
    for (let i = 0; i < 100 && expired + overran < late.length; i++) {
      const metrics = await (await fetch(`${s.url}/metrics`)).text();
      expired = counter(metrics, 'atelier_work_expired_total');
      overran = counter(metrics, 'atelier_work_overran_total');
      await sleep(50);
    }
    assert.ok(expired >= 1, `queued work past its deadline was dropped unrun (${expired})`);
    assert.ok(expired <= late.length, `${expired} dropped unrun for ${late.length} 504s`);
    assert.ok(expired + overran >= late.length,
      `every 504 is work dropped unrun (${expired}) or work that ran past its deadline (${overran}), of ${late.length}`);
    await stillUp(s);
  } finally {
    await s.stop();
  }
});

test('work queued for a client that disconnected is dropped, not run', async () => {
  const s = await startServer({ ATELIER_WORKERS: '1', ATELIER_QUEUE_CAPACITY: '32' }, { fast: false });
  try {
    const body = JSON.stringify({ email: 'gone@q.io', password: 'some password' });
    const req = `POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    // Six logins (~0.1 s of argon2id each on one worker); the clients hang up at once.
    const socks = Array.from({ length: 6 }, () => {
      const c = net.connect(s.port, '127.0.0.1', () => c.write(req));
      c.on('error', () => {});
      return c;
    });
    await sleep(50);
    for (const c of socks) c.destroy();
    await sleep(1500);
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    const cancelled = Number(/atelier_work_cancelled_total\{pool="cpu"\} (\d+)/.exec(metrics)[1]);
    assert.ok(cancelled >= 3, `queued work of gone clients was skipped (${cancelled})`);
    const detailed = await json(await fetch(`${s.url}/health/detailed`));
    assert.ok(detailed.work_pool.completed + cancelled <= 6);
    await stillUp(s);
  } finally {
    await s.stop();
  }
});

test('SIGTERM: in-flight requests finish, new connections are refused, exit 0', async () => {
  const s = await startServer({ ATELIER_WORKERS: '1' }, { fast: false });
  const body = JSON.stringify({ email: 'drain@q.io', password: 'some password' });
  const inflight = Array.from({ length: 3 }, () =>
    fetch(`${s.url}/v1/auth/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body }));
  await sleep(30);
  s.proc.kill('SIGTERM');
  const answered = await Promise.all(inflight);
  for (const r of answered) assert.equal(r.status, 401, 'in-flight work completed during the drain');
  const { code } = await s.exited;
  assert.equal(code, 0);
  await assert.rejects(fetch(`${s.url}/health`), 'no longer accepting');
  assert.match(s.out.stdout, /"msg":"draining"/);
  assert.match(s.out.stdout, /"msg":"stopped"/);
  await s.stop();
});
