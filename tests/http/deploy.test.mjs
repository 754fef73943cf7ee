// The shipped Grafana dashboard and Kubernetes manifests must match what the
// server really exposes: every metric a panel queries exists in /metrics, and
// every probe path the manifests use answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startServer, createKey, SOURCE_DIR } from './helpers.mjs';

test('dashboard queries only metrics the server exports; manifest probes answer', async () => {
  const s = await startServer({ ATELIER_IDENTITY_RATE_LIMIT_PER_MINUTE: '1' });
  try {
    // Produce at least one sample of each family.
    const k = createKey(s);
    await fetch(`${s.url}/v1/me`, { headers: { 'X-API-Key': k } });
    await fetch(`${s.url}/v1/me`, { headers: { 'X-API-Key': k } });
    const exposed = await (await fetch(`${s.url}/metrics`)).text();
    const names = new Set(exposed.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(/[{ ]/)[0]));

    const dash = JSON.parse(readFileSync(path.join(SOURCE_DIR, 'deploy/grafana/atelier-dashboard.json'), 'utf8'));
    const exprs = dash.panels.flatMap((p) => p.targets.map((t) => t.expr));
    assert.ok(exprs.length >= 10);
    const promql = new Set(['sum', 'by', 'rate', 'histogram_quantile', 'le', 'route', 'pool', 'user_type', 'limit', 'status', 'model', 'cache']);
    for (const e of exprs) {
      const ids = e.replace(/"[^"]*"/g, '').replace(/\[[^\]]*\]/g, '').match(/(?<![0-9.])\b[a-z_][a-z0-9_]*/g) || [];
      for (const id of ids) {
        if (promql.has(id) || /^\d/.test(id)) continue;
        assert.ok(names.has(id), `dashboard metric ${id} is exported (in: ${e})`);
      }
    }

    const manifest = readFileSync(path.join(SOURCE_DIR, 'deploy/k8s/atelier.yaml'), 'utf8');
    const probes = [...manifest.matchAll(/path: (\/[a-z/]+)/g)].map((m) => m[1]);
    assert.deepEqual([...new Set(probes)].sort(), ['/health/live', '/health/ready', '/metrics'].sort());
    for (const p of probes) assert.equal((await fetch(`${s.url}${p}`)).status, 200, p);
    assert.match(manifest, /enableServiceLinks: false/);
  } finally {
    await s.stop();
  }
});
