// Wardrobe items through the real binary and the real MobileNetV2: upload and
// auto-tagging, corrections that win over auto tags, filters and pagination,
// similar items, photos, ownership (another owner's item reads as 404), export
// and deletion, bad input; and tag accuracy against the labels of the MANGO
// outfits fixture and the fashion photos.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startServer, json, expectProblem, createKey, BACKEND } from './helpers.mjs';

const SHARED = path.resolve(process.env.ATELIER_SOURCE_DIR || '.', '../shared/data');
const OUTFITS = path.join(SHARED, 'outfits');
const FASHION = path.join(SHARED, 'fashion');

let s, alice, bob;
before(async () => {
  s = await startServer({ ATELIER_IDENTITY_RATE_LIMIT_PER_MINUTE: '0' });
  alice = createKey(s, 'admin', 'alice');
  bob = createKey(s, 'admin', 'bob');
});
after(async () => s && (await s.stop()));

const call = (key, method, route, body, headers = {}) =>
  fetch(`${s.url}${route}`, {
    method,
    body,
    headers: { authorization: `Bearer ${key}`, ...headers },
  });

function upload(key, file, fields = {}) {
  const fd = new FormData();
  fd.append('image', new Blob([readFileSync(file)], { type: 'image/jpeg' }), 'item.jpg');
  for (const [k, v] of Object.entries(fields)) fd.append(k, String(v));
  return call(key, 'POST', '/v1/wardrobe/items', fd);
}

const mango = JSON.parse(readFileSync(path.join(OUTFITS, 'outfits.json'), 'utf8'));
const mangoItems = [...new Map(mango.flatMap((o) => o.items).map((i) => [i.item_id, i])).values()];
const byCategory = (c) => mangoItems.find((i) => i.semantic_category === c);

test('an upload is auto-tagged and embedded; the owner reads it back whole', async () => {
  const jeans = byCategory('Jeans');
  const res = await upload(alice, path.join(OUTFITS, jeans.image), { name: 'My jeans', brand: 'MANGO' });
  assert.equal(res.status, 201);
  const it = await json(res);
  assert.match(it.id, /^wi_[0-9a-f]{24}$/);
  assert.equal(it.name, 'My jeans');
  assert.equal(it.category, 'bottom');
  assert.equal(it.type, 'jeans');
  assert.equal(it.tags.auto.plain_background, true);
  assert.ok(it.tags.auto.category.confidence > 0.3 && it.tags.auto.category.confidence <= 1);
  const sum = Object.values(it.tags.auto.category.scores).reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(sum - 1) < 0.01, `scores sum to ${sum}`);
  assert.ok(it.colors.length >= 1 && it.colors[0].share > 0.3, JSON.stringify(it.colors));
  assert.equal(it.color_family, it.colors[0].family);
  assert.equal(it.formality, 'casual');  // what jeans imply
  assert.deepEqual(it.season, ['spring', 'summer', 'autumn', 'winter']);
  assert.deepEqual(it.tags.user, {});
  const again = await json(await call(alice, 'GET', `/v1/wardrobe/items/${it.id}`));
  assert.deepEqual(again, it);
  const photo = await call(alice, 'GET', `/v1/wardrobe/items/${it.id}/image`);
  assert.equal(photo.status, 200);
  assert.equal(photo.headers.get('content-type'), 'image/jpeg');
  assert.deepEqual(Buffer.from(await photo.arrayBuffer()), readFileSync(path.join(OUTFITS, jeans.image)));
});

test("another owner's item reads as 404 on every route", async () => {
  const it = await json(await upload(alice, path.join(OUTFITS, byCategory('Dresses').image)));
  for (const [method, route, body] of [
    ['GET', `/v1/wardrobe/items/${it.id}`],
    ['GET', `/v1/wardrobe/items/${it.id}/image`],
    ['GET', `/v1/wardrobe/items/${it.id}/similar`],
    ['PATCH', `/v1/wardrobe/items/${it.id}`, JSON.stringify({ name: 'mine now' })],
    ['DELETE', `/v1/wardrobe/items/${it.id}`],
  ]) {
    const res = await call(bob, method, route, body, { 'content-type': 'application/json' });
    await expectProblem(assert, res, 404);
  }
  const bobs = await json(await call(bob, 'GET', '/v1/wardrobe/items'));
  assert.ok(!bobs.items.some((x) => x.id === it.id));
  assert.equal((await call(alice, 'GET', `/v1/wardrobe/items/${it.id}`)).status, 200);
  const anon = await fetch(`${s.url}/v1/wardrobe/items`);
  await expectProblem(assert, anon, 401);
});

test('a correction wins over the auto tag, is kept apart, and null gives the auto tag back', async () => {
  const it = await json(await upload(alice, path.join(OUTFITS, byCategory('Sweater').image), { type: 'jumper' }));
  assert.equal(it.type, 'jumper');  // given at upload: the owner's
  assert.equal(it.tags.user.type, 'jumper');
  const patched = await json(
    await call(alice, 'PATCH', `/v1/wardrobe/items/${it.id}`,
      JSON.stringify({ category: 'outerwear', color_family: 'navy', season: ['winter'], notes: 'wool' }),
      { 'content-type': 'application/json' }),
  );
  assert.equal(patched.category, 'outerwear');
  assert.equal(patched.color_family, 'navy');
  assert.deepEqual(patched.season, ['winter']);
  assert.equal(patched.notes, 'wool');
  assert.equal(patched.tags.auto.category.value, it.tags.auto.category.value, 'auto tags stay as they were');
  assert.deepEqual(patched.tags.user, { category: 'outerwear', type: 'jumper', color_family: 'navy', season: ['winter'] });
  // The correction is what lists filter on.
  const outer = await json(await call(alice, 'GET', '/v1/wardrobe/items?category=outerwear&color_family=navy&season=winter'));
  assert.deepEqual(outer.items.map((x) => x.id), [it.id]);
  const reset = await json(
    await call(alice, 'PATCH', `/v1/wardrobe/items/${it.id}`, JSON.stringify({ category: null }),
      { 'content-type': 'application/json' }),
  );
  assert.equal(reset.category, it.tags.auto.category.value);
  assert.equal(reset.tags.user.category, undefined);
  assert.equal(reset.color_family, 'navy', 'other corrections stay');
});

test('bad input gets problem+json', async () => {
  const it = await json(await upload(alice, path.join(OUTFITS, byCategory('Skirts').image)));
  const patch = (body) =>
    call(alice, 'PATCH', `/v1/wardrobe/items/${it.id}`, body, { 'content-type': 'application/json' });
  for (const body of [
    { category: 'hat' }, { pattern: 'paisley' }, { formality: 'black tie' }, { season: ['monsoon'] },
    { color_family: 'chartreuse' }, { type: '' }, { type: 'x'.repeat(65) }, { unknown: 1 }, { name: 7 },
  ]) {
    const p = await expectProblem(assert, await patch(JSON.stringify(body)), 400);
    assert.ok(p.detail.length > 0);
  }
  await expectProblem(assert, await patch('[1,2]'), 400);
  await expectProblem(assert, await patch('{"name":'), 400);
  await expectProblem(assert, await upload(alice, path.join(OUTFITS, byCategory('Skirts').image), { category: 'shoes' }), 400);
  await expectProblem(assert, await call(alice, 'POST', '/v1/wardrobe/items', 'not an image', { 'content-type': 'image/jpeg' }), 415);
  const jpeg = readFileSync(path.join(OUTFITS, byCategory('Skirts').image));
  await expectProblem(assert, await call(alice, 'POST', '/v1/wardrobe/items', jpeg.subarray(0, jpeg.length / 2), { 'content-type': 'image/jpeg' }), 400);
  await expectProblem(assert, await call(alice, 'POST', '/v1/wardrobe/items', 'plain', { 'content-type': 'text/plain' }), 415);
  await expectProblem(assert, await call(alice, 'GET', '/v1/wardrobe/items?limit=0'), 400);
  await expectProblem(assert, await call(alice, 'GET', '/v1/wardrobe/items?cursor=zzz'), 400);
  await expectProblem(assert, await call(alice, 'GET', '/v1/wardrobe/items?category=hat'), 400);
  await expectProblem(assert, await call(alice, 'GET', `/v1/wardrobe/items/${it.id}/similar?k=0`), 400);
  await expectProblem(assert, await call(alice, 'GET', '/v1/wardrobe/items/wi_nope'), 404);
});

test('lists filter by text and page with a stable cursor; similar items rank by looks', async () => {
  const key = createKey(s, 'admin', 'pager');
  const picks = ['Sandals', 'Handbag', 'Earrings', 'Trousers', 'T-Shirt']
    .map((c) => mangoItems.filter((i) => i.category === c).slice(0, 2))
    .flat();
  const ids = [];
  for (const [n, item] of picks.entries()) {
    const r = await json(await upload(key, path.join(OUTFITS, item.image), { name: `${item.category} ${n}`, brand: n % 2 ? 'Acme' : 'Zed' }));
    ids.push(r.id);
  }
  const seen = [];
  let cursor = null;
  do {
    const page = await json(await call(key, 'GET', `/v1/wardrobe/items?limit=3${cursor ? `&cursor=${cursor}` : ''}`));
    assert.ok(page.items.length <= 3);
    seen.push(...page.items.map((x) => x.id));
    cursor = page.next_cursor;
  } while (cursor);
  assert.deepEqual(seen, [...ids].reverse(), 'newest first, each item once');
  const acme = await json(await call(key, 'GET', '/v1/wardrobe/items?q=acme&limit=100'));
  assert.equal(acme.items.length, 5);
  const sandals = await json(await call(key, 'GET', '/v1/wardrobe/items?q=SANDALS'));
  assert.equal(sandals.items.length, 2);
  const similar = await json(await call(key, 'GET', `/v1/wardrobe/items/${ids[0]}/similar?k=3`));
  assert.equal(similar.items.length, 3);
  assert.ok(!similar.items.some((x) => x.id === ids[0]));
  assert.ok(similar.items[0].score >= similar.items[1].score);
  assert.equal(similar.items[0].id, ids[1], 'the other sandals look most alike');
});

test('export includes the wardrobe; deleting the account deletes it and its photos', async () => {
  const key = createKey(s, 'admin', 'leaver');
  const it = await json(await upload(key, path.join(OUTFITS, byCategory('Footwear').image)));
  const exported = await json(await call(key, 'GET', '/v1/me/export'));
  assert.deepEqual(exported.wardrobe_items.map((x) => x.id), [it.id]);
  assert.equal((await call(key, 'DELETE', `/v1/wardrobe/items/${it.id}`)).status, 204);
  await expectProblem(assert, await call(key, 'GET', `/v1/wardrobe/items/${it.id}`), 404);
  const kept = await json(await upload(key, path.join(OUTFITS, byCategory('Bags').image)));
  assert.equal((await call(key, 'DELETE', '/v1/me')).status, 204);
  const other = await json(await call(alice, 'GET', '/v1/wardrobe/items?limit=100'));
  assert.ok(!other.items.some((x) => x.id === kept.id));
});

// MANGO's colour groups as atelier's families (MANGO files black under GREY
// and beige, camel and gold under WHITE).
const FAMILY_GROUP = {
  white: 'WHITE', beige: 'WHITE', grey: 'GREY', black: 'GREY', brown: 'BROWN', navy: 'BLUE',
  blue: 'BLUE', cyan: 'BLUE', teal: 'BLUE', pink: 'PINK', green: 'GREEN', olive: 'GREEN',
  orange: 'ORANGE', yellow: 'YELLOW', red: 'RED', purple: 'PURPLE',
};
function mangoCategory(i) {
  if (i.group === 'Tops' || ['Intimate', 'Swimwear'].includes(i.semantic_category)) return 'top';
  if (i.group === 'Bottoms') return 'bottom';
  if (i.group.startsWith('Dresses')) return 'dress';
  if (i.group === 'Outerwear') return 'outerwear';
  if (i.semantic_category === 'Footwear') return 'footwear';
  if (['Bags', 'Wallets & cases'].includes(i.semantic_category)) return 'bag';
  return 'accessory';
}

test('tag accuracy on the MANGO outfit items and the fashion photos', { skip: BACKEND !== 'sqlite' && 'measured once, on SQLite' }, async () => {
  const key = createKey(s, 'admin', 'eval');
  let catOk = 0, colOk = 0;
  const perCat = {};
  for (const item of mangoItems) {
    const it = await json(await upload(key, path.join(OUTFITS, item.image)));
    const want = mangoCategory(item);
    (perCat[want] ||= [0, 0])[1]++;
    if (it.category === want) { catOk++; perCat[want][0]++; }
    if (FAMILY_GROUP[it.color_family] === item.color_group) colOk++;
  }
  const cat = catOk / mangoItems.length, col = colOk / mangoItems.length;
  const per = Object.entries(perCat).map(([c, [ok, n]]) => `${c} ${(ok / n).toFixed(2)}`).join(', ');
  console.log(`MANGO ${mangoItems.length} items: category ${cat.toFixed(3)} (${per}); colour group ${col.toFixed(3)}`);

  const rows = readFileSync(path.join(FASHION, 'labels.csv'), 'utf8').trim().split('\n').slice(1)
    .map((l) => l.split(',')).filter(([, group]) => group === 'garments' || group === 'products');
  const want = {
    upper_body: ['top', 'outerwear'], lower_body: ['bottom'], dress: ['dress'], shoes: ['footwear'],
    heels: ['footwear'], flats: ['footwear'], sandals: ['footwear'], flip_flops: ['footwear'],
    bag: ['bag'], wallet: ['bag'], watch: ['accessory'], eyewear: ['accessory'], belt: ['accessory'],
    headwear: ['accessory'],
  };
  let fOk = 0;
  for (const [file, , category] of rows) {
    const it = await json(await upload(key, path.join(FASHION, file)));
    if (want[category].includes(it.category)) fOk++;
  }
  const fashion = fOk / rows.length;
  console.log(`fashion garments and products, ${rows.length} photos: category ${fashion.toFixed(3)}`);
  // Measured here: see the README (Wardrobe). Floors leave room for another
  // OpenCV build, not for a broken foreground, crop or category layer (the
  // vision classifier's own taxonomy, whole frame, scored 0.34 on MANGO).
  assert.ok(cat >= 0.7, `MANGO category accuracy ${cat}`);
  assert.ok(col >= 0.6, `MANGO colour group accuracy ${col}`);
  assert.ok(fashion >= 0.6, `fashion category accuracy ${fashion}`);
});
