// bench/scale: GET /v1/me throughput through nginx with one and with three
// replicas (PostgreSQL, Redis, nginx from Debian; tests/http/cluster.mjs),
// measured with wrk in one run; then one replica against its peer, a FastAPI
// replica running the same checks in the same Redis (fastapi_limits.py), both
// without nginx; then the per-check cost of the limiter and quota in-process
// and in Redis (build/bench/bench_scale_limits).
// Usage (from the repository root, after a build):
//   d=$(mktemp -d); chmod 755 $d; export ATELIER_TEST_POSTGRES_URL=$(scripts/pg-cluster.sh start $d)
//   node bench/scale/run.mjs; scripts/pg-cluster.sh stop $d
import { spawn, spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { createKey, freePort, sleep, SOURCE_DIR } from '../../tests/http/helpers.mjs';
import { startCluster } from '../../tests/http/cluster.mjs';

if (!process.env.ATELIER_TEST_POSTGRES_URL) {
  console.error('needs ATELIER_TEST_POSTGRES_URL (scripts/pg-cluster.sh start DIR)');
  process.exit(2);
}
const seconds = Number(process.env.BENCH_SECONDS || 10);
const cores = os.cpus().length;
console.log(`cpu: ${cores} cores (nginx, wrk, Redis, PostgreSQL and every replica share them)`);

function wrk(url, key) {
  const r = spawnSync('wrk', ['-t2', '-c64', `-d${seconds}s`, '--latency', '-H', `Authorization: Bearer ${key}`, url], { encoding: 'utf8' });
  const rps = r.stdout.match(/Requests\/sec:\s+([\d.]+)/)?.[1];
  const p50 = r.stdout.match(/50%\s+([\d.]+\w+)/)?.[1];
  const p99 = r.stdout.match(/99%\s+([\d.]+\w+)/)?.[1];
  const errors = r.stdout.match(/Non-2xx or 3xx responses: (\d+)/)?.[1] ?? '0';
  return `${rps} req/s, p50 ${p50}, p99 ${p99}, non-2xx ${errors}`;
}

// FastAPI at its best: async handlers on uvicorn with uvloop and httptools, one worker per core.
async function startPeer(key, redisUrl) {
  const port = await freePort();
  const proc = spawn('/usr/bin/python3', ['-m', 'uvicorn', 'fastapi_limits:app', '--host', '127.0.0.1', '--port', String(port),
    '--workers', String(cores), '--loop', 'uvloop', '--http', 'httptools', '--log-level', 'warning', '--no-access-log'],
  { cwd: path.join(SOURCE_DIR, 'bench/scale'), env: { ...process.env, BENCH_KEY: key, BENCH_REDIS_URL: redisUrl }, stdio: 'inherit' });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`${url}/v1/me`, { headers: { authorization: `Bearer ${key}` } })).status === 200) return { url, proc };
    } catch {}
    await sleep(50);
  }
  proc.kill();
  throw new Error('the FastAPI peer did not start');
}

// [replicas, network threads each (0: the default, 4 with Redis)].
const plan = process.env.BENCH_PLAN ? JSON.parse(process.env.BENCH_PLAN) : [[1, 1], [1, 0], [3, 0]];
for (const [replicas, io] of plan) {
  const c = await startCluster({ replicas, env: { ATELIER_IDENTITY_RATE_LIMIT_PER_MINUTE: '0', ATELIER_LOG_LEVEL: 'warn', ATELIER_IO_THREADS: String(io) } });
  try {
    const key = createKey(c, 'admin', 'bench');
    for (let i = 0; i < 200; i++) await fetch(`${c.url}/v1/me`, { headers: { authorization: `Bearer ${key}` } });
    const threads = io || 4;
    console.log(`GET /v1/me through nginx, ${replicas} replica(s), ${threads} network thread(s) each, 64 connections, ${seconds} s: ${wrk(`${c.url}/v1/me`, key)}`);
    if (replicas === 1 && io === 0) {
      console.log(`GET /v1/me direct, atelier (1 process, ${threads} network threads), Redis checks: ${wrk(`${c.servers[0].url}/v1/me`, key)}`);
      const peer = await startPeer(key, c.redis.url);
      try {
        console.log(`GET /v1/me direct, FastAPI + redis.asyncio (${cores} uvicorn workers), Redis checks: ${wrk(`${peer.url}/v1/me`, key)}`);
      } finally {
        peer.proc.kill('SIGTERM');
        await new Promise((r) => peer.proc.once('exit', r));
      }
    }
  } finally {
    await c.stop();
  }
}
const limits = spawnSync('build/bench/bench_scale_limits', ['20000'], { encoding: 'utf8' });
process.stdout.write(limits.stdout + limits.stderr);
