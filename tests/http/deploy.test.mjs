// The shipped Grafana dashboard and Kubernetes manifests must match what the
// server really exposes: every metric a panel queries exists in /metrics, and
// every probe path the manifests use answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startServer, createKey, SOURCE_DIR } from './helpers.mjs';

test('dashboard queries only metrics the server exports; manifest probes answer', async () => {
  const { Redis } = await import('./cluster.mjs');
  const redis = await Redis.start();  // the Redis panels read a replica's Redis metrics
  const s = await startServer({ ATELIER_IDENTITY_RATE_LIMIT_PER_MINUTE: '1', ATELIER_REDIS_URL: redis.url });
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
    const promql = new Set(['sum', 'by', 'rate', 'histogram_quantile', 'le', 'route', 'pool', 'user_type', 'limit', 'status', 'model', 'cache', 'layer', 'min', 'outcome']);
    for (const e of exprs) {
      const ids = e.replace(/"[^"]*"/g, '').replace(/\[[^\]]*\]/g, '').match(/(?<![0-9.])\b[a-z_][a-z0-9_]*/g) || [];
      for (const id of ids) {
        if (promql.has(id) || /^\d/.test(id)) continue;
        assert.ok(names.has(id), `dashboard metric ${id} is exported (in: ${e})`);
      }
    }

    const manifest = readFileSync(path.join(SOURCE_DIR, 'deploy/k8s/base/atelier.yaml'), 'utf8');
    const probes = [...manifest.matchAll(/path: (\/[a-z/]+)/g)].map((m) => m[1]);
    assert.deepEqual([...new Set(probes)].sort(), ['/health/live', '/health/ready', '/metrics'].sort());
    for (const p of probes) assert.equal((await fetch(`${s.url}${p}`)).status, 200, p);
    assert.match(manifest, /enableServiceLinks: false/);
  } finally {
    await s.stop();
    await redis.stop();
  }
});

test('alert rules pass promtool and read only metrics the server exports (with Redis)', async () => {
  const { spawnSync } = await import('node:child_process');
  const { Redis } = await import('./cluster.mjs');
  const file = path.join(SOURCE_DIR, 'deploy/prometheus/alerts.yml');
  const check = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
  assert.equal(check.status, 0, check.stdout + check.stderr);
  const redis = await Redis.start();
  const s = await startServer({ ATELIER_REDIS_URL: redis.url, ATELIER_IDENTITY_RATE_LIMIT_PER_MINUTE: '1' });
  try {
    const k = createKey(s);
    for (let i = 0; i < 2; i++) await fetch(`${s.url}/v1/me`, { headers: { 'X-API-Key': k } });  // one refusal
    const exposed = await (await fetch(`${s.url}/metrics`)).text();
    const families = new Set([...exposed.matchAll(/^# TYPE ([a-z_0-9]+) (\w+)/gm)].flatMap(([, n, t]) =>
      t === 'histogram' ? [`${n}_bucket`, `${n}_sum`, `${n}_count`] : [n]));
    const rules = readFileSync(file, 'utf8');
    const exprs = [...rules.matchAll(/expr: (?:\|\n)?([\s\S]*?)\n\s+for:/g)].map((m) => m[1]);
    assert.ok(exprs.length >= 8);
    const promql = new Set(['sum', 'by', 'rate', 'histogram_quantile', 'le', 'min', 'max', 'clamp_min', 'status', 'limit', 'e']);
    for (const e of exprs) {
      const ids = e.replace(/"[^"]*"/g, '').replace(/\[[^\]]*\]/g, '').match(/(?<![0-9.])\b[a-z_][a-z0-9_]*/g) || [];
      for (const id of ids) {
        if (promql.has(id)) continue;
        assert.ok(families.has(id), `alert metric ${id} is exported (in: ${e.trim()})`);
      }
    }
  } finally {
    await s.stop();
    await redis.stop();
  }
});

// One manifest against the Kubernetes API's OpenAPI schemas (npm's
// kubernetes-models, through ajv); the Prometheus Operator's kinds come with
// their own package of schemas.
async function validateK8s(d) {
  const [group, version] = d.apiVersion.includes('/') ? d.apiVersion.split('/') : ['', d.apiVersion];
  const pkg = group.endsWith('coreos.com') ? '@kubernetes-models/prometheus-operator' : 'kubernetes-models';
  const mod = await import(`${pkg}/${group ? `${group}/${version}` : version}/${d.kind}`);
  new mod[d.kind](d).validate();
}

// The kubectls that render the overlays: Debian 12's kubernetes-client
// (1.20, kustomize 2.0) always, installed or unpacked into
// .cache/kubernetes-client by install-deps, and the kubectl on PATH when it
// is another one.
async function kubectls() {
  const { spawnSync } = await import('node:child_process');
  const { existsSync, realpathSync } = await import('node:fs');
  const unpacked = path.join(SOURCE_DIR, '.cache/kubernetes-client/usr/bin/kubectl');
  const fromDebian = spawnSync('dpkg-query', ['-W', '-f=${Status}', 'kubernetes-client'], { encoding: 'utf8' }).stdout.includes('install ok installed');
  const debian = fromDebian ? '/usr/bin/kubectl' : unpacked;
  assert.ok(existsSync(debian), `Debian's kubectl at ${debian} (scripts/install-deps.sh)`);
  const onPath = spawnSync('sh', ['-c', 'command -v kubectl'], { encoding: 'utf8' }).stdout.trim();
  return onPath && realpathSync(onPath) !== realpathSync(debian) ? [debian, onPath] : [debian];
}

// `kubectl kustomize DIR`, parsed; every kubectl renders the same objects
// (up to the generated Secret's hashed name and how its base64 is folded).
async function kustomize(dir) {
  const { spawnSync } = await import('node:child_process');
  const { default: yaml } = await import('js-yaml');
  const renders = [];
  for (const kubectl of await kubectls()) {
    const r = spawnSync(kubectl, ['kustomize', path.join(SOURCE_DIR, dir)], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${kubectl} kustomize ${dir}: ${r.stderr}`);
    const docs = yaml.loadAll(r.stdout).filter(Boolean);
    // kustomize folds long base64 values over lines, which the API server's
    // decoder (Go's base64) skips; the schema's "byte" format does not.
    for (const d of docs.filter((x) => x.kind === 'Secret' && x.data))
      for (const k of Object.keys(d.data)) d.data[k] = d.data[k].replace(/\s+/g, '');
    renders.push(docs);
  }
  // Lists of named things (volumes, mounts, env) compared as sets: versions
  // of the strategic merge put a patched entry at different places.
  const byName = (v) => Array.isArray(v)
    ? (v.every((x) => typeof x?.name === 'string') ? [...v].sort((a, b) => a.name.localeCompare(b.name)) : v).map(byName)
    : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, byName(x)])) : v;
  const unhashed = (docs) => {
    const secrets = docs.filter((d) => d.kind === 'Secret').map((d) => d.metadata.name);
    let text = JSON.stringify(docs.map(byName).sort((a, b) => `${a.kind}/${a.metadata.name}`.localeCompare(`${b.kind}/${b.metadata.name}`)));
    for (const name of secrets) text = text.replaceAll(name, name.replace(/-[a-z0-9]{10}$/, '-HASH'));
    return JSON.parse(text);
  };
  for (const other of renders.slice(1)) assert.deepEqual(unhashed(other), unhashed(renders[0]), `${dir}: every kubectl renders the same`);
  return renders[0];
}

test('Kustomize: the base and the dev and production overlays render with kubectl kustomize and validate', async () => {
  const base = await kustomize('deploy/k8s/base');
  const { default: yaml } = await import('js-yaml');
  const shipped = yaml.loadAll(readFileSync(path.join(SOURCE_DIR, 'deploy/k8s/base/atelier.yaml'), 'utf8'));
  const byName = (docs) => Object.fromEntries(docs.map((d) => [`${d.kind}/${d.metadata.name}`, d]));
  assert.deepEqual(byName(base), byName(shipped), 'kustomize adds nothing to the base');
  const of = (docs, kind, name) => docs.find((d) => d.kind === kind && (!name || d.metadata.name === name));

  // Production: replicas from the autoscaler (2 to 10), the database and Redis
  // named by the Secret made out of band, models on a read-only claim, a pinned image, a ServiceMonitor.
  const prod = await kustomize('deploy/k8s/overlays/production');
  for (const d of prod) await validateK8s(d);
  assert.equal(of(prod, 'HorizontalPodAutoscaler').spec.minReplicas, 2);
  assert.equal(of(prod, 'HorizontalPodAutoscaler').spec.maxReplicas, 10);
  assert.ok(of(prod, 'PodDisruptionBudget'));
  assert.equal(of(prod, 'ServiceMonitor'), undefined, 'applies on a cluster without the Prometheus Operator');
  const monitored = await kustomize('deploy/k8s/overlays/production-monitored');
  for (const d of monitored) await validateK8s(d);
  assert.deepEqual(monitored.filter((d) => d.kind !== 'ServiceMonitor'), prod, 'production, and a ServiceMonitor');
  assert.ok(of(monitored, 'ServiceMonitor'));
  assert.equal(of(prod, 'Secret'), undefined, 'production\'s Secret is never in what is applied');
  const prodPod = of(prod, 'Deployment', 'atelier').spec.template.spec;
  assert.equal(prodPod.containers[0].image, 'registry.example/atelier:0.1.0');
  assert.deepEqual(of(prod, 'PersistentVolumeClaim', 'atelier-models').spec.accessModes, ['ReadOnlyMany']);
  assert.equal(of(prod, 'Deployment', 'atelier-postgres'), undefined);

  // Dev: one replica, its own PostgreSQL and Redis, a generated Secret the
  // pods name by its generated name, claims a one-node cluster binds.
  const dev = await kustomize('deploy/k8s/overlays/dev');
  for (const d of dev) await validateK8s(d);
  const app = of(dev, 'Deployment', 'atelier');
  assert.equal(app.spec.replicas, 1);
  assert.equal(of(dev, 'HorizontalPodAutoscaler'), undefined);
  assert.equal(of(dev, 'PodDisruptionBudget'), undefined, 'no budget that would block every drain');
  const secret = of(dev, 'Secret');
  assert.match(secret.metadata.name, /^atelier-secrets-/);
  const refs = dev.filter((d) => d.kind === 'Deployment').flatMap((d) => d.spec.template.spec.containers.flatMap((c) => (c.env || []).filter((e) => e.valueFrom?.secretKeyRef)));
  assert.ok(refs.length >= 4);
  for (const e of refs) {
    assert.equal(e.valueFrom.secretKeyRef.name, secret.metadata.name, `${e.name} names the generated Secret`);
    assert.ok(e.valueFrom.secretKeyRef.key in (secret.data || {}), `${e.name}: the Secret has ${e.valueFrom.secretKeyRef.key}`);
  }
  const value = (k) => Buffer.from(secret.data[k], 'base64').toString();
  for (const [url, kind] of [[value('database-url'), 'postgres'], [value('redis-url'), 'redis']]) {
    const host = new URL(url).hostname;
    const svc = of(dev, 'Service', host);
    assert.ok(svc, `${kind}: the URL's host ${host} is a Service of the overlay`);
    const target = of(dev, 'Deployment', host);
    assert.deepEqual(svc.spec.selector, target.spec.template.metadata.labels);
    assert.equal(String(new URL(url).port), String(svc.spec.ports[0].port));
  }
  assert.equal(new URL(value('database-url')).password, value('postgres-password'));
  for (const claim of ['atelier-data', 'atelier-models'])
    assert.deepEqual(of(dev, 'PersistentVolumeClaim', claim).spec.accessModes, ['ReadWriteOnce']);
  assert.equal(of(dev, 'Ingress').spec.rules[0].host, 'atelier.localhost');
  assert.equal(of(dev, 'Ingress').spec.ingressClassName, undefined, 'the cluster\'s default ingress class');
  // Dev's models claim can be filled through the pod.
  const devPod = app.spec.template.spec;
  assert.equal(devPod.containers[0].volumeMounts.find((m) => m.name === 'models').readOnly, false);
  assert.equal(devPod.volumes.find((v) => v.name === 'models').persistentVolumeClaim.readOnly, false);
  // The pods keep Pod Security "restricted" in both.
  for (const docs of [dev, prod]) {
    for (const d of docs.filter((x) => x.kind === 'Deployment')) {
      const pod = d.spec.template.spec;
      assert.equal(pod.securityContext.runAsNonRoot, true, d.metadata.name);
      assert.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault', d.metadata.name);
      for (const c of pod.containers) {
        assert.equal(c.securityContext.allowPrivilegeEscalation, false, `${d.metadata.name}/${c.name}`);
        assert.deepEqual(c.securityContext.capabilities.drop, ['ALL'], `${d.metadata.name}/${c.name}`);
      }
    }
  }
});

test('Kubernetes manifests validate against the API schemas; replicas scale 2 to 10 with a disruption budget', async () => {
  const { default: yaml } = await import('js-yaml');
  const docs = ['base/atelier.yaml', 'overlays/production/scaling.yaml'].flatMap((f) =>
    yaml.loadAll(readFileSync(path.join(SOURCE_DIR, 'deploy/k8s', f), 'utf8')));
  const example = yaml.loadAll(readFileSync(path.join(SOURCE_DIR, 'deploy/k8s/secret.example.yaml'), 'utf8'));
  const monitor = yaml.loadAll(readFileSync(path.join(SOURCE_DIR, 'deploy/k8s/overlays/production-monitored/servicemonitor.yaml'), 'utf8'));
  for (const d of [...docs, ...example, ...monitor]) await validateK8s(d);
  const kind = (k) => docs.find((d) => d.kind === k);
  const hpa = kind('HorizontalPodAutoscaler').spec;
  assert.equal(hpa.minReplicas, 2);
  assert.equal(hpa.maxReplicas, 10);
  const target = (name) => hpa.metrics.find((m) => m.resource.name === name).resource.target.averageUtilization;
  assert.equal(target('cpu'), 70);
  assert.equal(target('memory'), 80);
  assert.equal(kind('PodDisruptionBudget').spec.minAvailable, 1);
  const pod = kind('Deployment').spec.template.spec;
  assert.ok(pod.affinity.podAntiAffinity, 'replicas spread over nodes');
  const c = pod.containers[0];
  assert.ok(c.lifecycle.preStop, 'a preStop pause before the drain');
  assert.ok(c.resources.requests.cpu && c.resources.limits.memory);
  const fromSecret = c.env.filter((e) => e.valueFrom?.secretKeyRef).map((e) => e.name).sort();
  assert.deepEqual(fromSecret, ['ATELIER_DATABASE_URL', 'ATELIER_JWT_SECRET', 'ATELIER_REDIS_URL']);
  assert.deepEqual(kind('PersistentVolumeClaim').spec.accessModes, ['ReadWriteMany']);
  // Models come from a volume, and a pod without them never goes Ready (not 503s on vision).
  const models = pod.volumes.find((v) => v.name === 'models');
  const modelsClaim = docs.find((d) => d.kind === 'PersistentVolumeClaim' && d.metadata.name === models.persistentVolumeClaim?.claimName);
  assert.ok(modelsClaim, 'the models volume is a claim the manifest defines');
  assert.match(kind('ConfigMap').data['production.env'], /^ATELIER_REQUIRED_MODELS=yolox-nano,mobilenet-v2$/m);
  // The ServiceMonitor scrapes the Service's named port at /metrics.
  const sm = monitor[0].spec;
  assert.deepEqual(sm.selector.matchLabels, kind('Service').metadata.labels);
  assert.equal(sm.endpoints[0].port, kind('Service').spec.ports[0].name);
  assert.equal(sm.endpoints[0].path, '/metrics');
  // Issue 25: the Secret lives apart (applying the manifest never overwrites the real one).
  assert.equal(docs.filter((d) => d.kind === 'Secret').length, 0);
  assert.deepEqual(Object.keys(example[0].stringData).sort(), ['database-url', 'jwt-secret', 'redis-url']);
  // Pod Security "restricted": non-root, no privilege escalation, no capabilities,
  // RuntimeDefault seccomp, a read-only root with the writable paths as volumes.
  assert.equal(pod.securityContext.runAsNonRoot, true);
  assert.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault');
  assert.equal(c.securityContext.allowPrivilegeEscalation, false);
  assert.equal(c.securityContext.readOnlyRootFilesystem, true);
  assert.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
  const mounted = c.volumeMounts.filter((m) => !m.readOnly).map((m) => m.mountPath).sort();
  assert.deepEqual(mounted, ['/tmp', '/var/lib/atelier']);
  // Its own ServiceAccount without an API token; ingress only to HTTP; one Ingress to the Service.
  assert.equal(pod.serviceAccountName, 'atelier');
  assert.equal(pod.automountServiceAccountToken, false);
  assert.equal(kind('ServiceAccount').automountServiceAccountToken, false);
  assert.deepEqual(kind('NetworkPolicy').spec.ingress[0].ports, [{ protocol: 'TCP', port: 8080 }]);
  assert.equal(kind('Ingress').spec.rules[0].http.paths[0].backend.service.name, kind('Service').metadata.name);
  // A broken manifest is caught, so the check above can fail.
  const { Deployment } = await import('kubernetes-models/apps/v1/Deployment');
  const bad = structuredClone(kind('Deployment'));
  bad.spec.replicas = 'two';
  assert.throws(() => new Deployment(bad).validate(), /replicas must be integer/);
});

test('the compose stack validates offline; its Dockerfile is multi-stage Debian 12, non-root', async () => {
  const { spawnSync } = await import('node:child_process');
  const { mkdtempSync, writeFileSync, copyFileSync } = await import('node:fs');
  const os = await import('node:os');
  const dir = path.join(SOURCE_DIR, 'deploy/compose');
  const r = spawnSync('docker-compose', ['-f', path.join(dir, 'docker-compose.yml'), 'config'],
    { encoding: 'utf8', env: { ...process.env, ATELIER_JWT_SECRET: 'x'.repeat(32) } });
  assert.equal(r.status, 0, r.stderr);
  const { default: yaml } = await import('js-yaml');
  const config = yaml.load(r.stdout);
  assert.deepEqual(Object.keys(config.services).sort(), ['atelier', 'grafana', 'nginx', 'postgres', 'prometheus', 'redis']);
  const env = config.services.atelier.environment;
  assert.match(env.ATELIER_DATABASE_URL, /^postgresql:\/\/.*@postgres:5432\//);
  assert.match(env.ATELIER_REDIS_URL, /^redis:\/\/redis:6379/);
  // Models: a read-only mount of the host's folder, and replicas without them never ready.
  assert.equal(env.ATELIER_REQUIRED_MODELS, 'yolox-nano,mobilenet-v2');
  const models = config.services.atelier.volumes.find((v) => (v.target ?? String(v).split(':')[1]) === '/models');
  assert.ok(models, `a models volume: ${JSON.stringify(config.services.atelier.volumes)}`);
  assert.ok(models.read_only === true || String(models).endsWith(':ro'), 'mounted read-only');
  assert.equal(models.source ?? String(models).split(':')[0], path.join(SOURCE_DIR, 'models'));
  // Without the secret, compose refuses to start rather than run with none.
  const unset = spawnSync('docker-compose', ['-f', path.join(dir, 'docker-compose.yml'), 'config'],
    { encoding: 'utf8', env: { ...process.env, ATELIER_JWT_SECRET: '' } });
  assert.notEqual(unset.status, 0);
  // Prometheus's configuration, with the rule file where the container mounts it.
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'atelier-prom-'));
  copyFileSync(path.join(SOURCE_DIR, 'deploy/prometheus/alerts.yml'), path.join(tmp, 'alerts.yml'));
  writeFileSync(path.join(tmp, 'prometheus.yml'),
    readFileSync(path.join(dir, 'prometheus.yml'), 'utf8').replace('/etc/prometheus/alerts.yml', path.join(tmp, 'alerts.yml')));
  const prom = spawnSync('promtool', ['check', 'config', path.join(tmp, 'prometheus.yml')], { encoding: 'utf8' });
  assert.equal(prom.status, 0, prom.stdout + prom.stderr);
  const docker = readFileSync(path.join(dir, 'Dockerfile'), 'utf8');
  assert.equal([...docker.matchAll(/^FROM debian:12/gm)].length, 2, 'a build stage and a runtime stage');
  assert.match(docker, /^USER 10001$/m);
  // Issue 25: the context (the checkout) leaves the host's builds, dependencies, data and secrets out.
  const ignored = readFileSync(path.join(SOURCE_DIR, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
  for (const p of ['.git/', 'build/', 'build-*/', 'node_modules/', 'data/', '**/*.db', '**/jwt.secret', '.env'])
    assert.ok(ignored.includes(p), `.dockerignore lists ${p}`);
});
