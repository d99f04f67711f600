// SCRAM's key derivation off the event loop: PBKDF2-HMAC-SHA-256 through the
// asynchronous crypto.pbkdf2 (libuv's thread pool), so other sessions keep
// reading their replies while a key is derived (up to MAX_SCRAM_ITERATIONS).
// A run derives each (password, salt, iterations) once and reuses it in all
// its sessions, as RFC 5802 §5.1 allows a client to cache SaltedPassword.
// node:crypto is loaded on first use (a run without SCRAM never needs it).
import { type KeyRequest, cryptoLib } from '../protocol/scram.js';

/** Derives SCRAM-SHA-256's SaltedPassword (32 bytes). */
export type KeyDeriver = (key: KeyRequest) => Promise<Buffer>;

/**
 * How many keys are derived at once: libuv's pool (UV_THREADPOOL_SIZE, 4 by
 * default) less two, so that name lookups (dns.lookup) and file reads, which
 * share the pool, never wait behind a queue of derivations.
 */
export function derivationSlots(env: NodeJS.ProcessEnv = process.env): number {
  const pool = Number(env.UV_THREADPOOL_SIZE);
  return Math.max(1, (Number.isInteger(pool) && pool > 0 ? Math.min(pool, 1024) : 4) - 2);
}

/** PBKDF2 on the thread pool, no cache, no limit. */
export function deriveKey(key: KeyRequest): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    cryptoLib().pbkdf2(key.password, key.salt, key.iterations, 32, 'sha256', (error, derived) => (error ? reject(error) : resolve(derived)));
  });
}

/**
 * `derive`, at most `slots` at a time; the others wait their turn in order.
 * Once `signal` stops the run, a derivation still waiting never starts (it
 * rejects with the stop's reason), so an interrupted run does not go on
 * hashing for keys nobody will use.
 */
export function limitedDeriver(derive: KeyDeriver, slots: number, signal?: AbortSignal): KeyDeriver {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (key) => {
    if (running >= slots) await new Promise<void>((resolve) => waiting.push(resolve));
    if (signal?.aborted) {
      waiting.shift()?.();
      throw signal.reason instanceof Error ? signal.reason : new Error('the run was stopped');
    }
    running += 1;
    try {
      return await derive(key);
    } finally {
      running -= 1;
      waiting.shift()?.();
    }
  };
}

/**
 * A deriver with a cache for one run: keyed by a hash of (password, salt,
 * iterations), so the map holds no password, and holding the promise, so
 * sessions that ask at once share one derivation. A failed derivation is
 * forgotten (the next session tries again).
 */
export function cachingDeriver(derive: KeyDeriver = limitedDeriver(deriveKey, derivationSlots())): KeyDeriver {
  const cache = new Map<string, Promise<Buffer>>();
  return (key) => {
    const id = cryptoLib()
      .createHash('sha256')
      .update(`${key.iterations}\0${key.salt.toString('base64')}\0`)
      .update(key.password, 'utf8')
      .digest('base64');
    let found = cache.get(id);
    if (!found) {
      found = derive(key);
      cache.set(id, found);
      found.catch(() => cache.delete(id));
    }
    return found;
  };
}
