// Vision through the real binary and real models: YOLOX-nano detection
// scored by mAP@0.5 on COCO val photos, Tesseract OCR scored by character
// error rate, colours on synthetic images of known colours, grounded
// captions/answers on real photos, bad images, batching, caching and limits.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startServer, json, expectProblem, createKey } from './helpers.mjs';
import { meanAP, readYoloLabels, levenshtein, listFiles, makePng, pngHeaderOnly } from './vision_eval.mjs';

const SHARED = path.resolve(process.env.ATELIER_SOURCE_DIR || '.', '../shared/data');
const COCO = path.join(SHARED, 'coco');
const LIVING_ROOM = path.join(COCO, 'images/val2017/000000000139.jpg');

let s, key;
before(async () => {
  s = await startServer({ ATELIER_BATCH_MAX: '8', ATELIER_IDENTITY_RATE_LIMIT_PER_MINUTE: '0' });
  key = createKey(s, 'admin', 'vision');
});
after(async () => s && (await s.stop()));

function form(file, fields = {}, type = 'image/jpeg') {
  const fd = new FormData();
  fd.append('image', new Blob([typeof file === 'string' ? readFileSync(file) : file], { type }), 'upload');
  for (const [k, v] of Object.entries(fields)) fd.append(k, String(v));
  return fd;
}
const post = (route, body, headers = {}) =>
  fetch(`${s.url}${route}`, { method: 'POST', body, headers: { authorization: `Bearer ${key}`, ...headers } });
async function call(route, body, headers) {
  const res = await post(route, body, headers);
  return { status: res.status, body: await json(res) };
}

test('detection mAP@0.5 on 64 COCO val photos, through the HTTP API', async () => {
  const images = [];
  for (const f of listFiles(path.join(COCO, 'images/val2017'), /\.jpg$/)) {
    const r = await call('/v1/vision/detect', form(f, { min_score: 0.01 }));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const { width, height } = r.body.image;
    const gt = readYoloLabels(path.join(COCO, 'labels/val2017', path.basename(f, '.jpg') + '.txt'), width, height);
    images.push({ gt, det: r.body.detections.map((d) => ({ class_id: d.class_id, score: d.score, box: d.box })) });
  }
  const { map, perClass } = meanAP(images);
  console.log(`YOLOX-nano mAP@0.5 on ${images.length} COCO val photos (${Object.keys(perClass).length} classes): ${map.toFixed(3)}`);
  // Measured 0.509 here. The floor is the published figure for the model
  // (about 0.41 mAP@0.5 on all of COCO val at 416): a wrong letterbox, grid
  // decode or box mapping falls far below it (a half-pixel-grid error alone
  // costs > 0.1), while this 64-photo sample sits above it.
  assert.ok(map >= 0.41, `mAP@0.5 ${map}`);
});

test('detections carry atelier categories, raw classes and boxes in the caller\'s pixels', async () => {
  const r = await call('/v1/vision/detect', form(LIVING_ROOM));
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.image.width, 640);
  const byClass = {};
  for (const d of r.body.detections) (byClass[d.class] ||= []).push(d);
  assert.ok(byClass.tv && byClass.chair && byClass.person, JSON.stringify(Object.keys(byClass)));
  const tv = byClass.tv[0];
  assert.equal(tv.raw_class, 'tvmonitor');
  assert.equal(tv.category, 'electronics');
  assert.equal(byClass.chair[0].category, 'furniture');
  // Ground truth tv box (YOLO label, class 62) in pixels: x 6.9, y 167.7, w 149.3, h 94.9.
  assert.ok(Math.abs(tv.box.x - 6.9) < 6 && Math.abs(tv.box.width - 149.3) < 10, JSON.stringify(tv.box));
});

test('OCR: character error rate on the printed lines (psm 7)', async () => {
  let dist = 0, len = 0;
  const files = listFiles(path.join(SHARED, 'ocr/lines'), /\.png$/);
  for (const f of files) {
    const r = await call('/v1/vision/ocr?psm=7', readFileSync(f), { 'content-type': 'image/png' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const gt = readFileSync(f.replace(/\.png$/, '.gt.txt'), 'utf8').replace(/\n$/, '');
    dist += levenshtein(r.body.text, gt);
    len += [...gt].length;
  }
  const cer = dist / len;
  console.log(`Tesseract CER on ${files.length} printed lines at psm 7: ${cer.toFixed(4)}`);
  const r = await call('/v1/vision/ocr?psm=7', readFileSync(files[0]), { 'content-type': 'image/png' });
  assert.equal(r.body.lines.length, 1);
  assert.ok(r.body.lines[0].words.length > 3 && r.body.lines[0].words[0].box.width > 0);
  assert.ok(r.body.confidence > 0.5 && r.body.confidence <= 1);
  // Measured 0.0074 at psm 7 (0.022 at psm 3) here; the floor leaves room
  // for another Tesseract 5.x build, not for a broken pipeline (a wrong page
  // mode or a blurred, downscaled line costs several times more).
  assert.ok(cer < 0.02, `CER ${cer}`);
});

test('colours: a synthetic image of known colours gives them back, named, with shares', async () => {
  // 70% navy (#000080) on the left, 30% crimson (#dc143c) on the right.
  const png = makePng(100, 60, (x) => (x < 70 ? [0, 0, 128] : [220, 20, 60]));
  const r = await call('/v1/vision/analyze?classify=false', form(png, {}, 'image/png'));
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const [first, second] = r.body.colors;
  assert.equal(first.name, 'navy');
  assert.equal(first.hex, '#000080');
  assert.equal(first.family, 'navy');
  assert.ok(Math.abs(first.share - 0.7) < 0.03, String(first.share));
  assert.equal(second.name, 'crimson');
  assert.equal(second.family, 'red');
  assert.ok(Math.abs(second.share - 0.3) < 0.03);
  assert.equal(r.body.colors.length, 2);
});

test('analyze: types, per-box colours, OCR and a grounded caption in one call', async () => {
  const r = await call('/v1/vision/analyze', form(LIVING_ROOM, { ocr: true, caption: true }));
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.ok(Array.isArray(r.body.types));
  assert.ok(r.body.detections.every((d) => Array.isArray(d.colors) && d.colors.length >= 1));
  assert.ok(r.body.ocr && typeof r.body.ocr.text === 'string');
  assert.equal(r.body.models.detector, 'yolox-nano');
  assert.equal(r.body.models.classifier, 'mobilenet-v2');
  // Every noun the caption names was detected (or classified).
  const names = new Set(r.body.detections.flatMap((d) => [d.class, ...(d.types || []).map((t) => t.type)]));
  const caption = r.body.caption.text;
  assert.ok(caption.length > 0 && r.body.caption.evidence.length > 0, caption);
  for (const noun of ['tv', 'chair', 'person', 'dining table', 'clock']) {
    if (caption.includes(noun)) assert.ok(names.has(noun), `${noun} in "${caption}" but not detected`);
  }
  assert.ok(['tv', 'chair', 'person'].some((n) => caption.includes(n) || caption.includes('people')), caption);
});

test('VQA answers grounded questions with evidence and refuses to invent the rest', async () => {
  const det = await call('/v1/vision/detect', form(LIVING_ROOM));
  const chairs = det.body.detections.filter((d) => d.class === 'chair').length;
  const ask = async (question) => {
    const r = await call('/v1/vision/vqa', form(LIVING_ROOM, { question }));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.answer;
  };
  const many = await ask('How many chairs are there?');
  assert.equal(many.text, String(chairs));
  assert.equal(many.evidence.length, chairs);
  const tv = await ask('Is there a TV?');
  assert.equal(tv.text, 'yes');
  const giraffe = await ask('Is there a giraffe in the room?');
  assert.equal(giraffe.text, 'no');
  const colour = await ask('What colour is the tv?');
  const tvColour = det.body.detections.find((d) => d.class === 'tv');
  assert.ok(colour.text.length > 0 && colour.text !== 'unknown', JSON.stringify(colour));
  const meaning = await ask('What is the owner of this room thinking about?');
  assert.equal(meaning.text, 'unknown');
  assert.ok(meaning.confidence < 0.2);
  assert.ok(tvColour);
  await expectProblem(assert, await post('/v1/vision/vqa', form(LIVING_ROOM)), 400);
});

test('VQA: "does this outfit go together?" is the wardrobe\'s evaluate on the person\'s pieces', async () => {
  const PEOPLE = path.join(SHARED, 'fashion/people');
  const photos = listFiles(PEOPLE, /\.jpg$/);
  let judged = 0;
  for (const f of photos) {
    const r = await call('/v1/vision/vqa', form(f, { question: 'Does this outfit go together?' }));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const a = r.body.answer;
    if (a.text === 'unknown') {
      assert.match(a.evidence[0], /no person's outfit could be judged/);
      continue;
    }
    judged++;
    assert.ok(['yes', 'mostly', 'no'].includes(a.text), a.text);
    const m = a.evidence[0].match(/^outfit score (\d\.\d\d): (goes well together|works|clashes)$/);
    assert.ok(m, a.evidence[0]);
    const score = Number(m[1]);
    assert.equal(a.text, score >= 0.6 ? 'yes' : score >= 0.4 ? 'mostly' : 'no');
    assert.ok(a.evidence.some((e) => /^judged the top at/.test(e)) || a.evidence.some((e) => /^judged the dress at/.test(e)));
  }
  console.log(`outfit questions: ${judged} of ${photos.length} people photos judged`);
  assert.ok(judged >= photos.length / 2, `${judged} of ${photos.length}`);
  // A room has no outfit to judge.
  const room = await call('/v1/vision/vqa', form(LIVING_ROOM, { question: 'Do the clothes match?' }));
  assert.ok(['unknown', 'yes', 'mostly', 'no'].includes(room.body.answer.text));
});

test('bad images get a clear 4xx and the server stays up', async () => {
  const real = readFileSync(LIVING_ROOM);
  const cases = [
    ['truncated JPEG', real.subarray(0, Math.floor(real.length / 2)), 'image/jpeg', 400, /truncated/],
    ['PNG declaring 100000x100000', pngHeaderOnly(100000, 100000), 'image/png', 413, /pixels/],
    ['text labelled as an image', Buffer.from('hello, this is not an image'), 'image/jpeg', 415, /JPEG, PNG or WebP/],
    ['0x0 PNG', pngHeaderOnly(0, 0), 'image/png', 400, /0x0/],
    ['GIF', Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00;', 'latin1'), 'image/gif', 415, /JPEG, PNG or WebP/],
    ['empty body', Buffer.alloc(0), 'image/png', 400, /empty/],
  ];
  for (const [name, bytes, type, status, re] of cases) {
    const r = await post('/v1/vision/detect', bytes, { 'content-type': type });
    assert.equal(r.status, status, name);
    assert.match(r.headers.get('content-type'), /application\/problem\+json/);
    const body = await r.json();
    assert.match(body.detail, re, `${name}: ${body.detail}`);
  }
  // A huge EXIF block (60 KB APP1 of junk) in front of a real JPEG: decoded, orientation ignored.
  const app1 = Buffer.alloc(60000, 0x41);
  app1.write('Exif\0\0', 0, 'latin1');
  const seg = Buffer.concat([Buffer.from([0xff, 0xe1, (app1.length + 2) >> 8, (app1.length + 2) & 255]), app1]);
  const withExif = Buffer.concat([real.subarray(0, 2), seg, real.subarray(2)]);
  const ok = await call('/v1/vision/detect', withExif, { 'content-type': 'image/jpeg' });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.equal(ok.body.image.width, 640);
  // Base64 JSON is accepted too; an image_url is refused while fetching is off.
  const b64 = await call('/v1/vision/detect', JSON.stringify({ image: real.toString('base64') }), { 'content-type': 'application/json' });
  assert.equal(b64.status, 200);
  const url = await post('/v1/vision/detect', JSON.stringify({ image_url: 'http://169.254.169.254/latest' }), { 'content-type': 'application/json' });
  assert.equal(url.status, 400);
  const live = await fetch(`${s.url}/health/live`);
  assert.equal(live.status, 200);
});

test('results are cached by content hash and model version; hits show in /metrics', async () => {
  const png = makePng(64, 64, (x, y) => [(x * 4) & 255, (y * 4) & 255, 90]);
  const a = await call('/v1/vision/analyze', form(png, {}, 'image/png'));
  const b = await call('/v1/vision/analyze', form(png, {}, 'image/png'));
  assert.equal(a.body.cached, false);
  assert.equal(b.body.cached, true);
  assert.deepEqual(b.body.colors, a.body.colors);
  // A hit answers exactly what the computation did: every part survives the cache.
  const fields = { ocr: true, caption: true, max_colors: 4 };
  const first = await call('/v1/vision/analyze', form(LIVING_ROOM, fields));
  const again = await call('/v1/vision/analyze', form(LIVING_ROOM, fields));
  assert.equal(first.body.cached, false);
  assert.ok(first.body.detections.length > 0 && first.body.ocr && first.body.caption);
  assert.deepEqual({ ...again.body, cached: false }, first.body);
  const m = await (await fetch(`${s.url}/metrics`)).text();
  assert.match(m, /atelier_cache_hits_total\{cache="vision",layer="local"\} [1-9]/);
});

test('concurrent detections share forwards (dynamic batching) and metrics say so', async () => {
  const files = listFiles(path.join(COCO, 'images/val2017'), /\.jpg$/).slice(0, 16);
  // One at a time first (other options, so the cache cannot answer the concurrent calls).
  const alone = [];
  for (const f of files) alone.push((await call('/v1/vision/detect', form(f, { min_score: 0.4999 }))).body);
  const rs = await Promise.all(files.map((f) => post('/v1/vision/detect', form(f, { min_score: 0.5 }))));
  assert.ok(rs.every((r) => r.status === 200));
  // Batched (per-lane batches on per-core replicas) or not, each image gets the same detections.
  const together = await Promise.all(rs.map((r) => r.json()));
  together.forEach((b, i) => {
    const a = alone[i].detections.filter((d) => d.score >= 0.5);
    assert.equal(b.detections.length, a.length, files[i]);
    b.detections.forEach((d, j) => {
      assert.equal(d.class_id, a[j].class_id);
      assert.ok(Math.abs(d.box.x - a[j].box.x) < 0.5 && Math.abs(d.box.width - a[j].box.width) < 0.5);
    });
  });
  const m = await (await fetch(`${s.url}/metrics`)).text();
  const sum = Number(m.match(/atelier_inference_batch_size_sum\{model="yolox-nano"\} ([0-9.e+]+)/)[1]);
  const count = Number(m.match(/atelier_inference_batch_size_count\{model="yolox-nano"\} ([0-9.e+]+)/)[1]);
  assert.ok(sum / count > 1, `mean batch ${sum / count}`);
  assert.match(m, /atelier_inference_duration_seconds_count\{model="mobilenet-v2"\} [1-9]/);
  assert.match(m, /atelier_inference_queue_depth\{model="yolox-nano"\} 0/);
  const ready = { body: await json(await fetch(`${s.url}/health/ready`)) };
  for (const model of ['yolox-nano', 'mobilenet-v2', 'tesseract']) {
    assert.equal(ready.body.components[`model:${model}`].status, 'up');
  }
});

test('image embeddings: OpenAI-shaped, unit length, batched, same image same vector', async () => {
  const garments = listFiles(path.join(SHARED, 'fashion/garments'), /\.jpg$/).slice(0, 3);
  const fd = new FormData();
  for (const f of garments) fd.append('image', new Blob([readFileSync(f)], { type: 'image/jpeg' }), 'g.jpg');
  const r = await call('/v1/embeddings/images', fd);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.object, 'list');
  assert.equal(r.body.model, 'mobilenet-v2');
  assert.equal(r.body.data.length, 3);
  for (const d of r.body.data) {
    assert.equal(d.embedding.length, 1280);
    const n = Math.hypot(...d.embedding);
    assert.ok(Math.abs(n - 1) < 1e-4);
  }
  const again = await call('/v1/embeddings/images',
    JSON.stringify({ input: [readFileSync(garments[1]).toString('base64')], encoding_format: 'base64' }),
    { 'content-type': 'application/json' });
  const v = new Float32Array(Buffer.from(again.body.data[0].embedding, 'base64').buffer.slice(0));
  const dot = v.reduce((acc, x, i) => acc + x * r.body.data[1].embedding[i], 0);
  assert.ok(dot > 0.9999, String(dot));
  const unknown = await post('/v1/embeddings/images?model=clip', form(garments[0]));
  assert.equal(unknown.status, 404);
});

test('image collections: items embedded by MobileNetV2, searched by image; leave-one-out 1-NN on fashion photos', async () => {
  const rows = readFileSync(path.join(SHARED, 'fashion/labels.csv'), 'utf8').trim().split('\n').slice(1)
    .map((l) => l.split(',')).filter(([, group]) => group === 'garments' || group === 'products');
  const items = rows.map(([file, , category], i) => ({ id: `item${i}`, file: path.join(SHARED, 'fashion', file), category }));
  const jsonPost = (route, body) => post(route, JSON.stringify(body), { 'content-type': 'application/json' });
  assert.equal((await jsonPost('/v1/collections', { name: 'closet', model: 'mobilenet-v2' })).status, 201);
  const text = await jsonPost('/v1/collections/closet/documents', [{ id: 'x', text: 'no vectors for text here' }]);
  assert.equal(text.status, 400);
  for (let i = 0; i < items.length; i += 32) {
    const batch = items.slice(i, i + 32).map((it) => ({
      id: it.id, image: readFileSync(it.file).toString('base64'), text: it.category, metadata: { category: it.category } }));
    const r = await call('/v1/collections/closet/images', JSON.stringify(batch), { 'content-type': 'application/json' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  }
  let correct = 0;
  const counts = {};
  for (const it of items) counts[it.category] = (counts[it.category] || 0) + 1;
  for (const it of items) {
    const r = await call('/v1/collections/closet/search/image?k=2', readFileSync(it.file), { 'content-type': 'image/jpeg' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.hits[0].id, it.id);  // itself first
    assert.ok(r.body.hits[0].score > 0.999);
    const other = items.find((x) => x.id === r.body.hits[1].id);
    if (other.category === it.category) correct++;
  }
  const acc = correct / items.length;
  const chance = Object.values(counts).reduce((s, n) => s + (n / items.length) * ((n - 1) / (items.length - 1)), 0);
  console.log(`MobileNetV2 leave-one-out 1-NN category accuracy on ${items.length} fashion photos: ${acc.toFixed(3)} (chance ${chance.toFixed(3)})`);
  assert.ok(acc >= 2 * chance, `accuracy ${acc} vs chance ${chance}`);
  // Filters apply to image search too.
  const bags = await call('/v1/collections/closet/search/image?k=5&filter=category:bag', readFileSync(items[0].file), { 'content-type': 'image/jpeg' });
  assert.ok(bags.body.hits.length > 0 && bags.body.hits.every((h) => items.find((x) => x.id === h.id).category === 'bag'));
});

test('a full inference queue answers 503 with Retry-After; the server recovers', async () => {
  const t = await startServer({ ATELIER_INFERENCE_WORKERS: '1', ATELIER_INFERENCE_QUEUE: '1', ATELIER_CACHE_SIZE: '0',
    ATELIER_IDENTITY_RATE_LIMIT_PER_MINUTE: '0' });
  try {
    const k = createKey(t, 'admin', 'queue');
    const photo = readFileSync(LIVING_ROOM);
    const rs = await Promise.all(Array.from({ length: 8 }, () => fetch(`${t.url}/v1/vision/analyze`, {
      method: 'POST', body: photo, headers: { authorization: `Bearer ${k}`, 'content-type': 'image/jpeg' } })));
    const statuses = rs.map((r) => r.status);
    assert.ok(statuses.includes(200), statuses.join());
    const refused = rs.filter((r) => r.status === 503);
    assert.ok(refused.length >= 1, statuses.join());
    for (const r of refused) {
      assert.ok(Number(r.headers.get('retry-after')) >= 1);
      assert.match(r.headers.get('content-type'), /problem\+json/);
    }
    const after = await fetch(`${t.url}/v1/vision/detect`, {
      method: 'POST', body: photo, headers: { authorization: `Bearer ${k}`, 'content-type': 'image/jpeg' } });
    assert.equal(after.status, 200);
  } finally {
    await t.stop();
  }
});

test('image collection and image embedding endpoints refuse bad input with problems; the server stays up', async () => {
  const jsonPost = (route, body) => post(route, typeof body === 'string' ? body : JSON.stringify(body), { 'content-type': 'application/json' });
  assert.equal((await jsonPost('/v1/collections', { name: 'pics', model: 'mobilenet-v2' })).status, 201);
  assert.equal((await jsonPost('/v1/collections', { name: 'words' })).status, 201);
  const good = readFileSync(LIVING_ROOM).toString('base64');
  const cases = [
    ['/v1/collections/pics/images', [{ id: 'a', image: '!!!not base64!!!' }], 400, /base64/],
    ['/v1/collections/pics/images', [{ image: good }], 400, /'id'/],
    ['/v1/collections/pics/images', [{ id: 'a' }], 400, /'image'/],
    ['/v1/collections/pics/images', { id: 'a', image: good }, 400, /array/],
    ['/v1/collections/pics/images', [{ id: 'a', image: Buffer.from('not an image').toString('base64') }], 415, /JPEG, PNG or WebP/],
    ['/v1/collections/nope/images', [{ id: 'a', image: good }], 404, /nope/],
    ['/v1/collections/words/images', [{ id: 'a', image: good }], 400, /text vectors, not image vectors/],
    ['/v1/embeddings/images', { input: ['%%%'] }, 400, /base64/],
    ['/v1/embeddings/images', '{"input": [', 400, /JSON/],
  ];
  for (const [route, body, status, re] of cases) {
    const r = await jsonPost(route, body);
    assert.equal(r.status, status, `${route} ${JSON.stringify(body).slice(0, 60)}`);
    const p = await expectProblem(assert, r, status);
    assert.match(p.detail, re, `${route}: ${p.detail}`);
  }
  const wrong = await post('/v1/collections/words/search/image', readFileSync(LIVING_ROOM), { 'content-type': 'image/jpeg' });
  await expectProblem(assert, wrong, 400);
  const stats = await json(await fetch(`${s.url}/v1/index/stats`, { headers: { authorization: `Bearer ${key}` } }));
  assert.equal(stats.collections.find((c) => c.name === 'pics').vectors, 0);  // nothing half-written
  assert.equal((await fetch(`${s.url}/health/live`)).status, 200);
});

test('Server-Timing says where a detection spent its time: read, decode, letterbox, model wait, forward, output', async () => {
  // A min_score no other test uses: the result cache has not seen this request.
  const res = await post('/v1/vision/detect?min_score=0.42', form(path.join(COCO, 'images/val2017/000000000885.jpg')));
  assert.equal(res.status, 200);
  await json(res);
  const timing = res.headers.get('server-timing');
  const phases = Object.fromEntries(timing.split(', ').map((p) => {
    const [name, dur] = p.split(';dur=');
    return [name, Number(dur)];
  }));
  for (const name of ['queue', 'compute', 'total', 'read', 'decode', 'letterbox', 'model_wait', 'forward', 'decode_output', 'detect', 'json']) {
    assert.ok(Number.isFinite(phases[name]) && phases[name] >= 0, `${name} in ${timing}`);
  }
  // The parts sit inside the whole: the phases of detect, and detect inside compute.
  assert.ok(phases.letterbox + phases.model_wait + phases.forward + phases.decode_output <= phases.detect + 0.5, timing);
  assert.ok(phases.read + phases.decode + phases.detect + phases.json <= phases.compute + 0.5, timing);
  assert.ok(phases.forward > 0, timing);
});
