// The server side of SCRAM-SHA-256 (RFC 5802 §3, RFC 7677) for scripted
// loopback servers, written independently of src/protocol/scram.ts: it
// checks the client's proof and makes the server signature, and each step can
// be replaced to play a hostile server (a 235 without "v=", a wrong "v=", an
// "e=" error, a 535 after a good "v=").
import { createHash, createHmac, pbkdf2, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Conn, Script } from './script-server.js';

export interface ScramAccount {
  readonly user: string;
  /** As stored on the server (already prepared). */
  readonly password: string;
  readonly salt?: Buffer;
  readonly iterations?: number;
}

/** What the server says after a client-final message: the lines it sends in order. */
export type FinalBehaviour =
  /** 334 v=<good>, then 235 after the empty response: an honest server. */
  | 'honest'
  /** 235 at once, no v=. */
  | 'success-without-v'
  /** 334 v=<wrong signature>, then 235. */
  | 'wrong-v'
  /** 334 v=<good>, then 535 after the empty response. */
  | 'v-then-535'
  /** 334 e=<reason>, then 535 (`reason` below). */
  | 'error';

export interface ScramServerOptions {
  readonly account: ScramAccount;
  readonly final?: FinalBehaviour;
  /** The e= value for final 'error' (may be hostile text). */
  readonly reason?: string;
  /** Overrides the server-first message (after the client nonce is known). */
  readonly serverFirst?: (clientNonce: string) => string;
  /** Lines received after AUTH (to assert on). */
  readonly log?: string[];
}

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string): string => Buffer.from(s, 'base64').toString('utf8');
const hmac = (key: Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();

/** The key material a real server stores instead of the password (RFC 5802 §3). */
export interface ServerKeys {
  readonly salt: Buffer;
  readonly iterations: number;
  readonly storedKey: Buffer;
  readonly serverKey: Buffer;
}

function keysFrom(salt: Buffer, iterations: number, salted: Buffer): ServerKeys {
  return { salt, iterations, storedKey: createHash('sha256').update(hmac(salted, 'Client Key')).digest(), serverKey: hmac(salted, 'Server Key') };
}

const saltOf = (a: ScramAccount): Buffer => a.salt ?? Buffer.from('etrn-test-salt');

function stored(a: ScramAccount): ServerKeys {
  const iterations = a.iterations ?? 4096;
  return keysFrom(saltOf(a), iterations, pbkdf2Sync(Buffer.from(a.password, 'utf8'), saltOf(a), iterations, 32, 'sha256'));
}

/** The key material of an account, derived on the thread pool (for high iteration counts). */
export function deriveServerKeys(a: ScramAccount): Promise<ServerKeys> {
  const iterations = a.iterations ?? 4096;
  return new Promise((resolve, reject) => {
    pbkdf2(Buffer.from(a.password, 'utf8'), saltOf(a), iterations, 32, 'sha256', (error, salted) =>
      error ? reject(error) : resolve(keysFrom(saltOf(a), iterations, salted)),
    );
  });
}

/**
 * Runs AUTH SCRAM-SHA-256 on `conn` once the client sent `authLine`; resolves
 * true when the server said 235. The server's key material is computed once
 * per account (deriveServerKeys for a high iteration count), not per connection.
 */
export async function scramExchange(conn: Conn, authLine: string, o: ScramServerOptions, keys: ServerKeys = stored(o.account)): Promise<boolean> {
  const initial = authLine.split(' ')[2];
  const first = initial === undefined ? await conn.readLine() : initial;
  if (first === null) return false;
  const clientFirst = unb64(first);
  const bare = clientFirst.replace(/^n,,/, '');
  const user = /^n=([^,]*)/.exec(bare)?.[1]?.replace(/=2C/g, ',').replace(/=3D/g, '=');
  const clientNonce = /,r=([^,]*)/.exec(bare)?.[1] ?? '';
  const serverFirst =
    o.serverFirst?.(clientNonce) ??
    `r=${clientNonce}${randomBytes(9).toString('base64')},s=${keys.salt.toString('base64')},i=${keys.iterations}`;
  conn.send(`334 ${b64(serverFirst)}`);
  const finalLine = await conn.readLine();
  if (finalLine === null) return false;
  o.log?.push(finalLine);
  const clientFinal = unb64(finalLine);
  const withoutProof = clientFinal.replace(/,p=[^,]*$/, '');
  const proof = Buffer.from(/,p=([^,]*)$/.exec(clientFinal)?.[1] ?? '', 'base64');
  const authMessage = `${bare},${serverFirst},${withoutProof}`;
  const signature = hmac(keys.storedKey, authMessage);
  const clientKey = Buffer.from(proof.map((b, i) => b ^ (signature[i] ?? 0)));
  const proofOk =
    user === o.account.user &&
    proof.length === 32 &&
    timingSafeEqual(createHash('sha256').update(clientKey).digest(), keys.storedKey);
  const v = hmac(keys.serverKey, authMessage).toString('base64');
  const behaviour = o.final ?? 'honest';
  if (behaviour === 'success-without-v') {
    conn.send('235 2.7.0 Authentication successful');
    return true;
  }
  if (behaviour === 'error' || !proofOk) {
    conn.send(`334 ${b64(`e=${o.reason ?? (user === o.account.user ? 'invalid-proof' : 'unknown-user')}`)}`);
    const answer = await conn.readLine();
    if (answer !== null && !answer.startsWith('QUIT')) o.log?.push(answer);
    conn.send('535 5.7.8 Authentication credentials invalid');
    return false;
  }
  conn.send(`334 ${b64(`v=${behaviour === 'wrong-v' ? Buffer.alloc(32, 7).toString('base64') : v}`)}`);
  const empty = await conn.readLine();
  if (empty === null) return false;
  o.log?.push(empty);
  if (empty.startsWith('QUIT')) {
    conn.send('221 2.0.0 Bye');
    return false;
  }
  if (behaviour === 'v-then-535') {
    conn.send('535 5.7.8 Authentication credentials invalid');
    return false;
  }
  conn.send('235 2.7.0 Authentication successful');
  return true;
}

/**
 * A whole SMTP server that offers only AUTH SCRAM-SHA-256 (in clear: tests
 * run etrn with --tls off --auth-cleartext) and ETRN; records the commands.
 */
export function scramSmtpScript(o: ScramServerOptions, commands: string[] = [], keys: ServerKeys = stored(o.account)): Script {
  return async (conn: Conn) => {
    conn.send('220 scram.test ESMTP');
    for (;;) {
      const line = await conn.readLine();
      if (line === null) return;
      commands.push(line.startsWith('AUTH') ? line.split(' ').slice(0, 2).join(' ') : line);
      const verb = line.split(' ')[0]!.toUpperCase();
      if (verb === 'EHLO') conn.send('250-scram.test', '250-AUTH SCRAM-SHA-256', '250 ETRN');
      else if (verb === 'AUTH') {
        if (!(await scramExchange(conn, line, o, keys))) {
          const next = await conn.readLine();
          if (next !== null) commands.push(next);
          conn.send('221 2.0.0 Bye');
          return;
        }
      } else if (verb === 'ETRN') conn.send('250 Queuing started');
      else if (verb === 'QUIT') {
        conn.send('221 2.0.0 Bye');
        return;
      } else conn.send('502 5.5.2 Error: command not recognized');
    }
  };
}
