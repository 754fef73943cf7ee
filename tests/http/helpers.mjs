// Starts the real build/atelier on an ephemeral port with a temporary data
// dir, and speaks HTTP to it. Every test file uses its own server(s).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const BIN = process.env.ATELIER_BIN || path.resolve('build/atelier');
export const SOURCE_DIR = process.env.ATELIER_SOURCE_DIR || path.resolve('.');

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// The database backend: SQLite in the data dir, or (ATELIER_TEST_BACKEND=
// postgres) a fresh database per data dir on the PostgreSQL server that
// ATELIER_TEST_POSTGRES_URL names (the test command starts a throwaway one).
export const BACKEND = process.env.ATELIER_TEST_BACKEND || 'sqlite';
const databases = new Map();  // data dir -> database URL
function databaseFor(dir) {
  if (BACKEND !== 'postgres') return undefined;
  const base = process.env.ATELIER_TEST_POSTGRES_URL;
  if (!base) throw new Error('ATELIER_TEST_BACKEND=postgres needs ATELIER_TEST_POSTGRES_URL');
  if (!databases.has(dir)) {
    const name = `t_${process.pid}_${databases.size}_${Math.random().toString(16).slice(2, 8)}`;
    const r = spawnSync('psql', [base, '-qc', `CREATE DATABASE ${name}`], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`cannot create database ${name}: ${r.stderr}`);
    const u = new URL(base);
    u.pathname = `/${name}`;
    databases.set(dir, u.toString());
  }
  return databases.get(dir);
}

// Fast password hashing for tests that register many users; the default
// (argon2id, 64 MiB) is exercised by the tests that need it.
const FAST = { ATELIER_ARGON2_OPS: '1', ATELIER_ARGON2_MEM_KIB: '8192' };

// Whether the suite runs against a cluster (below): tests that read one
// process's own state (its log, metrics, loaded indexes, files) skip then.
export const CLUSTER = process.env.ATELIER_TEST_CLUSTER === '1';

// ATELIER_TEST_CLUSTER=1 runs a suite against a cluster instead: three
// replicas behind nginx with PostgreSQL and Redis (cluster.mjs); the server
// object's url is nginx's and its cli talks to the shared database.
export async function startServer(env = {}, opts = {}) {
  if (process.env.ATELIER_TEST_CLUSTER === '1' && !opts.replica) {
    const { startCluster } = await import('./cluster.mjs');
    const c = await startCluster({ replicas: 3, env, dataDir: opts.dataDir });
    const first = c.servers[0];
    return { ...first, url: c.url, port: c.nginx.port, cluster: c, stop: (o) => c.stop(o) };
  }
  return startReplica(env, opts);
}

export async function startReplica(env = {}, { fast = true, dataDir } = {}) {
  const dir = dataDir || mkdtempSync(path.join(os.tmpdir(), 'atelier-test-'));
  const port = await freePort();
  const fullEnv = {
    ...process.env,
    ATELIER_DATA_DIR: dir,
    ATELIER_PORT: String(port),
    ATELIER_HOST: '127.0.0.1',
    ATELIER_LOG_LEVEL: 'info',
    ATELIER_DATABASE_URL: databaseFor(dir),
    ...(fast ? FAST : {}),
    ...env,
  };
  delete fullEnv.ATELIER_BIN;
  delete fullEnv.ATELIER_SOURCE_DIR;
  for (const k of Object.keys(fullEnv)) if (fullEnv[k] === undefined) delete fullEnv[k];
  const proc = spawn(BIN, ['serve'], { env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  proc.stdout.on('data', (d) => (out.stdout += d));
  proc.stderr.on('data', (d) => (out.stderr += d));
  const exited = new Promise((resolve) =>
    proc.on('exit', (code, signal) => {
      // A server that exits non-zero says why on stderr: show it with the failure.
      if (code !== 0 && code !== null) process.stderr.write(`atelier exited ${code}:\n${out.stderr.slice(-4000)}\n`);
      resolve({ code, signal });
    }));
  const url = `http://127.0.0.1:${port}`;
  // The condition itself, with a bound generous enough for a machine that is
  // building and testing other copies at once (three replicas loading their
  // models together took over 15 s there); a server that never comes up is
  // killed, so that the test fails instead of hanging on it.
  const deadline = Date.now() + 120000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`server exited early: ${out.stderr}${out.stdout}`);
    try {
      const r = await fetch(`${url}/health/live`);
      if (r.ok) break;
    } catch {}
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`server did not start within 120 s: ${out.stderr.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    port,
    dir,
    proc,
    out,
    env: fullEnv,
    exited,
    cli(args, input) {
      return runCli(args, fullEnv, input);
    },
    async stop({ keepData = false } = {}) {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      const r = await exited;
      if (!keepData && !dataDir) rmSync(dir, { recursive: true, force: true });
      return r;
    },
  };
}

export function runCli(args, env, input) {
  const r = spawnSync(BIN, args, { env, input, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

// Creates a key with the CLI; the key is alone on the last line of stdout.
export function createKey(server, tier = 'free', name = 'test') {
  const r = server.cli(['keys', 'create', '--tier', tier, '--name', name]);
  if (r.code !== 0) throw new Error(`keys create failed: ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  return lines[lines.length - 1];
}

export function keyId(server, key) {
  const r = server.cli(['keys', 'list']);
  const prefix = key.split('_')[1];
  const row = r.stdout.split('\n').find((l) => l.split('\t')[1] === prefix);
  return Number(row.split('\t')[0]);
}

export async function json(res) {
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`not JSON (${res.status}): ${text.slice(0, 200)}`);
  }
}

// Asserts an RFC 9457 problem response and returns its body.
export async function expectProblem(assert, res, status) {
  assert.equal(res.status, status, `expected ${status}`);
  assert.match(res.headers.get('content-type') || '', /^application\/problem\+json/);
  const body = await json(res);
  assert.equal(body.status, status);
  assert.equal(typeof body.title, 'string');
  assert.equal(typeof body.detail, 'string');
  assert.ok(body.type.startsWith('urn:atelier:problem:'));
  assert.equal(body.request_id, res.headers.get('x-request-id'));
  return body;
}

// Raw HTTP/1.1 over a socket, for what fetch cannot express (huge declared
// bodies, abandoned requests, idle connections).
export function rawRequest(port, text, { timeoutMs = 5000 } = {}) {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let data = '';
    let done = false;
    const finish = (how) => {
      if (done) return;
      done = true;
      sock.destroy();
      resolve({ data, how });
    };
    sock.setTimeout(timeoutMs, () => finish('timeout'));
    sock.on('data', (d) => {
      data += d;
    });
    sock.on('end', () => finish('end'));
    sock.on('close', () => finish('close'));
    sock.on('error', () => finish('error'));
    sock.write(text);
  });
}

export function readJwtSecret(dir) {
  return readFileSync(path.join(dir, 'jwt.secret'), 'utf8').trim();
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
