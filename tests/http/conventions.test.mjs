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
