// Conventions every route keeps (issue 25), checked across capabilities on
// one real server: a 201 names what it made in `Location`, and that URL
// answers with the same resource.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { startServer, json, createKey, SOURCE_DIR } from './helpers.mjs';

const SHARED = path.resolve(SOURCE_DIR, '../shared/data');
let s, key;
before(async () => {
  s = await startServer();
  key = createKey(s, 'admin', 'conventions');
});
after(async () => s && (await s.stop()));

const call = (method, route, body, headers = {}) =>
  fetch(`${s.url}${route}`, { method, body, headers: { authorization: `Bearer ${key}`, ...headers } });
const postJson = (route, obj) => call('POST', route, JSON.stringify(obj), { 'content-type': 'application/json' });

// The 201 carries Location; a GET there with the same caller answers 200 with `id`.
async function located(res, idField, id) {
  assert.equal(res.status, 201, await res.clone().text());
  const where = res.headers.get('location');
  assert.ok(where && where.startsWith('/v1/'), `Location: ${where}`);
  const got = await call('GET', where);
  assert.equal(got.status, 200, where);
  assert.equal((await json(got))[idField], id, where);
  return where;
}

test('every 201 names what it made in Location, and GET there answers with it', async () => {
  const conv = await postJson('/v1/conversations', { title: 'conventions' });
  await located(conv, 'id', (await json(conv.clone())).id);

  const coll = await postJson('/v1/collections', { name: 'conventions-looks' });
  await located(coll, 'name', 'conventions-looks');

  const room = readdirSync(path.join(SHARED, 'rooms/bedroom')).find((f) => f.endsWith('.jpg'));
  const made = await call('POST', '/v1/rooms?room_type=bedroom&name=conventions',
    readFileSync(path.join(SHARED, 'rooms/bedroom', room)), { 'content-type': 'image/jpeg' });
  await located(made, 'id', (await json(made.clone())).id);

  const outfits = JSON.parse(readFileSync(path.join(SHARED, 'outfits/outfits.json'), 'utf8'));
  const fd = new FormData();
  fd.append('image', new Blob([readFileSync(path.join(SHARED, 'outfits', outfits[0].items[0].image))], { type: 'image/jpeg' }), 'item.jpg');
  const item = await call('POST', '/v1/wardrobe/items', fd);
  await located(item, 'id', (await json(item.clone())).id);

  // Another caller reads what was made as absent, and a bad id is a 404 problem, not a crash.
  const other = createKey(s, 'premium', 'someone-else');
  for (const where of [`/v1/rooms/${(await json(made)).id}`, '/v1/rooms/rm_nope', '/v1/collections/no-such']) {
    const r = await fetch(`${s.url}${where}`, { headers: { authorization: `Bearer ${other}` } });
    assert.equal(r.status, 404, where);
    assert.equal(r.headers.get('content-type'), 'application/problem+json');
  }
  const reg = await fetch(`${s.url}/v1/auth/register`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'conventions@example.com', password: 'correct horse battery' }),
  });
  assert.equal(reg.status, 201);
  assert.equal(reg.headers.get('location'), '/v1/me');
  const made2 = await json(reg);
  const me = await fetch(`${s.url}/v1/me`, { headers: { authorization: `Bearer ${made2.access_token}` } });
  assert.equal((await json(me)).user_id, made2.user.id);
});

test('every POST that creates honours Idempotency-Key: a retry replays, another body is 422', async () => {
  const outfits = JSON.parse(readFileSync(path.join(SHARED, 'outfits/outfits.json'), 'utf8'));
  const photo = readFileSync(path.join(SHARED, 'outfits', outfits[1].items[0].image));
  // A new FormData each time: a new multipart boundary, the same request.
  const upload = () => {
    const fd = new FormData();
    fd.append('image', new Blob([photo], { type: 'image/jpeg' }), 'item.jpg');
    return fd;
  };
  const room = readdirSync(path.join(SHARED, 'rooms/bedroom')).find((f) => f.endsWith('.jpg'));
  const roomBytes = readFileSync(path.join(SHARED, 'rooms/bedroom', room));
  const cases = [
    ['/v1/wardrobe/items', upload, () => { const fd = upload(); fd.append('name', 'other'); return fd; }, {}],
    ['/v1/conversations', ...[{ title: 'idem' }, { title: 'other' }].map((o) => () => JSON.stringify(o)), { 'content-type': 'application/json' }],
    ['/v1/collections', () => JSON.stringify({ name: 'idem-looks' }), () => JSON.stringify({ name: 'idem-other' }), { 'content-type': 'application/json' }],
    ['/v1/rooms?room_type=bedroom&name=idem', () => roomBytes, () => roomBytes.subarray(0, roomBytes.length - 1), { 'content-type': 'image/jpeg' }],
  ];
  const made = {};
  for (const [route, body, otherBody, headers] of cases) {
    const key = `idem-${route}`;
    const first = await call('POST', route, body(), { ...headers, 'idempotency-key': key });
    assert.equal(first.status, 201, `${route}: ${await first.clone().text()}`);
    assert.equal(first.headers.get('idempotent-replayed'), null, route);
    const again = await call('POST', route, body(), { ...headers, 'idempotency-key': key });
    assert.equal(again.status, 201, `${route}: ${await again.clone().text()}`);
    assert.equal(again.headers.get('idempotent-replayed'), 'true', route);
    assert.equal(again.headers.get('location'), first.headers.get('location'), route);
    const a = await json(first);
    assert.deepEqual(await json(again), a, route);
    made[route] = a;
    const other = await call('POST', route, otherBody(), { ...headers, 'idempotency-key': key });
    assert.equal(other.status, 422, `${route}: ${await other.clone().text()}`);
    assert.equal(other.headers.get('content-type'), 'application/problem+json');
  }
  // The retry made nothing: one item with that photo, one conversation with that title.
  const items = (await json(await call('GET', '/v1/wardrobe/items?limit=100'))).items;
  assert.equal(items.filter((i) => i.id === made['/v1/wardrobe/items'].id).length, 1);
  const convs = await json(await call('GET', '/v1/conversations'));
  const list = convs.data ?? convs.conversations ?? convs.items;
  assert.equal(list.filter((c) => c.title === 'idem').length, 1);

  // Feedback and documents too; without a key, two requests make two.
  const fb = { event: 'like', item_id: made['/v1/wardrobe/items'].id };
  const f1 = await postJsonKeyed('/v1/feedback', fb, 'fb-1');
  const f2 = await postJsonKeyed('/v1/feedback', fb, 'fb-1');
  assert.equal(f2.headers.get('idempotent-replayed'), 'true');
  assert.equal((await json(f2)).id, (await json(f1)).id);
  const n1 = await json(await postJson('/v1/feedback', fb));
  const n2 = await json(await postJson('/v1/feedback', fb));
  assert.notEqual(n1.id, n2.id);

  // Keys belong to their caller: another caller's same key is its own.
  const other = createKey(s, 'premium', 'idem-other');
  const theirs = await fetch(`${s.url}/v1/conversations`, {
    method: 'POST', body: JSON.stringify({ title: 'theirs' }),
    headers: { authorization: `Bearer ${other}`, 'content-type': 'application/json', 'idempotency-key': 'idem-/v1/conversations' },
  });
  assert.equal(theirs.status, 201);
  assert.equal(theirs.headers.get('idempotent-replayed'), null);
  assert.equal((await json(theirs)).title, 'theirs');

  const tooLong = await postJsonKeyed('/v1/conversations', { title: 'x' }, 'k'.repeat(256));
  assert.equal(tooLong.status, 400);
});

const postJsonKeyed = (route, obj, key) =>
  call('POST', route, JSON.stringify(obj), { 'content-type': 'application/json', 'idempotency-key': key });

// Every number with a fraction has at most six significant digits.
function assertRounded(text, where) {
  const found = [...text.matchAll(/-?\d+\.\d+(?:[eE][-+]?\d+)?/g)];
  assert.ok(found.length > 0, `${where}: no fractional number to check in ${text.slice(0, 200)}`);
  for (const m of found) {
    const digits = m[0].replace(/^-/, '').replace(/[eE].*$/, '').replace('.', '').replace(/^0+/, '');
    assert.ok(digits.length <= 6, `${where}: ${m[0]} is not rounded`);
  }
}

test('lists are cursor pages with a Link to the next one; times are Unix seconds; numbers are rounded', async () => {
  const now = Date.now() / 1000;
  const reg = await fetch(`${s.url}/v1/auth/register`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'pages@example.com', password: 'correct horse battery' }),
  });
  const token = (await json(reg)).access_token;
  const as = (method, route, body, headers = {}) =>
    fetch(`${s.url}${route}`, { method, body, headers: { authorization: `Bearer ${token}`, ...headers } });
  const outfits = JSON.parse(readFileSync(path.join(SHARED, 'outfits/outfits.json'), 'utf8'));
  const room = readdirSync(path.join(SHARED, 'rooms/bedroom')).find((f) => f.endsWith('.jpg'));
  const roomBytes = readFileSync(path.join(SHARED, 'rooms/bedroom', room));
  const keyIds = [];
  for (let i = 0; i < 3; i++) {
    await as('POST', '/v1/conversations', JSON.stringify({ title: `page ${i}` }), { 'content-type': 'application/json' });
    await as('POST', '/v1/collections', JSON.stringify({ name: `pages-${i}` }), { 'content-type': 'application/json' });
    await as('POST', `/v1/rooms?room_type=bedroom&name=p${i}`, roomBytes, { 'content-type': 'image/jpeg' });
    const fd = new FormData();
    fd.append('image', new Blob([readFileSync(path.join(SHARED, 'outfits', outfits[2].items[i].image))], { type: 'image/jpeg' }), 'i.jpg');
    await as('POST', '/v1/wardrobe/items', fd);
    const k = await as('POST', '/v1/keys', JSON.stringify({ name: `k${i}` }), { 'content-type': 'application/json' });
    assert.equal(k.status, 201);
    const made = await json(k);
    assert.equal(k.headers.get('location'), `/v1/keys/${made.id}`);
    keyIds.push(made.id);
  }
  for (const [route, field, idField] of [['/v1/conversations', 'conversations', 'id'], ['/v1/collections', 'collections', 'name'],
    ['/v1/rooms', 'rooms', 'id'], ['/v1/wardrobe/items', 'items', 'id'], ['/v1/keys', 'keys', 'id']]) {
    const seen = [];
    let next = `${route}?limit=2`;
    let pages = 0;
    while (next) {
      const r = await as('GET', next);
      assert.equal(r.status, 200, `${next}: ${await r.clone().text()}`);
      const body = await json(r);
      assert.ok(body[field].length <= 2, next);
      seen.push(...body[field].map((x) => x[idField]));
      for (const x of body[field]) {
        if ('created_at' in x) assert.ok(Math.abs(x.created_at - now) < 3600, `${route}: created_at ${x.created_at} is not Unix seconds`);
      }
      const link = r.headers.get('link');
      if (body.next_cursor === null) {
        assert.equal(link, null, next);
        next = null;
      } else {
        const m = /^<([^>]+)>; rel="next"$/.exec(link ?? '');
        assert.ok(m, `${next}: Link ${link}`);
        assert.ok(m[1].startsWith(`${route}?`) && m[1].includes('limit=2'), m[1]);
        next = m[1];
      }
      pages += 1;
    }
    assert.equal(new Set(seen).size, seen.length, `${route}: a page repeated an entry`);
    assert.ok(seen.length >= 3 && pages >= 2, `${route}: ${seen.length} in ${pages} pages`);
  }

  // Own keys: fetched, listed, invisible to others, revoked.
  const mine = await as('GET', `/v1/keys/${keyIds[0]}`);
  assert.equal(mine.status, 200);
  assert.equal((await json(mine)).key, undefined, 'a key is never shown again');
  const stranger = createKey(s, 'premium', 'stranger');
  for (const method of ['GET', 'DELETE']) {
    const r = await fetch(`${s.url}/v1/keys/${keyIds[0]}`, { method, headers: { authorization: `Bearer ${stranger}` } });
    assert.ok([403, 404].includes(r.status), `${method}: ${r.status}`);
  }
  const other = await fetch(`${s.url}/v1/auth/register`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'pages-other@example.com', password: 'correct horse battery' }),
  });
  const otherToken = (await json(other)).access_token;
  const peek = await fetch(`${s.url}/v1/keys/${keyIds[0]}`, { headers: { authorization: `Bearer ${otherToken}` } });
  assert.equal(peek.status, 404);
  assert.equal((await as('DELETE', `/v1/keys/${keyIds[0]}`)).status, 204);
  assert.equal((await as('GET', `/v1/keys/${keyIds[0]}`)).status, 200);
  assert.equal((await json(await as('GET', `/v1/keys/${keyIds[0]}`))).revoked, true);

  // Numbers: an outfit's scores and a detection's boxes, as sent.
  const items = (await json(await as('GET', '/v1/wardrobe/items'))).items;
  const evaluated = await as('POST', '/v1/outfits/evaluate', JSON.stringify({ item_ids: items.slice(0, 3).map((x) => x.id) }), { 'content-type': 'application/json' });
  assert.equal(evaluated.status, 200);
  assertRounded(await evaluated.text(), 'outfits/evaluate');
  const detected = await as('POST', '/v1/vision/detect', roomBytes, { 'content-type': 'image/jpeg' });
  assert.equal(detected.status, 200);
  assertRounded(await detected.text(), 'vision/detect');
});

test('documents are listable and fetchable; search hits carry text and metadata on request; field errors name their field', async () => {
  const made = await postJson('/v1/collections', { name: 'conventions-docs' });
  assert.equal(made.status, 201);
  const docs = [
    { id: 'tweed', text: 'Tweed is a rough woollen fabric from Scotland.', metadata: { kind: 'fabric' } },
    { id: 'linen', text: 'Linen is woven from flax and breathes in summer heat.', metadata: { kind: 'fabric' } },
    { id: 'loafer', text: 'A loafer is a slip-on shoe without laces.', metadata: { kind: 'shoe' } },
  ];
  const ingested = await postJson('/v1/collections/conventions-docs/documents', docs);
  assert.equal(ingested.status, 200, await ingested.clone().text());

  const seen = [];
  let next = '/v1/collections/conventions-docs/documents?limit=2';
  while (next) {
    const r = await call('GET', next);
    assert.equal(r.status, 200, await r.clone().text());
    const page = await json(r);
    seen.push(...page.documents);
    next = page.next_cursor ? /^<([^>]+)>/.exec(r.headers.get('link'))[1] : null;
  }
  assert.deepEqual(seen.map((d) => d.id), ['linen', 'loafer', 'tweed']);
  // The Link is built from decoded, re-encoded parameters: nothing a caller writes can
  // close its <...> or point it elsewhere, and an escaped cursor is replaced like any other.
  const sneaky = await call('GET', '/v1/collections/conventions-docs/documents?limit=1&a=%3E;rel="x",<https://evil/?&%63ursor=zzz');
  if (sneaky.status === 200) {
    const link = sneaky.headers.get('link');
    assert.match(link, /^<\/v1\/collections\/conventions-docs\/documents\?[^<>"]*>; rel="next"$/, link);
    assert.ok(!link.includes('zzz'), link);
  } else {
    assert.equal(sneaky.status, 400);  // an escaped cursor that is not ours is refused, not followed
  }
  // Stored metadata comes back as stored, not rounded.
  await postJson('/v1/collections/conventions-docs/documents', [{ id: 'pin', text: 'a shop', metadata: { lat: 51.5073509 } }]);
  assert.equal((await json(await call('GET', '/v1/collections/conventions-docs/documents/pin'))).metadata.lat, 51.5073509);
  await call('DELETE', '/v1/collections/conventions-docs/documents/pin');
  assert.deepEqual(seen.find((d) => d.id === 'tweed'), docs[0]);
  const one = await call('GET', '/v1/collections/conventions-docs/documents/loafer');
  assert.deepEqual(await json(one), docs[2]);
  const gone = await call('GET', '/v1/collections/conventions-docs/documents/nope');
  assert.equal(gone.status, 404);
  // Another caller reads a private collection's documents as absent, named by
  // its ref (by name it would be the other caller's own "conventions-docs").
  const other = createKey(s, 'premium', 'docs-other');
  const { ref } = await json(await call('GET', '/v1/collections/conventions-docs'));
  const peek = await fetch(`${s.url}/v1/collections/${ref}/documents/tweed`, { headers: { authorization: `Bearer ${other}` } });
  assert.equal(peek.status, 404);
  const owned = await fetch(`${s.url}/v1/collections/${ref}/documents/tweed`, { headers: { authorization: `Bearer ${key}` } });
  assert.equal(owned.status, 200, 'the owner reads the same ref');

  const plain = await json(await call('GET', '/v1/collections/conventions-docs/search?q=woollen+fabric&mode=bm25'));
  assert.equal(plain.hits[0].id, 'tweed');
  assert.equal(plain.hits[0].text, undefined);
  const full = await json(await call('GET', '/v1/collections/conventions-docs/search?q=woollen+fabric&mode=bm25&include=text,metadata'));
  assert.equal(full.hits[0].text, docs[0].text);
  assert.deepEqual(full.hits[0].metadata, { kind: 'fabric' });

  // A field error: its own problem type and RFC 9457's invalid-params.
  const bad = await call('GET', '/v1/collections/conventions-docs/search?q=x&include=vectors');
  assert.equal(bad.status, 400);
  const problem = await json(bad);
  assert.equal(problem.type, 'urn:atelier:problem:invalid-params');
  assert.deepEqual(problem['invalid-params'], [{ name: 'include', reason: problem.detail }]);
  const cursor = await json(await call('GET', '/v1/collections/conventions-docs/documents?cursor=forged'));
  assert.equal(cursor.type, 'urn:atelier:problem:malformed-cursor');
  const noRoute = await json(await call('GET', '/v1/no-such-thing'));
  assert.equal(noRoute.type, 'urn:atelier:problem:no-route');
});
