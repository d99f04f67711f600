// SASL mechanisms for SMTP AUTH (RFC 4954) as pure step functions: each
// takes the server's decoded challenge and returns the next step (a response,
// or for SCRAM a key to derive first), or throws when the server asks for more
// steps than the mechanism has. PLAIN (RFC 4616), LOGIN
// (draft-murchison-sasl-login), CRAM-MD5 (RFC 2195), SCRAM-SHA-256 (RFC 5802,
// RFC 7677, in scram.ts). The user name and password are prepared by the
// OpaqueString profile (RFC 8265, opaque-string.ts) for every mechanism, so
// the server gets the same bytes whichever mechanism is chosen. No sockets,
// no clocks; the SCRAM nonce is injected so the RFC 7677 vector can be replayed.
import { RemoteProtocolError, UsageError } from '../errors.js';
import { opaqueString } from './opaque-string.js';
import { type KeyRequest, ScramClient, cryptoLib } from './scram.js';

export type { KeyRequest } from './scram.js';

export type MechanismName = 'SCRAM-SHA-256' | 'CRAM-MD5' | 'PLAIN' | 'LOGIN';

/** Strongest first: SCRAM and CRAM-MD5 never reveal the password, even without TLS. */
export const mechanismPreference: readonly MechanismName[] = ['SCRAM-SHA-256', 'CRAM-MD5', 'PLAIN', 'LOGIN'];

export interface Credentials {
  readonly user: string;
  readonly password: string;
}

/** What a mechanism does with a challenge: answer it, or first derive a key (SCRAM). */
export type MechanismStep =
  | { readonly type: 'respond'; readonly data: Buffer }
  | { readonly type: 'derive'; readonly key: KeyRequest };

export interface Mechanism {
  readonly name: MechanismName;
  /** The initial response sent with AUTH (RFC 4954 §4), or null if the mechanism waits for a challenge. */
  readonly initial: Buffer | null;
  /** The next step for a server challenge (already base64-decoded). */
  respond(challenge: Buffer): MechanismStep;
  /** The response once the key a 'derive' step asked for is there (SCRAM's SaltedPassword). */
  derived(key: Buffer): Buffer;
  /**
   * Whether the server has proved what the mechanism requires of it: always
   * true for one-way mechanisms, true for SCRAM only after its signature verified.
   */
  readonly serverVerified: boolean;
}

/**
 * The credentials prepared by the OpaqueString profile (RFC 8265 §4.2):
 * non-ASCII spaces mapped to U+0020, NFC; a UsageError names what it
 * refuses (for the password, the kind of character and where, never the
 * character itself).
 */
export function prepareCredentials(creds: Credentials): Credentials {
  const user = opaqueString(creds.user, true, (why) => new UsageError(`AUTH user name refused (RFC 8265 OpaqueString): ${why}`));
  const password = opaqueString(creds.password, false, (why) => new UsageError(`AUTH password refused (RFC 8265 OpaqueString): ${why}`));
  return { user, password };
}

export function chooseMechanism(offered: readonly string[]): MechanismName | null {
  const set = new Set(offered.map((m) => m.toUpperCase()));
  return mechanismPreference.find((m) => set.has(m)) ?? null;
}

function tooManySteps(name: string): never {
  throw new RemoteProtocolError(`server sent more AUTH ${name} challenges than the mechanism has`);
}

const respond = (data: Buffer): MechanismStep => ({ type: 'respond', data });
const noKey = (name: string) => (): never => {
  throw new RemoteProtocolError(`AUTH ${name} derives no key`);
};

/** A mechanism for `creds` (prepared here by the OpaqueString profile). */
export function createMechanism(name: MechanismName, raw: Credentials, nonce?: string): Mechanism {
  const creds = prepareCredentials(raw);
  switch (name) {
    case 'PLAIN':
      return {
        name,
        initial: Buffer.from(`\0${creds.user}\0${creds.password}`, 'utf8'),
        respond: () => tooManySteps(name),
        derived: noKey(name),
        serverVerified: true,
      };
    case 'LOGIN': {
      let step = 0;
      return {
        name,
        initial: null,
        respond: () => {
          step += 1;
          if (step === 1) return respond(Buffer.from(creds.user, 'utf8'));
          if (step === 2) return respond(Buffer.from(creds.password, 'utf8'));
          return tooManySteps(name);
        },
        derived: noKey(name),
        serverVerified: true,
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
          const digest = cryptoLib().createHmac('md5', creds.password).update(challenge).digest('hex');
          return respond(Buffer.from(`${creds.user} ${digest}`, 'utf8'));
        },
        derived: noKey(name),
        serverVerified: true,
      };
    }
    case 'SCRAM-SHA-256':
      return scramSha256(new ScramClient(creds.user, creds.password, nonce ?? cryptoLib().randomBytes(18).toString('base64')));
  }
}

/**
 * SCRAM-SHA-256 over SMTP: the server-first message comes as the first 334,
 * the server-final (v= or e=) as a second 334 that the client answers with an
 * empty line (RFC 4954 §4); only then may the server say 235.
 */
function scramSha256(client: ScramClient): Mechanism {
  let step = 0;
  return {
    name: 'SCRAM-SHA-256',
    initial: Buffer.from(client.clientFirst, 'utf8'),
    respond(challenge) {
      step += 1;
      if (step === 1) return { type: 'derive', key: client.serverFirst(challenge.toString('utf8')) };
      if (step === 2) {
        client.serverFinal(challenge.toString('utf8'));
        return respond(Buffer.alloc(0));
      }
      return tooManySteps('SCRAM-SHA-256');
    },
    derived: (key) => Buffer.from(client.clientFinal(key), 'utf8'),
    get serverVerified() {
      return client.verified;
    },
  };
}
