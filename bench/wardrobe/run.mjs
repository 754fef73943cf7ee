// bench/wardrobe: upload-and-tag latency per item, evaluate latency for 5
// items, and recommend latency for 10 outfits from a 500-item wardrobe at
// concurrency 1 and 8, through HTTP against the real binary (SQLite, result
// cache irrelevant: nothing here is cached). Photos: the MANGO fixture
// (../shared/data/outfits, read, never copied). Prints p50/p99 in ms.
// Usage: node bench/wardrobe/run.mjs   (from the repository root, after a build)
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startServer, createKey } from '../../tests/http/helpers.mjs';

const OUTFITS = path.resolve('../shared/data/outfits');
const mango = JSON.parse(readFileSync(path.join(OUTFITS, 'outfits.json'), 'utf8'));
const items = [...new Map(mango.flatMap((o) => o.items).map((i) => [i.item_id, i])).values()];
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const fmt = (xs) => `p50 ${pct(xs, 50).toFixed(1)} ms, p99 ${pct(xs, 99).toFixed(1)} ms (n=${xs.length})`;

const s = await startServer({ ATELIER_IDENTITY_RATE_LIMIT_PER_MINUTE: '0', ATELIER_ACCESS_LOG: 'false' });
try {
  const key = createKey(s, 'admin', 'bench');
  const auth = { authorization: `Bearer ${key}` };
  const timed = async (f) => {
    const t = performance.now();
    const r = await f();
    if (!r.ok) throw new Error(`${r.status} ${await r.text()}`);
    await r.arrayBuffer();
    return performance.now() - t;
  };
  const upload = [];
  const ids = [];
  for (const i of items.slice(0, 500)) {
    const body = readFileSync(path.join(OUTFITS, i.image));
    let id;
    upload.push(await timed(async () => {
      const r = await fetch(`${s.url}/v1/wardrobe/items`, { method: 'POST', body, headers: { ...auth, 'content-type': 'image/jpeg' } });
      const copy = r.clone();
      if (r.ok) id = (await copy.json()).id;
      return r;
    }));
    ids.push(id);
  }
  console.log(`cpu: ${(await import('node:os')).cpus().length} cores; wardrobe of ${ids.length} MANGO items`);
  console.log(`upload and tag (239x334 JPEG, c=1): ${fmt(upload)}`);
  const post = (route, body) => () => fetch(`${s.url}${route}`, { method: 'POST', body: JSON.stringify(body), headers: { ...auth, 'content-type': 'application/json' } });
  const evals = [];
  for (let n = 0; n < 200; n++) evals.push(await timed(post('/v1/outfits/evaluate', { item_ids: ids.slice((n * 5) % 495, ((n * 5) % 495) + 5) })));
  console.log(`evaluate 5 items (c=1): ${fmt(evals)}`);
  const rec1 = [];
  for (let n = 0; n < 30; n++) rec1.push(await timed(post('/v1/outfits/recommend', { count: 10, seed: n })));
  console.log(`recommend 10 outfits from ${ids.length} items (c=1): ${fmt(rec1)}`);
  const rec8 = [];
  let next = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < 80) {
      const n = next++;
      rec8.push(await timed(post('/v1/outfits/recommend', { count: 10, seed: n })));
    }
  }));
  console.log(`recommend 10 outfits from ${ids.length} items (c=8): ${fmt(rec8)}`);
} finally {
  await s.stop();
}
