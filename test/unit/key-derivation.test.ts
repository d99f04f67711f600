// SCRAM key derivation (src/transport/key-derivation.ts): PBKDF2 on the
// thread pool, so the event loop keeps turning while a key is derived, and a
// per-run cache that derives each (password, salt, iterations) once.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pbkdf2Sync } from 'node:crypto';
import type { KeyRequest } from '../../src/protocol/scram.js';
import { cachingDeriver, deriveKey } from '../../src/transport/key-derivation.js';

const key = (password: string, salt: string, iterations = 4096): KeyRequest => ({ password, salt: Buffer.from(salt), iterations });

describe('SCRAM key derivation', () => {
  test('deriveKey gives PBKDF2-HMAC-SHA-256 (32 bytes), as the RFC 7677 vector needs', async () => {
    const k = key('pencil', 'salt');
    assert.deepEqual(await deriveKey(k), pbkdf2Sync('pencil', k.salt, 4096, 32, 'sha256'));
  });

  test('the event loop keeps turning while 1,000,000 iterations are derived', async () => {
    let turns = 0;
    let deriving = true;
    const spin = (): void => {
      turns += 1;
      if (deriving) setImmediate(spin);
    };
    setImmediate(spin);
    await deriveKey(key('pencil', 'a-salt', 1_000_000));
    deriving = false;
    assert.ok(turns > 10, `the loop turned ${turns} times during the derivation`);
  });

  test('the cache derives once for sessions asking at once, and per (password, salt, iterations)', async () => {
    const asked: KeyRequest[] = [];
    const derive = cachingDeriver(async (k) => {
      asked.push(k);
      return Buffer.from(`${k.password}/${k.salt}/${k.iterations}`);
    });
    const same = await Promise.all([derive(key('p', 's')), derive(key('p', 's')), derive(key('p', 's'))]);
    assert.equal(asked.length, 1);
    assert.ok(same.every((b) => b.equals(same[0]!)));
    await derive(key('p', 't'));
    await derive(key('q', 's'));
    await derive(key('p', 's', 4097));
    assert.equal(asked.length, 4);
    await derive(key('p', 's'));
    assert.equal(asked.length, 4, 'still cached');
  });

  test('the cache keys are not confusable by moving bytes between password and salt', async () => {
    let count = 0;
    const derive = cachingDeriver(async () => Buffer.from(String(++count)));
    const a = await derive({ password: 'ab', salt: Buffer.from('c'), iterations: 1 });
    const b = await derive({ password: 'a', salt: Buffer.from('bc'), iterations: 1 });
    assert.notDeepEqual(a, b);
  });

  test('a failed derivation is not cached', async () => {
    let calls = 0;
    const derive = cachingDeriver(async () => {
      calls += 1;
      if (calls === 1) throw new Error('out of memory');
      return Buffer.alloc(32);
    });
    await assert.rejects(derive(key('p', 's')), /out of memory/);
    await new Promise((r) => setImmediate(r));
    assert.equal((await derive(key('p', 's'))).length, 32);
    assert.equal(calls, 2);
  });
});

describe('derivations at once are limited, leaving the pool to name lookups', () => {
  test('two slots of the default pool of four; UV_THREADPOOL_SIZE is followed; never fewer than one', async () => {
    const { derivationSlots } = await import('../../src/transport/key-derivation.js');
    assert.equal(derivationSlots({}), 2);
    assert.equal(derivationSlots({ UV_THREADPOOL_SIZE: '16' }), 14);
    assert.equal(derivationSlots({ UV_THREADPOOL_SIZE: '2' }), 1);
    assert.equal(derivationSlots({ UV_THREADPOOL_SIZE: 'x' }), 2);
  });

  test('no more than `slots` derivations run at once, and every one completes in order', async () => {
    const { limitedDeriver } = await import('../../src/transport/key-derivation.js');
    let running = 0;
    let most = 0;
    const done: string[] = [];
    const derive = limitedDeriver(async (k) => {
      running += 1;
      most = Math.max(most, running);
      await new Promise((r) => setImmediate(r));
      running -= 1;
      done.push(k.password);
      return Buffer.from(k.password);
    }, 2);
    const names = ['a', 'b', 'c', 'd', 'e'];
    const out = await Promise.all(names.map((n) => derive(key(n, 's'))));
    assert.equal(most, 2);
    assert.deepEqual(out.map(String), names);
    assert.deepEqual(done, names);
  });
});

describe('limitedDeriver and the run stopping', () => {
  test('a derivation still waiting for a slot when the run stops never starts; the running one ends', async () => {
    const { limitedDeriver } = await import('../../src/transport/key-derivation.js');
    const stop = new AbortController();
    const started: string[] = [];
    let release!: () => void;
    const derive = limitedDeriver(
      async (k) => {
        started.push(k.password);
        if (k.password === 'first') await new Promise<void>((r) => (release = r));
        return Buffer.alloc(32);
      },
      1,
      stop.signal,
    );
    const first = derive(key('first', 's1'));
    const second = derive(key('second', 's2'));
    const third = derive(key('third', 's3'));
    stop.abort(new Error('interrupted'));
    release();
    assert.equal((await first).length, 32);
    await assert.rejects(second, /interrupted/);
    await assert.rejects(third, /interrupted/);
    assert.deepEqual(started, ['first'], 'no waiting derivation started after the stop');
  });
});
