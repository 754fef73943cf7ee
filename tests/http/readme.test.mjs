// The README shows, this test runs it (issue 25): every `sh` block that calls
// $ATELIER and every `js` block, in the README's order, against one fresh
// server, with the example files the blocks name. curl fails on an HTTP
// error here (--fail-with-body), so an example that stops working fails the
// test, and a block's exit status and output are reported.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, createKey, SOURCE_DIR } from './helpers.mjs';

const SHARED = path.resolve(SOURCE_DIR, '../shared/data');
let s, key, dir;

before(async () => {
  s = await startServer();
  key = createKey(s, 'premium', 'readme');
  dir = mkdtempSync(path.join(os.tmpdir(), 'atelier-readme-'));
  const outfits = JSON.parse(readFileSync(path.join(SHARED, 'outfits/outfits.json'), 'utf8'));
  const items = outfits.flatMap((o) => o.items);
  const photo = (group) => path.join(SHARED, 'outfits', items.find((i) => i.group === group).image);
  copyFileSync(photo('Tops'), path.join(dir, 'photo.jpg'));
  copyFileSync(photo('Bottoms'), path.join(dir, 'trousers.jpg'));
  const line = readdirSync(path.join(SHARED, 'ocr/lines')).find((f) => f.endsWith('.png'));
  copyFileSync(path.join(SHARED, 'ocr/lines', line), path.join(dir, 'label.png'));
  const room = readdirSync(path.join(SHARED, 'rooms/bedroom')).find((f) => f.endsWith('.jpg'));
  copyFileSync(path.join(SHARED, 'rooms/bedroom', room), path.join(dir, 'room.jpg'));
});
after(async () => s && (await s.stop()));

// The fenced blocks of the README with their language and first line number.
function blocks(markdown) {
  const out = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w+)\s*$/.exec(lines[i]);
    if (!open) continue;
    const start = i + 1;
    while (i + 1 < lines.length && !/^```\s*$/.test(lines[++i]));
    out.push({ lang: open[1], line: start, code: lines.slice(start, i).join('\n') });
  }
  return out;
}

test('every README example that calls the API runs against a fresh server', async () => {
  const readme = readFileSync(path.join(SOURCE_DIR, 'README.md'), 'utf8');
  const runnable = blocks(readme).filter((b) => (b.lang === 'sh' && b.code.includes('$ATELIER')) || b.lang === 'js');
  assert.ok(runnable.filter((b) => b.lang === 'sh').length >= 5, 'the capability sections have curl examples');
  assert.ok(runnable.some((b) => b.lang === 'js'), 'an openai client example');
  const env = { ...process.env, ATELIER: s.url, KEY: key };
  for (const b of runnable) {
    let r;
    if (b.lang === 'sh') {
      const script = `set -euo pipefail\ncurl() { command curl --fail-with-body --max-time 600 "$@"; }\n${b.code}\n`;
      r = spawnSync('bash', ['-c', script], { cwd: dir, env, encoding: 'utf8', timeout: 900_000 });
    } else {
      // Bare imports resolve from the checkout's node_modules (the working directory).
      r = spawnSync('node', ['--input-type=module', '-e', b.code], { cwd: SOURCE_DIR, env, encoding: 'utf8', timeout: 300_000 });
    }
    assert.equal(r.status, 0, `README.md line ${b.line} (${b.lang}) exited ${r.status}:\n${r.stdout.slice(-1500)}\n${r.stderr.slice(-1500)}`);
    assert.ok(r.stdout.trim().length > 0 || b.code.includes(' -o '), `README.md line ${b.line} printed nothing`);
  }
});
