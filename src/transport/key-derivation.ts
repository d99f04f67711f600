// SCRAM's key derivation off the event loop: PBKDF2-HMAC-SHA-256 through the
// asynchronous crypto.pbkdf2 (libuv's thread pool), so other sessions keep
// reading their replies while a key is derived (up to MAX_SCRAM_ITERATIONS).
// A run derives each (password, salt, iterations) once and reuses it in all
// its sessions, as RFC 5802 §5.1 allows a client to cache SaltedPassword.
// node:crypto is loaded on first use (a run without SCRAM never needs it).
import { type KeyRequest, cryptoLib } from '../protocol/scram.js';

/** Derives SCRAM-SHA-256's SaltedPassword (32 bytes). */
export type KeyDeriver = (key: KeyRequest) => Promise<Buffer>;

/** PBKDF2 on the thread pool, no cache. */
export function deriveKey(key: KeyRequest): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    cryptoLib().pbkdf2(key.password, key.salt, key.iterations, 32, 'sha256', (error, derived) => (error ? reject(error) : resolve(derived)));
  });
}

/**
 * A deriver with a cache for one run: keyed by a hash of (password, salt,
 * iterations), so the map holds no password, and holding the promise, so
 * sessions that ask at once share one derivation. A failed derivation is
 * forgotten (the next session tries again).
 */
export function cachingDeriver(derive: KeyDeriver = deriveKey): KeyDeriver {
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
