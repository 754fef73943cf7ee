// Definitions from GCIDE (the GNU Collaborative International Dictionary of
// English, Debian's dict-gcide: Webster's 1913 and later additions), read at
// test time as an independent source of questions about the knowledge base's
// headwords: each query is a headword's first noun sense in GCIDE's words,
// with the headword itself taken out.
import { readFileSync, existsSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

const DICT = '/usr/share/dictd/gcide.dict.dz';
const INDEX = '/usr/share/dictd/gcide.index';
export const gcideAvailable = () => existsSync(DICT) && existsSync(INDEX);

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const decode = (s) => [...s].reduce((a, c) => a * 64 + B64.indexOf(c), 0);

// headword (lower case) -> its entries' texts, in the dictionary's order.
export function loadGcide() {
  const data = gunzipSync(readFileSync(DICT));  // dictzip is gzip with an extra field
  const entries = new Map();
  for (const line of readFileSync(INDEX, 'utf8').split('\n')) {
    const [head, off, len] = line.split('\t');
    if (!len || head.startsWith('00-')) continue;
    const text = data.subarray(decode(off), decode(off) + decode(len)).toString('utf8');
    const k = head.toLowerCase();
    if (!entries.has(k)) entries.set(k, []);
    entries.get(k).push(text);
  }
  return entries;
}

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// The first noun sense of the first noun entry, cleaned of markup, with the
// headword (and its plural) removed; null when there is none.
export function definitionQuery(entries, headword) {
  const list = entries.get(headword.toLowerCase());
  if (!list) return null;
  for (const e of list) {
    const [first, ...rest] = e.split('\n');
    if (!/,\s*n\.|\bn\.\s*[;,[]|\bn\.\s*$/.test(first)) continue;
    let body = [first.replace(/^[^\\]*\\[^\\]*\\,?/, ''), ...rest].join(' ');
    let prev;
    do { prev = body; body = body.replace(/\[[^[\]]*\]/g, ' '); } while (body !== prev);  // etymology, sources
    body = body.replace(/--\s*[A-Z][\w. ]*\./g, ' ')          // --Author.
      .replace(/\{([^}]*)\}/g, '$1')                          // {cross references}
      .replace(/\b(n|pl|a|v|adj)\.\s*(;|,)?/g, ' ')
      .replace(/\s+/g, ' ').trim();
    const senses = body.split(/\s\d+\.\s/);
    let sense = (senses.length > 1 ? senses[1] : senses[0]).split(/\s\d+\.\s/)[0];
    sense = sense.replace(/^\(\w[^)]*\)\s*/, '');  // (Zool.), (Her.)
    sense = sense.replace(new RegExp(`\\b${escape(headword)}(e?s)?\\b`, 'gi'), ' ').replace(/\s+/g, ' ').trim();
    if (sense.split(' ').length >= 3) return sense;
  }
  return null;
}
