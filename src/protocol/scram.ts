// The client side of SCRAM-SHA-256 (RFC 5802, RFC 7677) as pure steps, with
// the expensive part (PBKDF2, "Hi()" of RFC 5802 §2.2) left to the caller so
// it can run off the event loop and be cached: serverFirst() says which key
// to derive, clientFinal() takes the derived key. SCRAM is mutual: the
// exchange succeeds only once serverFinal() has verified the server's
// signature (RFC 5802 §3, "the client verifies ... ServerSignature"); a
// server error ("e=") is an authentication failure that quotes the reason.
import { createRequire } from 'node:module';
import { AuthenticationError, RemoteProtocolError, quote } from '../errors.js';

// node:crypto costs milliseconds to load; only SCRAM and CRAM-MD5 need it.
let crypto: typeof import('node:crypto') | undefined;
export const cryptoLib = (): typeof import('node:crypto') =>
  (crypto ??= createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto'));

/** The most PBKDF2 iterations accepted from a server (more would let it make etrn hash for minutes). */
export const MAX_SCRAM_ITERATIONS = 1_000_000;
/** How much of a server's "e=" reason an error quotes. */
const MAX_REASON = 64;

/** The key a client must derive: SaltedPassword = Hi(password, salt, iterations), HMAC-SHA-256, 32 bytes. */
export interface KeyRequest {
  /** Already prepared (OpaqueString). */
  readonly password: string;
  readonly salt: Buffer;
  readonly iterations: number;
}

/** RFC 5802 §5.1 "saslname": "=" and "," escaped. */
export function saslName(name: string): string {
  return name.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
// RFC 5802 §7: printable = %x21-2B / %x2D-7E (no comma).
const PRINTABLE = /^[\x21-\x2b\x2d-\x7e]+$/;

function malformed(what: string): never {
  throw new RemoteProtocolError(`malformed SCRAM ${what}`);
}

/** "a=value" attributes in order, refusing anything else. */
function attributes(text: string, what: string): [string, string][] {
  return text.split(',').map((part) => {
    if (!/^[A-Za-z]=/.test(part)) malformed(what);
    return [part[0]!, part.slice(2)];
  });
}

/** The server's "e=" reason as an error: quoted (escaped), cut at MAX_REASON characters. */
function serverError(reason: string): AuthenticationError {
  return new AuthenticationError(`authentication failed: the server refused the SCRAM-SHA-256 exchange: e=${quote(reason, MAX_REASON)}`);
}

export class ScramClient {
  /** client-first-message-bare. */
  private readonly bare: string;
  private readonly clientNonce: string;
  private readonly password: string;
  private serverFirstText: string | null = null;
  private combinedNonce = '';
  private expected: Buffer | null = null;
  private verifiedServer = false;

  /** `user` and `password` already prepared (OpaqueString); `nonce` printable, random in production. */
  constructor(user: string, password: string, nonce: string) {
    if (!PRINTABLE.test(nonce)) throw new RemoteProtocolError('SCRAM client nonce must be printable ASCII without ","');
    this.clientNonce = nonce;
    this.password = password;
    this.bare = `n=${saslName(user)},r=${nonce}`;
  }

  /** client-first-message: no channel binding ("n"), no authzid. */
  get clientFirst(): string {
    return `n,,${this.bare}`;
  }

  /** Whether the server proved it knows the password (its signature verified). */
  get verified(): boolean {
    return this.verifiedServer;
  }

  /** Reads server-first-message; returns the key to derive. */
  serverFirst(text: string): KeyRequest {
    if (this.serverFirstText !== null) throw new RemoteProtocolError('server sent a second SCRAM server-first message');
    if (text.startsWith('e=')) throw serverError(text.slice(2).split(',')[0]!);
    const attrs = attributes(text, 'server-first message');
    if (attrs[0]?.[0] === 'm') throw new RemoteProtocolError('SCRAM server-first message asks for an unsupported mandatory extension (m=)');
    const [r, s, i] = attrs;
    if (r?.[0] !== 'r' || s?.[0] !== 's' || i?.[0] !== 'i') malformed('server-first message (expected r=, s=, i=)');
    const nonce = r[1];
    if (!PRINTABLE.test(nonce) || !nonce.startsWith(this.clientNonce) || nonce.length === this.clientNonce.length) {
      malformed('server-first message (the server nonce does not extend the client nonce)');
    }
    if (s[1] === '' || !BASE64.test(s[1])) malformed('server-first message (salt is not base64)');
    if (!/^[1-9][0-9]{0,6}$/.test(i[1]) || Number(i[1]) > MAX_SCRAM_ITERATIONS) {
      malformed(`server-first message (iteration count must be 1 to ${MAX_SCRAM_ITERATIONS})`);
    }
    this.serverFirstText = text;
    this.combinedNonce = nonce;
    return { password: this.password, salt: Buffer.from(s[1], 'base64'), iterations: Number(i[1]) };
  }

  /** client-final-message from SaltedPassword; remembers the server signature to expect. */
  clientFinal(saltedPassword: Buffer): string {
    if (this.serverFirstText === null || this.expected !== null) throw new RemoteProtocolError('SCRAM client-final out of order');
    const { createHash, createHmac } = cryptoLib();
    const hmac = (key: Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();
    const withoutProof = `c=biws,r=${this.combinedNonce}`;
    const authMessage = `${this.bare},${this.serverFirstText},${withoutProof}`;
    const clientKey = hmac(saltedPassword, 'Client Key');
    const signature = hmac(createHash('sha256').update(clientKey).digest(), authMessage);
    const proof = Buffer.from(clientKey.map((b, i) => b ^ signature[i]!));
    this.expected = hmac(hmac(saltedPassword, 'Server Key'), authMessage);
    return `${withoutProof},p=${proof.toString('base64')}`;
  }

  /**
   * Reads server-final-message: "v=" must carry the expected signature
   * (compared in constant time), "e=" is the server's refusal. Throws
   * AuthenticationError unless the server proved it knows the password.
   */
  serverFinal(text: string): void {
    if (this.expected === null) throw new RemoteProtocolError('server sent a SCRAM server-final message before the client proof');
    if (this.verifiedServer) throw new RemoteProtocolError('server sent a second SCRAM server-final message');
    if (text.startsWith('e=')) throw serverError(text.slice(2).split(',')[0]!);
    const v = text.startsWith('v=') ? text.slice(2).split(',')[0]! : null;
    const given = v !== null && v !== '' && BASE64.test(v) ? Buffer.from(v, 'base64') : null;
    if (given === null || given.length !== this.expected.length || !cryptoLib().timingSafeEqual(given, this.expected)) {
      throw new AuthenticationError(
        'authentication failed: the server did not prove it knows the password (its SCRAM-SHA-256 signature does not verify)',
      );
    }
    this.verifiedServer = true;
  }
}
