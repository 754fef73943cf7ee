// The container image as shipped (issue 25): deploy/compose/Dockerfile is
// built with podman from a Debian 12 base made here by debootstrap (no
// container registry is reached: the base is imported and tagged debian:12
// and debian:12-slim in the test's own image store; Debian's mirror and npm
// are, as the build stage installs from them), then started as Kubernetes
// starts it (non-root, read-only root filesystem, no capabilities, no
// privilege escalation, the writable paths as volumes, the production
// profile). Without its models it must refuse to go Ready; with YOLOX and
// MobileNetV2 mounted at /models it must go Ready and answer real requests
// from another process over HTTP.
//
// Slow by nature: the build stage installs the build packages and compiles
// the server (tens of minutes on two cores).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SOURCE_DIR, freePort, json, sleep } from './helpers.mjs';

const SHARED_MODELS = path.resolve(SOURCE_DIR, '../shared/models');
const MIRROR = process.env.ATELIER_DEBIAN_MIRROR || 'http://deb.debian.org/debian';
const IMAGE = 'localhost/atelier:test';
let dir;
const started = [];

// podman with the test's own image store, runc (this kernel's cgroups are
// hybrid, which crun refuses) and file limits within the sandbox's.
function podman(args, { input, check = true } = {}) {
  const r = spawnSync('podman', ['--root', path.join(dir, 'root'), '--runroot', path.join(dir, 'run'), ...args], {
    encoding: 'utf8', input, maxBuffer: 256 << 20, env: { ...process.env, CONTAINERS_CONF: path.join(dir, 'containers.conf') },
  });
  if (check) assert.equal(r.status, 0, `podman ${args.join(' ')}:\n${(r.stdout || '').slice(-3000)}\n${(r.stderr || '').slice(-3000)}`);
  return r;
}

function sh(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 << 20 });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}:\n${(r.stderr || '').slice(-3000)}`);
  return r;
}

before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'atelier-container-'));
  const limit = spawnSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).stdout.trim();
  const files = limit === 'unlimited' ? 65536 : Math.min(Number(limit) || 1024, 65536);
  // Its own state (tmp_dir, networks) beside its own store: another podman on
  // the machine, or another run of this test, is not touched.
  writeFileSync(path.join(dir, 'containers.conf'),
    `[containers]\ndefault_ulimits = ["nofile=${files}:${files}", "nproc=4096:4096"]\n` +
    `[engine]\nruntime = "runc"\ntmp_dir = "${path.join(dir, 'tmp')}"\n` +
    `[network]\nnetwork_config_dir = "${path.join(dir, 'networks')}"\n`);
  // The base: Debian 12 (minbase) from Debian's mirror, imported as both
  // tags the Dockerfile names.
  const rootfs = path.join(dir, 'rootfs');
  sh('debootstrap', ['--variant=minbase', 'bookworm', rootfs, MIRROR]);
  const tar = path.join(dir, 'rootfs.tar');
  sh('tar', ['-C', rootfs, '-cf', tar, '.']);
  podman(['import', tar, 'docker.io/library/debian:12']);
  podman(['tag', 'docker.io/library/debian:12', 'docker.io/library/debian:12-slim']);
  rmSync(tar);
  rmSync(rootfs, { recursive: true, force: true });
});

after(() => {
  if (!dir) return;
  podman(['rm', '--all', '--force', '--time', '0'], { check: false });
  podman(['volume', 'rm', '--all', '--force'], { check: false });
  podman(['rmi', '--all', '--force'], { check: false });
  rmSync(dir, { recursive: true, force: true });
});

// Starts the image as the Kubernetes manifest does; answers its base URL.
async function start(name, { models } = {}) {
  // The host's network (a port of its own on loopback): no bridge, address
  // or firewall rule shared with other containers on the machine.
  const port = await freePort();
  const volumes = models ? ['--volume', `${models}:/models:ro`] : [];
  podman(['run', '--detach', '--name', name, '--network', 'host',
    '--env', 'ATELIER_HOST=127.0.0.1', '--env', `ATELIER_PORT=${port}`,
    '--read-only', '--tmpfs', '/tmp', '--volume', `${name}-data:/var/lib/atelier`,
    '--cap-drop', 'all', '--security-opt', 'no-new-privileges',
    '--volume', `${path.join(SOURCE_DIR, 'config/production.env')}:/etc/atelier/production.env:ro`,
    '--env', 'ATELIER_CONFIG=/etc/atelier/production.env',
    '--env', `ATELIER_JWT_SECRET=${'7f'.repeat(32)}`,
    '--env', 'ATELIER_REQUIRED_MODELS=yolox-nano,mobilenet-v2',
    ...volumes, IMAGE]);
  started.push(name);
  const url = `http://127.0.0.1:${port}`;
  // Up when it answers its liveness probe; a container that exits fails here.
  for (let i = 0; ; i++) {
    const ok = await fetch(`${url}/health/live`).then((r) => r.ok, () => false);
    if (ok) return url;
    const state = podman(['inspect', '--format', '{{.State.Status}}', name]).stdout.trim();
    assert.ok(state === 'running' || state === 'created', `${name} is ${state}:\n${podman(['logs', name], { check: false }).stderr}`);
    assert.ok(i < 1200, `${name} answered /health/live`);
    await sleep(250);
  }
}

test('the image builds from the Dockerfile and serves as the manifests run it', { timeout: 7000 * 1000 }, async () => {
  // This machine reaches npm through a TLS-inspecting proxy: its CA bundle
  // goes in as the Dockerfile's optional secret.
  const ca = process.env.NODE_EXTRA_CA_CERTS || '/etc/ssl/certs/ca-certificates.crt';
  podman(['build', '--pull=never', '--secret', `id=extra-ca,src=${ca}`,
    '--file', path.join(SOURCE_DIR, 'deploy/compose/Dockerfile'), '--tag', IMAGE, SOURCE_DIR]);
  // The runtime stage: no compiler, no -dev packages, no test tooling.
  const inside = podman(['run', '--rm', '--entrypoint', 'sh', IMAGE, '-c',
    'id -u; echo tools: $(for t in gcc g++ cc cmake node npm psql; do command -v $t; done) ' +
    '$(ls /usr/include 2>/dev/null | head -3); ls /usr/share/atelier /usr/share/atelier/models']).stdout.split('\n');
  assert.equal(inside[0], '10001', 'runs as the non-root user');
  assert.equal(inside[1].trim(), 'tools:', 'no compiler, headers, node or client tools in the runtime stage');
  assert.ok(inside.includes('stopwords-iso.json') && inside.includes('models.json') && inside.includes('swagger-ui'), inside.join(' '));
  assert.ok(inside.includes('glove-sif'), 'the word vectors the build stage converted');

  // Without YOLOX and MobileNetV2 the container lives but is never Ready.
  let url = await start('bare');
  const ready = await fetch(`${url}/health/ready`);
  assert.equal(ready.status, 503);
  const why = await json(ready);
  assert.match(why.detail, /yolox-nano/);
  assert.match(why.detail, /mobilenet-v2/);
  assert.equal(why.components.database.status, 'up');
  podman(['rm', '-f', '-t', '10', 'bare']);

  // With them mounted read-only: Ready, and every layer answers for real.
  url = await start('served', { models: SHARED_MODELS });
  assert.equal((await fetch(`${url}/health/ready`)).status, 200);
  const key = podman(['exec', 'served', 'atelier', 'keys', 'create', '--tier', 'admin', '--name', 'container'])
    .stdout.trim().split('\n').at(-1);
  const auth = { 'X-API-Key': key };
  // Detailed health is for admins in production.
  assert.equal((await fetch(`${url}/health/detailed`)).status, 401);
  const detailed = await json(await fetch(`${url}/health/detailed`, { headers: auth }));
  assert.equal(detailed.profile, 'production');
  for (const [name, c] of Object.entries(detailed.components)) assert.equal(c.status, 'up', `${name}: ${JSON.stringify(c)}`);

  const outfits = JSON.parse(readFileSync(path.resolve(SOURCE_DIR, '../shared/data/outfits/outfits.json'), 'utf8'));
  const photo = readFileSync(path.resolve(SOURCE_DIR, '../shared/data/outfits', outfits[3].items[0].image));
  const detect = await fetch(`${url}/v1/vision/analyze`, { method: 'POST', headers: { ...auth, 'content-type': 'image/jpeg' }, body: photo });
  assert.equal(detect.status, 200, await detect.clone().text());
  const seen = await json(detect);
  assert.ok(seen.types.length > 0 && seen.colors.length > 0, JSON.stringify(seen).slice(0, 300));
  const langs = await json(await fetch(`${url}/v1/text/languages`, { headers: auth }));
  assert.equal(langs.languages.find((l) => l.iso === 'en').stopwords, true, 'stop words from the image\'s list');
  const embed = await json(await fetch(`${url}/v1/embeddings`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'glove-sif-100d', input: 'navy blazer' }) }));
  assert.equal(embed.data[0].embedding.length, 100);
  assert.equal((await fetch(`${url}/docs`)).status, 200);
  const item = await fetch(`${url}/v1/wardrobe/items`, { method: 'POST', headers: { ...auth, 'content-type': 'image/jpeg' }, body: photo });
  assert.equal(item.status, 201, await item.clone().text());

  // SIGTERM drains and exits cleanly; the data volume keeps what was written.
  podman(['stop', '-t', '30', 'served']);
  assert.equal(podman(['inspect', '--format', '{{.State.ExitCode}}', 'served']).stdout.trim(), '0');
  podman(['start', 'served']);
  for (let i = 0; !(await fetch(`${url}/health/live`).then((r) => r.ok, () => false)); i++) {
    assert.ok(i < 1200, 'served again after a restart');
    await sleep(250);
  }
  const items = await json(await fetch(`${url}/v1/wardrobe/items`, { headers: auth }));
  assert.equal(items.items.length, 1);
});
