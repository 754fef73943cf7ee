// bench/scale: GET /v1/me throughput through nginx with one and with three
// replicas (PostgreSQL, Redis, nginx from Debian; tests/http/cluster.mjs),
// measured with wrk in one run, then the per-check cost of the limiter and
// quota in-process and in Redis (build/bench/bench_scale_limits).
// Usage (from the repository root, after a build):
//   d=$(mktemp -d); chmod 755 $d; export ATELIER_TEST_POSTGRES_URL=$(scripts/pg-cluster.sh start $d)
//   node bench/scale/run.mjs; scripts/pg-cluster.sh stop $d
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { createKey } from '../../tests/http/helpers.mjs';
import { startCluster } from '../../tests/http/cluster.mjs';

if (!process.env.ATELIER_TEST_POSTGRES_URL) {
  console.error('needs ATELIER_TEST_POSTGRES_URL (scripts/pg-cluster.sh start DIR)');
  process.exit(2);
}
const seconds = Number(process.env.BENCH_SECONDS || 10);
console.log(`cpu: ${os.cpus().length} cores (nginx, wrk, Redis, PostgreSQL and every replica share them)`);
for (const replicas of [1, 3]) {
  const c = await startCluster({ replicas, env: { ATELIER_IDENTITY_RATE_LIMIT_PER_MINUTE: '0', ATELIER_LOG_LEVEL: 'warn' } });
  try {
    const key = createKey(c, 'admin', 'bench');
    for (let i = 0; i < 200; i++) await fetch(`${c.url}/v1/me`, { headers: { authorization: `Bearer ${key}` } });
    const r = spawnSync('wrk', ['-t2', '-c64', `-d${seconds}s`, '--latency', '-H', `Authorization: Bearer ${key}`, `${c.url}/v1/me`], { encoding: 'utf8' });
    const rps = r.stdout.match(/Requests\/sec:\s+([\d.]+)/)?.[1];
    const p50 = r.stdout.match(/50%\s+([\d.]+\w+)/)?.[1];
    const p99 = r.stdout.match(/99%\s+([\d.]+\w+)/)?.[1];
    const errors = r.stdout.match(/Non-2xx or 3xx responses: (\d+)/)?.[1] ?? '0';
    console.log(`GET /v1/me through nginx, ${replicas} replica(s), 64 connections, ${seconds} s: ${rps} req/s, p50 ${p50}, p99 ${p99}, non-2xx ${errors}`);
  } finally {
    await c.stop();
  }
}
const limits = spawnSync('build/bench/bench_scale_limits', ['20000'], { encoding: 'utf8' });
process.stdout.write(limits.stdout + limits.stderr);
