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
  let cursor = null, first = null;
  do {
    const page = await json(await call(key, 'GET', `/v1/wardrobe/items?limit=3${cursor ? `&cursor=${cursor}` : ''}`));
    assert.ok(page.items.length <= 3);
    seen.push(...page.items.map((x) => x.id));
    cursor = page.next_cursor;
    first ??= cursor;
  } while (cursor);
  assert.deepEqual(seen, [...ids].reverse(), 'newest first, each item once');
  // Cursors are opaque and signed: one altered, forged in the old readable
  // format, or used by another caller or on another list is refused.
  assert.ok(!first.includes(ids[ids.length - 3]), 'the cursor does not show the id it continues from');
  const flip = (c, i) => c.slice(0, i) + (c[i] === 'A' ? 'B' : 'A') + c.slice(i + 1);
  for (const bad of [flip(first, 2), flip(first, first.length - 3), `${Date.now()}.${ids[0]}`, first.split('.')[0]]) {
    const p = await expectProblem(assert, await call(key, 'GET', `/v1/wardrobe/items?cursor=${encodeURIComponent(bad)}`), 400);
    assert.equal(p.detail, 'malformed cursor');
  }
  const other = createKey(s, 'admin', 'pager-other');
  await expectProblem(assert, await call(other, 'GET', `/v1/wardrobe/items?cursor=${encodeURIComponent(first)}`), 400);
  await expectProblem(assert, await call(key, 'GET', `/v1/designs?cursor=${encodeURIComponent(first)}`), 400);
  const acme = await json(await call(key, 'GET', '/v1/wardrobe/items?q=acme&limit=100'));
  assert.equal(acme.items.length, 5);
  const sandals = await json(await call(key, 'GET', '/v1/wardrobe/items?q=SANDALS'));
  assert.equal(sandals.items.length, 2);
  const similar = await json(await call(key, 'GET', `/v1/wardrobe/items/${ids[0]}/similar?k=3`));
  assert.equal(similar.items.length, 3);
  assert.ok(!similar.items.some((x) => x.id === ids[0]));
  assert.ok(similar.items[0].score >= similar.items[1].score);
  assert.equal(similar.items[0].id, ids[1], 'the other sandals look most alike');
  // Tags are embedded as text too: similar by tags, and search by words.
  const items = (await json(await call(key, 'GET', '/v1/wardrobe/items?limit=100'))).items;
  assert.ok(items.every((x) => x.tag_embedding_model === 'glove-sif-100d'));
  const byTags = await json(await call(key, 'GET', `/v1/wardrobe/items/${ids[0]}/similar?k=3&by=tags`));
  // Colour words weigh as much as the name: the other sandals are among the three nearest.
  assert.ok(byTags.items.some((x) => x.id === ids[1]), JSON.stringify(byTags.items.map((x) => x.name)));
  assert.ok(byTags.items[0].score >= byTags.items[2].score);
  const search = async (q, k = 2) => json(await call(key, 'GET', `/v1/wardrobe/search?q=${encodeURIComponent(q)}&k=${k}`));
  assert.deepEqual((await search('sandals')).items.map((x) => x.id).sort(), [ids[0], ids[1]].sort());
  assert.equal((await search('shoes for the beach', 1)).items[0].category, 'footwear');
  // An edit re-embeds the words.
  const renamed = await json(await call(key, 'PATCH', `/v1/wardrobe/items/${ids[2]}`, JSON.stringify({ name: 'evening clutch' }), { 'content-type': 'application/json' }));
  assert.equal(renamed.name, 'evening clutch');
  assert.equal((await search('clutch', 1)).items[0].id, ids[2]);
  assert.deepEqual((await search('zzqx')).items, [], 'no known word: nothing is near');
  await expectProblem(assert, await call(key, 'GET', '/v1/wardrobe/search'), 400);
  await expectProblem(assert, await call(key, 'GET', `/v1/wardrobe/items/${ids[0]}/similar?by=colour`), 400);
  // Another owner's items are not searched.
  assert.deepEqual((await json(await call(bob, 'GET', '/v1/wardrobe/search?q=sandals'))).items.filter((x) => ids.includes(x.id)), []);
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

// The MANGO items uploaded by the accuracy test, for the outfit protocols.
const evalIds = new Map();
let evalKey;

test('tag accuracy on the MANGO outfit items and the fashion photos', { skip: BACKEND !== 'sqlite' && 'measured once, on SQLite' }, async () => {
  const key = (evalKey = createKey(s, 'admin', 'eval'));
  // The category probe was fitted on the items of the fitting side of the
  // item-disjoint split; the others were never seen in fitting.
  const fitting = new Set(itemDisjointGreedy(mango).fitted.flatMap((o) => o.items.map((i) => i.item_id)));
  const tally = () => ({ cat: 0, col: 0, n: 0, per: {}, confident: 0, confidentOk: 0, typed: 0, typeGiven: 0, typeOk: 0 });
  // MANGO's product category as atelier's type, where atelier has one.
  const MANGO_TYPE = {
    'T-Shirt': 't-shirt', Top: 'top', Blouse: 'blouse', Shirt: 'shirt', Sweatshirt: 'sweatshirt',
    Sweater: 'sweater', Cardigan: 'cardigan', Bras: 'bra', 'Bikini top': 'bikini', Vest: 'vest',
    Jeans: 'jeans', Trousers: 'trousers', Shorts: 'shorts', Skirt: 'skirt', Leggings: 'leggings',
    Dress: 'dress', Jumpsuit: 'jumpsuit', Blazer: 'blazer', Jacket: 'jacket', Trenchcoat: 'trench coat',
    Coat: 'coat', Parka: 'parka', Sandals: 'sandals', Trainers: 'sneakers', Boots: 'boots',
    'Ankle Boots': 'boots', Handbag: 'handbag', 'Shoulder bag': 'shoulder bag', Sunglasses: 'sunglasses',
    Hat: 'hat', Scarf: 'scarf', Gloves: 'gloves', Socks: 'socks',
  };
  const seen = tally(), unseen = tally();
  for (const item of mangoItems) {
    const it = await json(await upload(key, path.join(OUTFITS, item.image)));
    evalIds.set(item.item_id, it);
    const t = fitting.has(item.item_id) ? seen : unseen;
    const want = mangoCategory(item);
    (t.per[want] ||= [0, 0])[1]++;
    t.n++;
    if (it.category === want) { t.cat++; t.per[want][0]++; }
    if (FAMILY_GROUP[it.color_family] === item.color_group) t.col++;
    const wantType = MANGO_TYPE[item.category];
    if (wantType) {
      t.typed++;
      const type = it.tags.auto.type?.value;
      if (type) { t.typeGiven++; t.typeOk += type === wantType; }
    }
    const confidence = it.tags.auto.category.confidence;
    if (confidence >= 0.8) { t.confident++; t.confidentOk += it.category === want; }
  }
  const show = (t) => `category ${(t.cat / t.n).toFixed(3)} (` +
    Object.entries(t.per).map(([c, [ok, n]]) => `${c} ${(ok / n).toFixed(2)}`).join(', ') +
    `); colour group ${(t.col / t.n).toFixed(3)}; confidence >= 0.8 for ${(t.confident / t.n).toFixed(2)} of items, ` +
    `right for ${(t.confidentOk / t.confident).toFixed(3)} of them; type given for ${(t.typeGiven / t.typed).toFixed(2)} ` +
    `of the ${t.typed} items whose MANGO category atelier names, right for ${(t.typeOk / t.typeGiven).toFixed(3)} of those`;
  console.log(`MANGO items never seen in fitting (${unseen.n}): ${show(unseen)}`);
  console.log(`MANGO items the probe was fitted on (${seen.n}): ${show(seen)}`);
  const cat = unseen.cat / unseen.n, col = (seen.col + unseen.col) / (seen.n + unseen.n);

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
  // Never-seen items: 0.883 in bench_fit_tagger (issue 26 aims at 0.80).
  assert.ok(cat >= 0.84, `MANGO category accuracy on never-seen items ${cat}`);
  assert.ok(unseen.confident > 0 && unseen.confidentOk / unseen.confident >= 0.9, 'a confident category is right');
  // The type probe's type is given when it is sure enough (0.66 of these,
  // right for 0.786 when this was written; ImageNet's names alone: 0.46 and
  // 0.529): left out rather than guessed.
  assert.ok(unseen.typeGiven / unseen.typed >= 0.55 && unseen.typeOk / unseen.typeGiven >= 0.75,
    `type given for ${unseen.typeGiven} of ${unseen.typed}, right for ${unseen.typeOk}`);
  assert.ok(col >= 0.6, `MANGO colour group accuracy ${col}`);
  assert.ok(fashion >= 0.6, `fashion category accuracy ${fashion}`);
});

// ---- Outfits ----

function b64(file) {
  return readFileSync(file).toString('base64');
}
const post = (key, route, body) =>
  call(key, 'POST', route, JSON.stringify(body), { 'content-type': 'application/json' });

// Every sentence the engine writes is one of a few templates over the items'
// tags; each is checked against the tags of the items it names.
function checkExplanation(sentences, byLabel) {
  const families = ['beige', 'black', 'blue', 'brown', 'cyan', 'green', 'grey', 'navy', 'olive',
    'orange', 'pink', 'purple', 'red', 'teal', 'white', 'yellow'];
  const levels = ['casual', 'smart casual', 'business', 'formal'];
  const names = (text) => text.split(/, | and /).map((x) => x.trim());
  for (const s of sentences) {
    let m;
    if ((m = s.match(/^(.*) are (?:all|both) (.*)\.$/))) {
      if (s.includes(' are both ')) assert.equal(names(m[1]).length, 2, s);
      for (const n of names(m[1])) {
        const it = byLabel[n.toLowerCase()];
        assert.ok(it, `"${n}" in "${s}" names no item`);
        if (families.includes(m[2])) assert.equal(it.color_family, m[2], s);
        else if (levels.includes(m[2])) assert.equal(it.formality, m[2], s);
        else assert.fail(`unknown claim "${s}"`);
      }
    } else if ((m = s.match(/^It has (two|three|four|five|six|seven|eight|nine) (bottoms|dresses|pieces of outerwear|pairs of footwear|bags): (.*)\.$/))) {
      const ns = names(m[3]);
      const category = { bottoms: 'bottom', dresses: 'dress', 'pieces of outerwear': 'outerwear', 'pairs of footwear': 'footwear', bags: 'bag' }[m[2]];
      assert.equal(ns.length, ['two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'].indexOf(m[1]) + 2, s);
      for (const n of ns) assert.equal(byLabel[n.toLowerCase()].category, category, s);
    } else if ((m = s.match(/^The only accent colour comes from (.*); the rest is neutral\.$/))) {
      assert.ok(byLabel[m[1].toLowerCase()], `"${m[1]}" in "${s}" names no item`);
    } else if ((m = s.match(/^(.*) (?:is|are) (casual|smart casual|business|formal) while (.*) (?:is|are) (casual|smart casual|business|formal)\.$/))) {
      for (const n of names(m[1])) assert.equal(byLabel[n.toLowerCase()].formality, m[2], s);
      for (const n of names(m[3])) assert.equal(byLabel[n.toLowerCase()].formality, m[4], s);
    } else if (s === 'It has no top and bottom and no dress, so it is not a full outfit.') {
      const cats = Object.values(byLabel).map((x) => x.category);
      assert.ok(!cats.includes('dress') && !(cats.includes('top') && cats.includes('bottom')), s);
    } else if (s === 'A dress and a bottom are rarely worn together.') {
      const cats = Object.values(byLabel).map((x) => x.category);
      assert.ok(cats.includes('dress') && cats.includes('bottom'), s);
    } else if ((m = s.match(/^What lowers the score most: (.*) and (.*) (are rarely worn in the same looks|have the least colour in common)\.$/))) {
      for (const n of [m[1], m[2]]) assert.ok(byLabel[n.toLowerCase()], `"${n}" in "${s}" names no item`);
    } else if (!/^(What lowers the score most: (the pieces|the accent colours|there are|the photos)|Every item is in a neutral colour|.* are (analogous|complementary|triadic) colours|.* have hues that neither|The items have no season in common|The photos look alike in style)/.test(s)) {
      assert.fail(`an unchecked sentence: "${s}"`);
    }
  }
}

test('evaluate: by id or inline, with aspects and an explanation true to the tags', async () => {
  const key = createKey(s, 'admin', 'stylist');
  const outfit = mango.find((o) => o.items.length >= 4);
  const byLabel = {};
  const ids = [];
  for (const [n, item] of outfit.items.entries()) {
    const it = await json(await upload(key, path.join(OUTFITS, item.image), { name: `piece ${n + 1}` }));
    ids.push(it.id);
    byLabel[`piece ${n + 1}`] = it;
  }
  const r = await post(key, '/v1/outfits/evaluate', { item_ids: ids });
  assert.equal(r.status, 200);
  const e = await json(r);
  assert.ok(e.score >= 0 && e.score <= 1);
  assert.ok(['goes well together', 'works', 'clashes'].includes(e.verdict));
  for (const a of ['color_harmony', 'formality', 'structure', 'visual']) assert.ok(e.aspects[a] >= 0 && e.aspects[a] <= 1, a);
  assert.ok(e.explanation.length > 0);
  checkExplanation(e.explanation, byLabel);
  // The same photos sent inline score the same.
  const inline = await json(await post(key, '/v1/outfits/evaluate', {
    items: outfit.items.map((i, n) => ({ image: b64(path.join(OUTFITS, i.image)), name: `piece ${n + 1}` })),
  }));
  assert.equal(inline.score, e.score);
  assert.deepEqual(inline.explanation, e.explanation);
  // Two bottoms and no top: the structure says so, and the claim is checked.
  const jeans = await json(await upload(key, path.join(OUTFITS, byCategory('Jeans').image), { name: 'jeans' }));
  const skirt = await json(await upload(key, path.join(OUTFITS, byCategory('Skirts').image), { name: 'skirt', category: 'bottom' }));
  const two = await json(await post(key, '/v1/outfits/evaluate', { item_ids: [jeans.id, skirt.id] }));
  assert.ok(two.aspects.structure < 1);
  checkExplanation(two.explanation, { jeans, skirt });
  // Below "goes well together", the first sentence names what costs the score most (issue 26).
  for (const x of [e, two]) {
    if (x.score >= 0.6) {
      assert.equal(x.lowered_by, null);
      assert.ok(!x.explanation.some((line) => line.startsWith('What lowers')));
      continue;
    }
    const says = { palette: /least colour in common|share little colour/, style: /rarely worn in the same looks/, structure: /one wearable outfit/ }[x.lowered_by];
    assert.ok(says, `a reason the explanation can name: ${x.lowered_by}`);
    assert.match(x.explanation[0], says, `${x.lowered_by}: ${x.explanation[0]}`);
  }
  console.log(`two bottoms: ${two.score} ${two.verdict}, lowered by ${two.lowered_by}: ${two.explanation[0]}`);
  assert.ok(two.explanation.some((x) => x.startsWith('It has two bottoms')));
});

test('evaluate refuses bad input with problem+json', async () => {
  const key = createKey(s, 'admin', 'evaluator');
  const a = await json(await upload(key, path.join(OUTFITS, byCategory('Jeans').image)));
  const b = await json(await upload(key, path.join(OUTFITS, byCategory('T-shirt').image)));
  const theirs = await json(await upload(alice, path.join(OUTFITS, byCategory('Footwear').image)));
  await expectProblem(assert, await post(key, '/v1/outfits/evaluate', { item_ids: [a.id] }), 400);
  await expectProblem(assert, await post(key, '/v1/outfits/evaluate', { item_ids: Array(10).fill(a.id) }), 400);
  await expectProblem(assert, await post(key, '/v1/outfits/evaluate', { item_ids: [a.id, a.id] }), 400);
  await expectProblem(assert, await post(key, '/v1/outfits/evaluate', { item_ids: [a.id, theirs.id] }), 404);
  await expectProblem(assert, await post(key, '/v1/outfits/evaluate', { item_ids: [a.id, 'wi_nope'] }), 404);
  await expectProblem(assert, await post(key, '/v1/outfits/evaluate', { item_ids: [a.id, b.id], items: [] }), 400);
  await expectProblem(assert, await post(key, '/v1/outfits/evaluate', {}), 400);
  await expectProblem(assert, await post(key, '/v1/outfits/evaluate', { items: [{ image: 'AAAA' }, { image: 'AAAA' }] }), 415);
  await expectProblem(assert, await post(key, '/v1/outfits/evaluate', { items: [{ nope: 1 }, { nope: 2 }] }), 400);
});

test('recommend builds complete, diverse outfits; the same seed gives the same answer', async () => {
  const key = createKey(s, 'admin', 'dresser');
  const pick = (cat, n) => mangoItems.filter((i) => i.semantic_category === cat).slice(0, n);
  const items = {};
  for (const i of [...pick('T-shirt', 3), ...pick('Shirt', 2), ...pick('Jeans', 2), ...pick('Trousers', 2),
    ...pick('Dresses', 2), ...pick('Footwear', 3), ...pick('Bags', 2), ...pick('Coats', 1)]) {
    const it = await json(await upload(key, path.join(OUTFITS, i.image)));
    items[it.id] = it;
  }
  const rec = (body) => post(key, '/v1/outfits/recommend', body);
  const r = await json(await rec({ count: 4, seed: 7 }));
  assert.ok(r.outfits.length >= 2 && r.outfits.length <= 4, JSON.stringify(r));
  for (const o of r.outfits) {
    const cats = o.item_ids.map((id) => items[id].category);
    assert.ok(cats.includes('dress') || (cats.includes('top') && cats.includes('bottom')), cats.join());
    assert.equal(cats.filter((c) => c === 'footwear').length, 1, 'footwear when there is any');
    assert.ok(o.score >= 0 && o.score <= 1 && o.explanation.length > 0);
  }
  for (let i = 0; i < r.outfits.length; i++)
    for (let j = i + 1; j < r.outfits.length; j++) {
      const a = r.outfits[i].item_ids, b = r.outfits[j].item_ids;
      const shared = a.filter((x) => b.includes(x)).length;
      assert.ok(2 * shared <= Math.min(a.length, b.length), `outfits ${i} and ${j} share ${shared}`);
    }
  assert.deepEqual(await json(await rec({ count: 4, seed: 7 })), r);
  // Anchors are in every outfit; excluded items in none; cold weather adds the coat.
  const anchor = Object.values(items).find((x) => x.category === 'bottom');
  const excluded = Object.values(items).filter((x) => x.category === 'footwear')[0];
  const cold = await json(await rec({ anchor_item_ids: [anchor.id], exclude_item_ids: [excluded.id], weather: { temperature_c: 5 }, count: 3 }));
  assert.ok(cold.outfits.length >= 1);
  for (const o of cold.outfits) {
    assert.ok(o.item_ids.includes(anchor.id));
    assert.ok(!o.item_ids.includes(excluded.id));
    assert.ok(o.item_ids.some((id) => items[id].category === 'outerwear'), 'a coat when it is cold');
  }
  // Fill: the caller's footwear ranked by how well each completes the anchors.
  const top = Object.values(items).find((x) => x.category === 'top');
  const fill = await json(await rec({ anchor_item_ids: [top.id, anchor.id], fill: { category: 'footwear' }, k: 2 }));
  assert.equal(fill.items.length, 2);
  assert.ok(fill.items.every((x) => items[x.id].category === 'footwear' && x.explanation.length > 0));
  assert.ok(fill.items[0].score >= fill.items[1].score);
  // Bad and empty.
  await expectProblem(assert, await rec({ count: 0 }), 400);
  await expectProblem(assert, await rec({ occasion: 'wedding' }), 400);
  await expectProblem(assert, await rec({ anchor_item_ids: [anchor.id], exclude_item_ids: [anchor.id] }), 400);
  await expectProblem(assert, await rec({ season: 'summer', weather: { temperature_c: -10 } }), 400);
  await expectProblem(assert, await rec({ anchor_item_ids: ['wi_nope'] }), 404);
  await expectProblem(assert, await rec({ fill: { category: 'hats' }, anchor_item_ids: [top.id] }), 400);
  await expectProblem(assert, await rec({ colour: 'red' }), 400);
  const empty = await json(await post(createKey(s, 'admin', 'nothing'), '/v1/outfits/recommend', {}));
  assert.deepEqual(empty.outfits, []);
  assert.match(empty.note, /empty/);
});

// The fixture README's protocols through HTTP: swaps within MANGO's family,
// drawn by how often items occur, from the same catalogue year.
// FNV-1a (32 bits) over a string's bytes, as bench/wardrobe/fit_outfits.cpp.
const fnv1a = (str) => {
  let h = 2166136261;
  for (const b of Buffer.from(str)) h = Math.imul(h ^ b, 16777619) >>> 0;
  return h;
};
// bench_fit_outfits' greedy item-disjoint split, which the weights are
// fitted on: outfits in FNV-1a order join the side their items are on (half
// of the free ones start the measured side); one with items on both
// sides is left out. The measured side shares no item with the fitted one.
function itemDisjointGreedy(all) {
  const order = [...all].sort((a, b) => fnv1a(a.id) - fnv1a(b.id) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const side = new Map();  // item id -> 1 fitted, 2 measured
  const fitted = [], measured = [];
  for (const o of order) {
    let seen = 0;
    for (const i of o.items) seen |= side.get(i.item_id) || 0;
    if (seen === 3) continue;
    const to = seen || (fnv1a(`${o.id}#side`) % 2 === 0 ? 2 : 1);
    for (const i of o.items) side.set(i.item_id, to);
    (to === 2 ? measured : fitted).push(o);
  }
  return { fitted, measured };
}

test('compatibility AUC, FITB and fill recall@10 on MANGO outfits that share no item with those the weights were fitted on', { skip: BACKEND !== 'sqlite' && 'measured once, on SQLite' }, async () => {
  assert.equal(evalIds.size, mangoItems.length, 'the accuracy test uploaded every item');
  let seed = 20261126;
  const rand = () => {  // mulberry32
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const year = (i) => i.source_image_path.split('/').pop().slice(0, 4);
  const pool = new Map();
  for (const o of mango) for (const i of o.items) {
    const k = `${i.aggregated_family}|${year(i)}`;
    if (!pool.has(k)) pool.set(k, []);
    pool.get(k).push(i.item_id);  // once per occurrence
  }
  const draw = (i) => {
    const c = pool.get(`${i.aggregated_family}|${year(i)}`);
    for (let t = 0; t < 50; t++) {
      const pick = c[Math.floor(rand() * c.length)];
      if (pick !== i.item_id) return pick;
    }
    return i.item_id;
  };
  // The score, and the colour-harmony aspect as the colour baseline measured
  // in the same run.
  const judge = async (mangoIds) => {
    const r = await post(evalKey, '/v1/outfits/evaluate', { item_ids: mangoIds.map((m) => evalIds.get(m).id) });
    assert.equal(r.status, 200);
    const e = await json(r);
    return { score: e.score, colour: e.aspects.color_harmony };
  };
  // The measured side of the item-disjoint split: outfits none of whose
  // items the weights were fitted with, scored in a wardrobe of the whole
  // fixture (about the size of a never-seen set).
  const { fitted, measured } = itemDisjointGreedy(mango);
  const fittedItems = new Set(fitted.flatMap((o) => o.items.map((i) => i.item_id)));
  assert.ok(measured.every((o) => o.items.every((i) => !fittedItems.has(i.item_id))), 'item-disjoint');
  const outfits = measured.filter((o) => new Set(o.items.map((i) => i.item_id)).size === o.items.length);
  const pos = [], neg = [];
  let fitb = 0, fitbColour = 0, fill = 0, fillChance = 0;
  for (const o of outfits) {
    const ids = o.items.map((i) => i.item_id);
    const real = await judge(ids);
    pos.push(real);
    for (let k = 0; k < 3; k++) {
      const swapped = o.items.map(draw);
      if (new Set(swapped).size === swapped.length) neg.push(await judge(swapped));
    }
    const blank = Math.floor(rand() * o.items.length);
    let best = true, bestColour = true;
    for (let k = 0; k < 3; k++) {
      const q = [...ids];
      q[blank] = draw(o.items[blank]);
      if (q.filter((x) => x === q[blank]).length > 1) continue;
      const other = await judge(q);
      if (other.score >= real.score) best = false;
      if (other.colour >= real.colour) bestColour = false;
    }
    fitb += best;
    fitbColour += bestColour;
    const missing = evalIds.get(ids[blank]);
    const anchors = ids.filter((_, n) => n !== blank).map((m) => evalIds.get(m).id);
    const r = await json(await post(evalKey, '/v1/outfits/recommend', { anchor_item_ids: anchors, fill: { category: missing.category }, k: 10 }));
    fill += r.items.some((x) => x.id === missing.id);
    const candidates = [...evalIds.values()].filter((x) => x.category === missing.category).length;
    fillChance += Math.min(1, 10 / candidates);
  }
  const aucOf = (key) => {
    let wins = 0;
    for (const a of pos) for (const b of neg) wins += a[key] > b[key] ? 1 : a[key] === b[key] ? 0.5 : 0;
    return wins / (pos.length * neg.length);
  };
  const auc = aucOf('score'), aucColour = aucOf('colour');
  const n = outfits.length;
  console.log(`MANGO outfits that share no item with the fitted ones (${n}; ${fitted.length} fitted): ` +
    `AUC ${auc.toFixed(3)}, FITB ${(fitb / n).toFixed(3)}, fill recall@10 ${(fill / n).toFixed(3)}; ` +
    `colour harmony alone: AUC ${aucColour.toFixed(3)}, FITB ${(fitbColour / n).toFixed(3)}; ` +
    `chance: 0.500, 0.250, ${(fillChance / n).toFixed(3)}`);
  // Run of 2026-12-07: AUC 0.837, FITB 0.659, fill@10 0.422 (colour harmony
  // alone 0.744 / 0.519; chance fill 0.062). The draws are seeded, so the
  // floors guard against a change that lowers quality; and the score must
  // beat the colour baseline measured here.
  assert.ok(auc >= 0.78, `AUC ${auc}`);
  assert.ok(fitb / n >= 0.58, `FITB ${fitb / n}`);
  assert.ok(fill / n >= 0.36, `fill recall@10 ${fill / n}`);
  assert.ok(auc >= aucColour + 0.03 && fitb > fitbColour, 'above the colour baseline');
});

test('feedback personalises recommendations: a liked colour family rises, a disliked outfit and worn items stay out', async () => {
  const key = createKey(s, 'admin', 'taste');
  const items = [];
  const take = (cats, n) => mangoItems.filter((i) => cats.includes(i.semantic_category)).slice(0, n);
  for (const i of [...take(['T-shirt', 'Tops', 'Shirt', 'Sweater'], 20), ...take(['Trousers', 'Jeans', 'Skirts'], 16), ...take(['Footwear'], 6)]) {
    items.push(await json(await upload(key, path.join(OUTFITS, i.image))));
  }
  const byId = Object.fromEntries(items.map((x) => [x.id, x]));
  const garments = items.filter((x) => ['top', 'bottom'].includes(x.category));
  const count = {};
  for (const x of garments) count[x.color_family] = (count[x.color_family] || 0) + 1;
  // The family to like: present among tops and bottoms, but a minority.
  const family = Object.keys(count)
    .filter((f) => count[f] <= garments.length * 0.35 &&
      garments.some((x) => x.color_family === f && x.category === 'top') &&
      garments.some((x) => x.color_family === f && x.category === 'bottom'))
    .sort((a, b) => count[b] - count[a])[0];
  assert.ok(family, `a family to like among ${JSON.stringify(count)}`);
  const rec = async () => json(await post(key, '/v1/outfits/recommend', { count: 10, seed: 3 }));
  const share = (r) => {
    const ids = r.outfits.flatMap((o) => o.item_ids).filter((id) => ['top', 'bottom'].includes(byId[id].category));
    return ids.filter((id) => byId[id].color_family === family).length / ids.length;
  };
  const before = await rec();
  const disliked = before.outfits.find((o) => !o.item_ids.some((id) => byId[id].color_family === family));
  const fb = (body) => post(key, '/v1/feedback', body);
  for (const x of garments.filter((g) => g.color_family === family)) {
    assert.equal((await fb({ event: 'like', item_id: x.id, context: { source: 'browse' } })).status, 201);
  }
  if (disliked) {
    assert.equal((await fb({ event: 'dislike', item_ids: disliked.item_ids, context: { source: 'recommend' } })).status, 201);
  }
  const worn = garments.find((g) => g.color_family !== family && g.category === 'top');
  assert.equal((await fb({ event: 'wore', item_id: worn.id })).status, 201);
  const after = await rec();
  console.log(`liked family '${family}': its share of the tops and bottoms in 10 recommended outfits ` +
    `${share(before).toFixed(2)} before, ${share(after).toFixed(2)} after (the wardrobe: ${(count[family] / garments.length).toFixed(2)})`);
  assert.ok(share(after) >= share(before) + 0.15, `${share(before)} -> ${share(after)}`);
  if (disliked) {
    const key2 = [...disliked.item_ids].sort().join();
    assert.ok(!after.outfits.some((o) => [...o.item_ids].sort().join() === key2), 'a disliked outfit is not proposed again');
  }
  assert.ok(!after.outfits.some((o) => o.item_ids.includes(worn.id)), 'an item worn today is left out');
  assert.ok(after.outfits.some((o) => o.explanation.some((e) => e.startsWith(`You liked ${family}`))));
  const prefs = await json(await call(key, 'GET', '/v1/me/preferences'));
  assert.ok(prefs.events.like >= 2 && prefs.events.wore === 1);
  assert.ok(prefs.color_families[family] > 0);
  assert.equal(prefs.has_taste, true);
  assert.ok(prefs.last_worn[worn.id] > 0);
  // Bad feedback.
  await expectProblem(assert, await fb({ event: 'love', item_id: worn.id }), 400);
  await expectProblem(assert, await fb({ event: 'like' }), 400);
  await expectProblem(assert, await fb({ event: 'like', item_id: 'wi_nope' }), 404);
  const theirs = (await json(await call(alice, 'GET', '/v1/wardrobe/items'))).items[0];
  await expectProblem(assert, await fb({ event: 'like', item_id: theirs.id }), 404);
  await expectProblem(assert, await fb({ event: 'like', item_ids: Array(10).fill(worn.id) }), 400);
  // Export carries the feedback.
  const exported = await json(await call(key, 'GET', '/v1/me/export'));
  assert.ok(exported.feedback.length >= 3);
  // Index health covers the wardrobe; metrics count the feedback.
  const stats = await json(await call(key, 'GET', '/v1/index/stats'));
  assert.equal(stats.wardrobe.items, items.length);
  assert.equal(stats.wardrobe.vectors, items.length);
  assert.equal(stats.wardrobe.dimensions, 1280);
  assert.equal(stats.wardrobe.memory_bytes, items.length * 1280 * 4);
  // The style space outfits were scored in: every item of a category with 3 or more.
  const perCategory = {};
  for (const x of items) perCategory[x.category] = (perCategory[x.category] ?? 0) + 1;
  const placed = items.filter((x) => perCategory[x.category] >= 3).length;
  assert.ok(placed > 0);
  assert.equal(stats.wardrobe.style_space.points, placed);
  assert.equal(stats.wardrobe.style_space.dimensions, 1280);
  assert.ok(stats.wardrobe.style_space.memory_bytes > placed * 1280 * 4);
  const metrics = await (await fetch(`${s.url}/metrics`)).text();
  assert.match(metrics, /atelier_wardrobe_feedback_total\{event="like"\} [1-9]/);
  assert.match(metrics, /atelier_wardrobe_style_builds_total [1-9]/);
  assert.match(metrics, /http_request_duration_seconds_count\{[^}]*route="\/v1\/outfits\/recommend"/);
});

test('OpenAPI: every wardrobe, outfit and feedback route has examples shaped like its real answers', async () => {
  const doc = await json(await fetch(`${s.url}/openapi.json`));
  const key = createKey(s, 'admin', 'documented');
  const pick = (cat, n) => mangoItems.filter((i) => i.semantic_category === cat).slice(0, n);
  const items = [];
  for (const i of [...pick('T-shirt', 3), ...pick('Jeans', 3), ...pick('Footwear', 3)])
    items.push(await json(await upload(key, path.join(OUTFITS, i.image))));
  const ids = items.map((x) => x.id);
  const get = async (route) => json(await call(key, 'GET', route));
  const patch = (route, body) => call(key, 'PATCH', route, JSON.stringify(body), { 'content-type': 'application/json' });
  const real = {
    'post /v1/wardrobe/items': items[0],
    'get /v1/wardrobe/items': await get('/v1/wardrobe/items?limit=2'),
    'get /v1/wardrobe/items/{id}': await get(`/v1/wardrobe/items/${ids[0]}`),
    'patch /v1/wardrobe/items/{id}': await json(await patch(`/v1/wardrobe/items/${ids[0]}`, { name: 'tee' })),
    'get /v1/wardrobe/items/{id}/similar': await get(`/v1/wardrobe/items/${ids[0]}/similar?k=2`),
    'get /v1/wardrobe/search': await get('/v1/wardrobe/search?q=white%20t-shirt&k=2'),
    'post /v1/outfits/evaluate': await json(await post(key, '/v1/outfits/evaluate', { item_ids: [ids[0], ids[3], ids[6]] })),
    'post /v1/outfits/recommend': await json(await post(key, '/v1/outfits/recommend', { count: 2, seed: 1 })),
    'post /v1/feedback': await json(await post(key, '/v1/feedback', { event: 'like', item_ids: [ids[0], ids[3]] })),
    'get /v1/me/preferences': await get('/v1/me/preferences'),
  };
  // Top-level keys, and the keys of the first element of each array of objects.
  const shape = (j) => {
    const out = { '': Object.keys(j).sort() };
    for (const [k, v] of Object.entries(j))
      if (Array.isArray(v) && v.length && typeof v[0] === 'object' && v[0] !== null) out[k] = Object.keys(v[0]).sort();
    return out;
  };
  const prefixes = ['/v1/wardrobe', '/v1/outfits', '/v1/feedback', '/v1/me/preferences'];
  let checked = 0;
  for (const [p, methods] of Object.entries(doc.paths)) {
    if (!prefixes.some((x) => p.startsWith(x))) continue;
    for (const [method, op] of Object.entries(methods)) {
      const name = `${method} ${p}`;
      const body = op.requestBody?.content?.['application/json'];
      if (body && !body.schema?.properties?.image) assert.ok(body.example, `${name}: a request example`);
      const ok = Object.entries(op.responses).find(([code]) => code.startsWith('2'))[1];
      const content = ok.content?.['application/json'];
      if (!content) continue;  // 204, or a photo
      assert.ok(content.example, `${name}: a response example`);
      assert.ok(real[name], `${name}: compared with a real answer`);
      assert.deepEqual(shape(content.example), shape(real[name]), name);
      checked++;
    }
  }
  assert.equal(checked, Object.keys(real).length);
});
