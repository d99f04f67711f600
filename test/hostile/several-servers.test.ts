// Several servers in one run, through the library (the command line has one
// server-host; `targets` is what --etrn-hosts groups become): a dead, a
// silent or a broken server must not hide the others' results, every node
// appears exactly once, and the run's status is the most severe one.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { etrn, type EtrnResult } from '../../src/index.js';
import { responder } from '../helpers/script-server.js';
import { closeAll, deadPort, eventually, serve } from './harness.js';

after(closeAll);

const common = { heloName: 'client.example', bootCheck: false, timeoutMs: 500 } as const;

function byNode(result: EtrnResult): Map<string, { ok: boolean | null; code?: number; kind: string | null }> {
  const seen = new Map<string, { ok: boolean | null; code?: number; kind: string | null }>();
  for (const s of result.sessions) {
    for (const n of s.nodes) {
      assert.ok(!seen.has(n.node), `${n.node} reported twice`);
      seen.set(n.node, { ok: n.ok, ...(n.code === undefined ? {} : { code: n.code }), kind: s.error?.kind ?? null });
    }
  }
  return seen;
}

test('one dead server and one good: every node reported, the good server\'s nodes accepted, status 75', async () => {
  const good = await serve(responder());
  const dead = await deadPort();
  const started = performance.now();
  const result = await etrn({
    ...common,
    targets: [
      { server: `127.0.0.1:${dead}`, nodes: ['a.example', 'b.example'] },
      { server: `127.0.0.1:${good.port}`, nodes: ['c.example', 'd.example'] },
    ],
  });
  assert.ok(performance.now() - started < 3000);
  assert.equal(result.exitCode, 75);
  assert.equal(result.ok, false);
  assert.deepEqual(Object.fromEntries(byNode(result)), {
    'a.example': { ok: false, kind: 'refused' },
    'b.example': { ok: false, kind: 'refused' },
    'c.example': { ok: true, code: 250, kind: null },
    'd.example': { ok: true, code: 250, kind: null },
  });
  await eventually(() => good.received.includes('QUIT'), 2000, 'QUIT at the good server');
  assert.deepEqual(good.received, ['EHLO client.example', 'ETRN c.example', 'ETRN d.example', 'QUIT']);
});

test('dead, silent, protocol-breaking and good servers at once: each fails its own way, status 76', async () => {
  const good = await serve(responder());
  const silent = await serve(async (conn) => {
    await conn.closed();
  });
  const broken = await serve((conn) => conn.send('HTTP/1.1 200 OK'));
  const dead = await deadPort();
  const started = performance.now();
  const result = await etrn({
    ...common,
    perSession: 1,
    targets: [
      { server: `127.0.0.1:${dead}`, nodes: ['a.example'] },
      { server: `127.0.0.1:${silent.port}`, nodes: ['b.example', 'b2.example'] },
      { server: `127.0.0.1:${broken.port}`, nodes: ['c.example'] },
      { server: `127.0.0.1:${good.port}`, nodes: ['d.example', 'e.example', 'f.example'] },
    ],
  });
  assert.ok(performance.now() - started < 3000, 'sessions run concurrently, each bounded by the timeout');
  assert.equal(result.exitCode, 76);
  assert.equal(result.sessions.length, 7);
  assert.deepEqual(Object.fromEntries(byNode(result)), {
    'a.example': { ok: false, kind: 'refused' },
    'b.example': { ok: false, kind: 'timeout' },
    'b2.example': { ok: false, kind: 'timeout' },
    'c.example': { ok: false, kind: 'protocol' },
    'd.example': { ok: true, code: 250, kind: null },
    'e.example': { ok: true, code: 250, kind: null },
    'f.example': { ok: true, code: 250, kind: null },
  });
  assert.equal(good.connections.length, 3);
});

test('a server that resets every other session: the sessions it served still count', async () => {
  const good = responder();
  const flaky = await serve((conn, index) => {
    if (index % 2 === 0) return good(conn, index);
    conn.socket.resetAndDestroy();
  });
  const nodes = ['a.example', 'b.example', 'c.example', 'd.example'];
  const result = await etrn({ ...common, jobs: 1, perSession: 1, targets: [{ server: `127.0.0.1:${flaky.port}`, nodes }] });
  assert.equal(result.exitCode, 75);
  const seen = byNode(result);
  assert.deepEqual([...seen.keys()], nodes);
  assert.deepEqual(
    nodes.map((n) => seen.get(n)!.ok),
    [true, false, true, false],
  );
});

test('an abort signal ends every running session and reports every node', async () => {
  const stall = await serve(async (conn) => {
    conn.send('220 mx.test ESMTP');
    await conn.readLine();
    conn.send('250-mx.test', '250 ETRN');
    await conn.readLine(); // ETRN, never answered
    await conn.readLine(); // QUIT
  });
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 300);
  const started = performance.now();
  const result = await etrn({
    ...common,
    timeoutMs: 20_000,
    signal: controller.signal,
    perSession: 1,
    targets: [{ server: `127.0.0.1:${stall.port}`, nodes: ['a.example', 'b.example', 'c.example'] }],
  });
  assert.ok(performance.now() - started < 2000, 'the abort, not the 20 s timeout, ends the run');
  assert.deepEqual([...byNode(result).keys()], ['a.example', 'b.example', 'c.example']);
  for (const s of result.sessions) assert.equal(s.error?.kind, 'interrupted');
});
