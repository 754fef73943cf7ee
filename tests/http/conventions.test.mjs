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
