// Ingests BEIR SciFact through the HTTP API and computes nDCG@10 per search
// mode on a qrels split. Used by search.test.mjs and runnable by hand:
//   node tests/http/scifact_eval.mjs URL KEY [train|test]
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const SCIFACT = path.resolve(process.env.ATELIER_SOURCE_DIR || '.', '../shared/data/retrieval/scifact');

export async function ingestScifact(url, key, collection = 'scifact') {
  const headers = { 'X-API-Key': key };
  let r = await fetch(`${url}/v1/collections`, {
    method: 'POST', headers: { ...headers, 'Content-Type': 'application/json' }, body: JSON.stringify({ name: collection }),
  });
  if (r.status !== 201) throw new Error(`create: ${r.status} ${await r.text()}`);
  const lines = readFileSync(path.join(SCIFACT, 'corpus.jsonl'), 'utf8').trim().split('\n').map((l) => {
    const d = JSON.parse(l);
    return JSON.stringify({ id: d._id, text: `${d.title}. ${d.text}`, metadata: { title: d.title } });
  });
  r = await fetch(`${url}/v1/collections/${collection}/documents`, {
    method: 'POST', headers: { ...headers, 'Content-Type': 'application/x-ndjson' }, body: lines.join('\n'),
  });
  if (r.status !== 200) throw new Error(`ingest: ${r.status} ${await r.text()}`);
  return { documents: lines.length, ...(await r.json()) };
}

export async function ndcgAt10(url, key, split = 'train', collection = 'scifact', modes = ['bm25', 'vector', 'hybrid']) {
  const queries = new Map(readFileSync(path.join(SCIFACT, 'queries.jsonl'), 'utf8').trim().split('\n')
    .map((l) => JSON.parse(l)).map((q) => [q._id, q.text]));
  const rel = new Map();
  for (const line of readFileSync(path.join(SCIFACT, `qrels/${split}.tsv`), 'utf8').trim().split('\n').slice(1)) {
    const [q, doc, score] = line.split('\t');
    if (!rel.has(q)) rel.set(q, new Map());
    rel.get(q).set(doc, Number(score));
  }
  const out = {};
  for (const mode of modes) {
    let sum = 0;
    for (const [q, judged] of rel) {
      const r = await fetch(`${url}/v1/collections/${collection}/search?k=10&mode=${mode}&q=${encodeURIComponent(queries.get(q))}`,
        { headers: { 'X-API-Key': key } });
      if (r.status !== 200) throw new Error(`search: ${r.status} ${await r.text()}`);
      const hits = (await r.json()).hits.map((h) => h.id);
      let dcg = 0;
      hits.forEach((id, i) => { dcg += (judged.get(id) || 0) / Math.log2(i + 2); });
      const ideal = [...judged.values()].sort((a, b) => b - a).slice(0, 10);
      const idcg = ideal.reduce((s, g, i) => s + g / Math.log2(i + 2), 0);
      sum += idcg > 0 ? dcg / idcg : 0;
    }
    out[mode] = sum / rel.size;
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [url, key, split = 'train'] = process.argv.slice(2);
  console.log(await ndcgAt10(url, key, split));
}
