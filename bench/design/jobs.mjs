// Design jobs per minute at N workers over HTTP: uploads one room photo
// scaled to the given side, submits JOBS designs at once and times until
// the last one ends. usage: node jobs.mjs URL KEY PHOTO JOBS
import { readFileSync } from 'node:fs';
const [url, key, photo, jobs = '40'] = process.argv.slice(2);
const h = { authorization: `Bearer ${key}` };
const room = await (await fetch(`${url}/v1/rooms?room_type=living_room`, { method: 'POST', body: readFileSync(photo),
  headers: { ...h, 'content-type': photo.endsWith('.png') ? 'image/png' : 'image/jpeg' } })).json();
const t0 = Date.now();
const ids = await Promise.all(Array.from({ length: Number(jobs) }, (_, i) => fetch(`${url}/v1/designs`, {
  method: 'POST', body: JSON.stringify({ room_id: room.id, style: ['modern', 'japandi', 'coastal', 'rustic'][i % 4], seed: i }),
  headers: { ...h, 'content-type': 'application/json' } }).then((r) => r.json()).then((b) => b.id)));
let run = 0;
for (const id of ids) {
  for (;;) {
    const d = await (await fetch(`${url}/v1/designs/${id}`, { headers: h })).json();
    if (d.status === 'succeeded') { run += d.timings.run_ms; break; }
    if (d.status === 'failed' || d.status === 'cancelled') throw new Error(`${id} ${d.status} ${d.error}`);
    if (!d.status) throw new Error(`${id}: ${JSON.stringify(d)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
const s = (Date.now() - t0) / 1000;
console.log(`${jobs} jobs in ${s.toFixed(2)} s: ${(Number(jobs) / s * 60).toFixed(0)} jobs/min; mean run ${(run / ids.length).toFixed(0)} ms`);
