// A real cluster for the replica tests: PostgreSQL (a fresh database on the
// cluster the test command starts), Redis 7 and nginx from Debian, and N
// `atelier serve` replicas on loopback sharing the database, Redis, the JWT
// secret and one data folder (as a ReadWriteMany volume would be), behind
// nginx configured by deploy/nginx/atelier.conf.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startReplica, freePort, SOURCE_DIR, sleep } from './helpers.mjs';

export function clusterAvailable() {
  return Boolean(process.env.ATELIER_TEST_POSTGRES_URL) &&
    spawnSync('which', ['redis-server']).status === 0 &&
    spawnSync('sh', ['-c', 'command -v nginx || test -x /usr/sbin/nginx']).status === 0;
}

const databases = new Map();  // data folder -> database URL: a restart on the same folder finds its data
function databaseFor(dir) {
  if (!databases.has(dir)) databases.set(dir, createDatabase());
  return databases.get(dir);
}

function createDatabase() {
  const base = process.env.ATELIER_TEST_POSTGRES_URL;
  const name = `cluster_${process.pid}_${Math.random().toString(16).slice(2, 8)}`;
  const r = spawnSync('psql', [base, '-qc', `CREATE DATABASE ${name}`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cannot create database ${name}: ${r.stderr}`);
  const u = new URL(base);
  u.pathname = `/${name}`;
  return u.toString();
}

// A redis-server that the test may stop and start again on the same port.
export class Redis {
  static async start() {
    const r = new Redis(await freePort());
    await r.start();
    return r;
  }
  constructor(port) {
    this.port = port;
    this.url = `redis://127.0.0.1:${port}`;
  }
  async start() {
    this.proc = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '',
      '--appendonly', 'no', '--logfile', '/dev/null'], { stdio: 'ignore' });
    for (let i = 0; i < 200; i++) {
      if (spawnSync('redis-cli', ['-p', String(this.port), 'ping'], { encoding: 'utf8' }).stdout?.trim() === 'PONG') return;
      await sleep(25);
    }
    throw new Error('redis-server did not start');
  }
  get running() {
    return !!this.proc && this.proc.exitCode === null;
  }
  async stop() {
    if (!this.running) return;
    const exited = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill('SIGKILL');
    await exited;
  }
  cli(...args) {
    return spawnSync('redis-cli', ['-p', String(this.port), ...args], { encoding: 'utf8' }).stdout.trim();
  }
}

// nginx running deploy/nginx/atelier.conf with the replicas' ports.
async function startNginx(dir, ports) {
  const port = await freePort();
  let conf = readFileSync(path.join(SOURCE_DIR, 'deploy/nginx/atelier.conf'), 'utf8');
  conf = conf.replace(/# replicas begin[\s\S]*# replicas end/,
    ports.map((p) => `server 127.0.0.1:${p} max_fails=1 fail_timeout=2s;`).join('\n    '));
  conf = conf.replace(/listen 8080;/, `listen 127.0.0.1:${port};`);
  for (const t of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(path.join(dir, t), { recursive: true });
  writeFileSync(path.join(dir, 'atelier.conf'), conf);
  writeFileSync(path.join(dir, 'nginx.conf'), `
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  include ${dir}/atelier.conf;
}
`);
  const bin = spawnSync('sh', ['-c', 'command -v nginx || echo /usr/sbin/nginx'], { encoding: 'utf8' }).stdout.trim();
  const proc = spawn(bin, ['-c', path.join(dir, 'nginx.conf'), '-p', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr.on('data', (d) => (err += d));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    if (proc.exitCode !== null) throw new Error(`nginx exited: ${err}`);
    try {
      await fetch(`${url}/health/live`);
      return { url, proc, port };
    } catch {}
    await sleep(25);
  }
  throw new Error(`nginx did not start: ${err}`);
}

// Starts Redis, `n` replicas and nginx; env is added to every replica's.
export async function startCluster({ replicas = 3, env = {}, dataDir } = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'atelier-cluster-'));
  const data = dataDir || path.join(dir, 'data');
  if (!dataDir) mkdirSync(data);
  const redis = await Redis.start();
  const secret = 'cluster-test-secret-that-is-long-enough-0123456789';
  // Where a single server keeps its generated secret: suites that sign tokens read it there.
  writeFileSync(path.join(data, 'jwt.secret'), `${secret}\n`);
  const shared = {
    ATELIER_DATABASE_URL: databaseFor(data),
    ATELIER_REDIS_URL: redis.url,
    ATELIER_JWT_SECRET: secret,
    ATELIER_TRUST_FORWARDED_FOR: 'true',
    ATELIER_ACCESS_LOG: 'false',
    ...env,
  };
  // Every replica that did start is stopped when another did not, so a failed
  // start fails the test instead of leaving processes that keep it running.
  const started = await Promise.allSettled(Array.from({ length: replicas }, () => startReplica(shared, { dataDir: data })));
  const failed = started.find((r) => r.status === 'rejected');
  if (failed) {
    await Promise.all(started.filter((r) => r.status === 'fulfilled').map((r) => r.value.stop({ keepData: true })));
    await redis.stop();
    throw failed.reason;
  }
  const servers = started.map((r) => r.value);
  const nginx = await startNginx(path.join(dir, 'nginx'), servers.map((s) => s.port));
  return {
    url: nginx.url,
    servers,
    redis,
    nginx,
    env: servers[0].env,
    cli(args, input) {
      return servers[0].cli(args, input);
    },
    async stop({ keepData = false } = {}) {
      nginx.proc.kill('SIGTERM');
      const results = await Promise.all(servers.map((s) => s.stop({ keepData: true })));
      await redis.stop();
      if (!keepData) rmSync(dir, { recursive: true, force: true });
      return results[0];
    },
  };
}
