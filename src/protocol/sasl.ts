// SASL mechanisms for SMTP AUTH (RFC 4954) as pure step functions: each
// takes the server's decoded challenge and returns the next response, or
// throws when the server asks for more steps than the mechanism has.
// PLAIN (RFC 4616), LOGIN (draft-murchison-sasl-login), CRAM-MD5 (RFC 2195),
// SCRAM-SHA-256 (RFC 5802, RFC 7677). No sockets, no clocks; the SCRAM nonce
// is injected so the test vectors of RFC 7677 can be replayed.
import { createRequire } from 'node:module';
import { RemoteProtocolError } from '../errors.js';

// node:crypto costs milliseconds to load and only AUTH needs it: load it on
// first use (the session imports this module whether or not it authenticates).
let crypto: typeof import('node:crypto') | undefined;
const lib = (): typeof import('node:crypto') => (crypto ??= createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto'));

export type MechanismName = 'SCRAM-SHA-256' | 'CRAM-MD5' | 'PLAIN' | 'LOGIN';

/** Strongest first: SCRAM and CRAM-MD5 never reveal the password, even without TLS. */
export const mechanismPreference: readonly MechanismName[] = ['SCRAM-SHA-256', 'CRAM-MD5', 'PLAIN', 'LOGIN'];

export interface Credentials {
  readonly user: string;
  readonly password: string;
}

export interface Mechanism {
  readonly name: MechanismName;
  /** The initial response sent with AUTH (RFC 4954 §4), or null if the mechanism waits for a challenge. */
  readonly initial: Buffer | null;
  /** The response to a server challenge (already base64-decoded). */
  respond(challenge: Buffer): Buffer;
  /** Checks the server's final data (SCRAM's server signature); others accept none. */
  verifyFinal?(data: Buffer): void;
}

export function chooseMechanism(offered: readonly string[]): MechanismName | null {
  const set = new Set(offered.map((m) => m.toUpperCase()));
  return mechanismPreference.find((m) => set.has(m)) ?? null;
}

function tooManySteps(name: string): never {
  throw new RemoteProtocolError(`server sent more AUTH ${name} challenges than the mechanism has`);
}

export function createMechanism(name: MechanismName, creds: Credentials, nonce?: string): Mechanism {
  switch (name) {
    case 'PLAIN':
      return {
        name,
        initial: Buffer.from(`\0${creds.user}\0${creds.password}`, 'utf8'),
        respond: () => tooManySteps(name),
      };
    case 'LOGIN': {
      let step = 0;
      return {
        name,
        initial: null,
        respond: () => {
          step += 1;
          if (step === 1) return Buffer.from(creds.user, 'utf8');
          if (step === 2) return Buffer.from(creds.password, 'utf8');
          return tooManySteps(name);
        },
      };
    }
    case 'CRAM-MD5': {
      let done = false;
      return {
        name,
        initial: null,
        respond: (challenge) => {
          if (done) tooManySteps(name);
          done = true;
          const digest = lib().createHmac('md5', creds.password).update(challenge).digest('hex');
          return Buffer.from(`${creds.user} ${digest}`, 'utf8');
        },
      };
    }
    case 'SCRAM-SHA-256':
      return scramSha256(creds, nonce ?? lib().randomBytes(18).toString('base64'));
  }
}

/** RFC 5802 §3 "saslname": "=" and "," escaped. */
function saslName(name: string): string {
  return name.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

function parseAttributes(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq === 1) map.set(part[0]!, part.slice(2));
  }
  return map;
}

function scramSha256(creds: Credentials, clientNonce: string): Mechanism {
  const bare = `n=${saslName(creds.user)},r=${clientNonce}`;
  let serverSignature: Buffer | null = null;
  let step = 0;
  const h = (data: Buffer): Buffer => lib().createHash('sha256').update(data).digest();
  const hmac = (key: Buffer, data: string): Buffer => lib().createHmac('sha256', key).update(data).digest();
  return {
    name: 'SCRAM-SHA-256',
    initial: Buffer.from(`n,,${bare}`, 'utf8'),
    respond(challenge) {
      step += 1;
      if (step === 2 && challenge.length > 0 && serverSignature) {
        // Some servers send server-final as a 334 challenge; answer empty.
        this.verifyFinal?.(challenge);
        return Buffer.alloc(0);
      }
      if (step !== 1) tooManySteps('SCRAM-SHA-256');
      const serverFirst = challenge.toString('utf8');
      const attrs = parseAttributes(serverFirst);
      const nonce = attrs.get('r');
      const salt = attrs.get('s');
      const iterations = Number(attrs.get('i'));
      if (!nonce || !nonce.startsWith(clientNonce) || !salt || !Number.isInteger(iterations) || iterations < 1 || iterations > 1_000_000) {
        throw new RemoteProtocolError('malformed SCRAM server-first message');
      }
      const salted = lib().pbkdf2Sync(creds.password, Buffer.from(salt, 'base64'), iterations, 32, 'sha256');
      const clientKey = hmac(salted, 'Client Key');
      const withoutProof = `c=biws,r=${nonce}`;
      const authMessage = `${bare},${serverFirst},${withoutProof}`;
      const signature = hmac(h(clientKey), authMessage);
      const proof = Buffer.from(clientKey.map((b, i) => b ^ signature[i]!));
      serverSignature = hmac(hmac(salted, 'Server Key'), authMessage);
      return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`, 'utf8');
    },
    verifyFinal(data) {
      const v = parseAttributes(data.toString('utf8')).get('v');
      const given = v === undefined ? null : Buffer.from(v, 'base64');
      if (!serverSignature || !given || given.length !== serverSignature.length || !lib().timingSafeEqual(given, serverSignature)) {
        throw new RemoteProtocolError('SCRAM server signature does not verify (the server does not know the password)');
      }
    },
  };
}
