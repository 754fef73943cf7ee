// `atelier db copy`: an embedded installation (SQLite) with users, keys,
// usage, a collection, a room and a design is copied to a fresh PostgreSQL
// database; run twice it copies nothing more; the server started on
// PostgreSQL over the same data dir then gives the same answers, and new
// rows get fresh ids.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, json, createKey, runCli, SOURCE_DIR } from './helpers.mjs';

const ROOMS = path.resolve(SOURCE_DIR, '../shared/data/rooms');

test('db copy moves SQLite to PostgreSQL idempotently; the server then answers the same', async () => {
  const base = process.env.ATELIER_TEST_POSTGRES_URL;
  assert.ok(base, 'ATELIER_TEST_POSTGRES_URL names the PostgreSQL server');
  const name = `copy_${process.pid}`;
  const made = spawnSync('psql', [base, '-qc', `CREATE DATABASE ${name}`], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  const target = new URL(base);
  target.pathname = `/${name}`;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'atelier-copy-'));
  const env = { ATELIER_SEARCH_FLAT_MAX: '5', ATELIER_DATABASE_URL: undefined };
  try {
    let s = await startServer(env, { dataDir: dir });
    const key = createKey(s, 'premium', 'copied');
    const call = (srv, method, p, body, headers = {}) => fetch(`${srv.url}${p}`, {
      method, body, headers: { 'X-API-Key': key, ...headers } });
    const postJson = (srv, p, obj) => call(srv, 'POST', p, JSON.stringify(obj), { 'Content-Type': 'application/json' });
    const reg = await fetch(`${s.url}/v1/auth/register`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: 'moved@example.com', password: 'correct horse' }) });
    assert.equal(reg.status, 201);
    const registered = await json(reg);
    const token = registered.access_token;
    assert.ok(token);
    assert.equal((await postJson(s, '/v1/collections', { name: 'shop' })).status, 201);
    const texts = ['red dress', 'blue jeans', 'green scarf', 'black boots', 'white shirt', 'navy coat', 'beige skirt', 'olive hat'];
    assert.equal((await postJson(s, '/v1/collections/shop/documents', texts.map((text, i) => ({ id: `p${i}`, text, metadata: { n: i } })))).status, 200);
    const q = `/v1/collections/shop/search?q=${encodeURIComponent('black leather boots')}&mode=hybrid&k=5`;
    const before = await json(await call(s, 'GET', q));
    const bedroom = readdirSync(path.join(ROOMS, 'bedroom')).find((f) => f.endsWith('.jpg'));
    const room = await call(s, 'POST', '/v1/rooms?room_type=bedroom&name=moved', readFileSync(path.join(ROOMS, 'bedroom', bedroom)), { 'Content-Type': 'image/jpeg' });
    assert.equal(room.status, 201);
    const rid = (await json(room)).id;
    const design = await json(await postJson(s, '/v1/designs?wait=30', { room_id: rid, style: 'scandinavian', seed: 3 }));
    assert.equal(design.status, 'succeeded', JSON.stringify(design));
    // A wardrobe item (its photo, tags and both embeddings) and feedback on it.
    const products = path.resolve(SOURCE_DIR, '../shared/data/fashion/products');
    const photo = readdirSync(products).find((f) => f.endsWith('.jpg'));
    const added = await call(s, 'POST', '/v1/wardrobe/items', readFileSync(path.join(products, photo)), { 'Content-Type': 'image/jpeg' });
    assert.equal(added.status, 201);
    const item = await json(added);
    assert.equal((await postJson(s, '/v1/feedback', { event: 'like', item_id: item.id })).status, 201);
    const similarBefore = await json(await call(s, 'GET', `/v1/wardrobe/items/${item.id}/similar?by=tags`));
    // A conversation with one exchange.
    const conv = await json(await postJson(s, '/v1/conversations', { title: 'moved' }));
    assert.equal((await postJson(s, '/v1/chat/completions', { messages: [{ role: 'user', content: 'What is tweed?' }], conversation_id: conv.id })).status, 200);
    const convBefore = await json(await call(s, 'GET', `/v1/conversations/${conv.id}`));
    const meBefore = await json(await call(s, 'GET', '/v1/me'));
    await s.stop({ keepData: true });

    // The configured database (SQLite in the data dir) is the source.
    const cliEnv = { ...process.env, ATELIER_DATA_DIR: dir };
    delete cliEnv.ATELIER_DATABASE_URL;
    const first = runCli(['db', 'copy', '--to', target.toString()], cliEnv);
    assert.equal(first.code, 0, first.stderr + first.stdout);
    assert.match(first.stdout, /users: 1 in source, 1 copied, 1 in target/);
    assert.match(first.stdout, /documents: 1605 in source, 1605 copied, 1605 in target/, '8 of ours, 1,597 of the knowledge base');
    assert.match(first.stdout, /designs: 1 in source, 1 copied, 1 in target/);
    assert.match(first.stdout, /wardrobe_items: 1 in source, 1 copied, 1 in target/);
    assert.match(first.stdout, /wardrobe_feedback: 1 in source, 1 copied, 1 in target/);
    assert.match(first.stdout, /chat_conversations: 1 in source, 1 copied, 1 in target/);
    assert.match(first.stdout, /chat_messages: 2 in source, 2 copied, 2 in target/);
    assert.match(first.stdout, /verified/);
    assert.doesNotMatch(first.stdout, /correct horse|password=/);
    const again = runCli(['db', 'copy', '--from', `sqlite:${path.join(dir, 'atelier.db')}`, '--to', target.toString()], cliEnv);
    assert.equal(again.code, 0, again.stderr);
    for (const line of again.stdout.split('\n').filter((l) => l.includes(' in source'))) assert.match(line, / 0 copied/, line);

    s = await startServer({ ...env, ATELIER_DATABASE_URL: target.toString() }, { dataDir: dir });
    const meAfter = await json(await call(s, 'GET', '/v1/me'));
    assert.equal(meAfter.identity, meBefore.identity);
    assert.equal(meAfter.tier, 'premium');
    // A JWT issued before the move still names the same user.
    const byToken = await json(await fetch(`${s.url}/v1/me`, { headers: { Authorization: `Bearer ${token}` } }));
    assert.equal(byToken.identity, `user:${registered.user.id}`);
    const login = await fetch(`${s.url}/v1/auth/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: 'moved@example.com', password: 'correct horse' }) });
    assert.equal(login.status, 200);
    assert.deepEqual(await json(await call(s, 'GET', q)), before);
    const d = await json(await call(s, 'GET', `/v1/designs/${design.id}`));
    assert.equal(d.status, 'succeeded');
    assert.equal(d.id, design.id);
    assert.equal((await call(s, 'GET', `/v1/rooms/${rid}/image`)).status, 200);
    assert.deepEqual(await json(await call(s, 'GET', `/v1/wardrobe/items/${item.id}`)), item);
    assert.equal((await call(s, 'GET', `/v1/wardrobe/items/${item.id}/image`)).status, 200);
    assert.deepEqual(await json(await call(s, 'GET', `/v1/wardrobe/items/${item.id}/similar?by=tags`)), similarBefore);
    assert.equal((await json(await call(s, 'GET', '/v1/me/preferences'))).events.like, 1);
    assert.deepEqual(await json(await call(s, 'GET', `/v1/conversations/${conv.id}`)), convBefore);
    // New rows continue after the copied ids.
    const next = createKey(s, 'free', 'after-the-move');
    assert.equal((await fetch(`${s.url}/v1/me`, { headers: { 'X-API-Key': next } })).status, 200);
    assert.equal((await postJson(s, '/v1/collections', { name: 'second' })).status, 201);
    await s.stop();
    // Those rows went to PostgreSQL.
    const keys = spawnSync('psql', [target.toString(), '-tAc', 'SELECT count(*) FROM api_keys'], { encoding: 'utf8' });
    assert.equal(keys.stdout.trim(), '2', keys.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    spawnSync('psql', [base, '-qc', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]);
  }
});
