// Evaluation helpers for the vision tests: detection mAP@0.5 (VOC-style,
// all-point interpolated AP per class, mean over the classes present in the
// ground truth) and character error rate (Levenshtein distance / reference
// length).
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

export function iou(a, b) {
  const x1 = Math.max(a.x, b.x), y1 = Math.max(a.y, b.y);
  const x2 = Math.min(a.x + a.width, b.x + b.width), y2 = Math.min(a.y + a.height, b.y + b.height);
  const inter = Math.max(0, x2 - x1) * Math.max(0, y2 - y1);
  const union = a.width * a.height + b.width * b.height - inter;
  return union > 0 ? inter / union : 0;
}

// YOLO-format labels -> boxes in pixels.
export function readYoloLabels(file, width, height) {
  return readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((line) => {
    const [c, xc, yc, w, h] = line.trim().split(/\s+/).map(Number);
    return { class_id: c, box: { x: (xc - w / 2) * width, y: (yc - h / 2) * height, width: w * width, height: h * height } };
  });
}

// images: [{ gt: [{class_id, box}], det: [{class_id, score, box}] }]
export function meanAP(images, iouThreshold = 0.5) {
  const classes = new Set(images.flatMap((im) => im.gt.map((g) => g.class_id)));
  const aps = {};
  for (const c of classes) {
    let npos = 0;
    const dets = [];
    images.forEach((im, i) => {
      npos += im.gt.filter((g) => g.class_id === c).length;
      for (const d of im.det) if (d.class_id === c) dets.push({ ...d, image: i });
    });
    dets.sort((a, b) => b.score - a.score);
    const used = images.map((im) => im.gt.map(() => false));
    const tp = [], fp = [];
    for (const d of dets) {
      const gts = images[d.image].gt;
      let best = -1, bestIou = iouThreshold;
      gts.forEach((g, j) => {
        if (g.class_id !== c) return;
        const o = iou(d.box, g.box);
        if (o >= bestIou) { bestIou = o; best = j; }
      });
      if (best >= 0 && !used[d.image][best]) { used[d.image][best] = true; tp.push(1); fp.push(0); }
      else { tp.push(0); fp.push(1); }
    }
    let ctp = 0, cfp = 0;
    const rec = [], prec = [];
    for (let i = 0; i < tp.length; i++) {
      ctp += tp[i]; cfp += fp[i];
      rec.push(ctp / npos); prec.push(ctp / (ctp + cfp));
    }
    const mrec = [0, ...rec, 1], mpre = [0, ...prec, 0];
    for (let i = mpre.length - 2; i >= 0; i--) mpre[i] = Math.max(mpre[i], mpre[i + 1]);
    let ap = 0;
    for (let i = 1; i < mrec.length; i++) ap += (mrec[i] - mrec[i - 1]) * mpre[i];
    aps[c] = ap;
  }
  const vals = Object.values(aps);
  return { map: vals.reduce((s, v) => s + v, 0) / vals.length, perClass: aps };
}

export function levenshtein(a, b) {
  const A = [...a], B = [...b];
  let prev = Array.from({ length: B.length + 1 }, (_, j) => j);
  for (let i = 1; i <= A.length; i++) {
    const cur = [i];
    for (let j = 1; j <= B.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (A[i - 1] === B[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[B.length];
}

export function listFiles(dir, re) {
  return readdirSync(dir).filter((f) => re.test(f)).sort().map((f) => path.join(dir, f));
}

// A minimal PNG writer (8-bit RGB, no filtering) for synthetic test images:
// pixel(x, y) returns [r, g, b].
import zlib from 'node:zlib';
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(td) >>> 0);
  return Buffer.concat([len, td, crc]);
}
export function pngHeaderOnly(width, height) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; ihdr[9] = 2;
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr)]);
}
export function makePng(width, height, pixel) {
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (width * 3 + 1)] = 0;
    for (let x = 0; x < width; x++) {
      const [r, g, b] = pixel(x, y);
      const o = y * (width * 3 + 1) + 1 + x * 3;
      raw[o] = r; raw[o + 1] = g; raw[o + 2] = b;
    }
  }
  return Buffer.concat([pngHeaderOnly(width, height), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}
