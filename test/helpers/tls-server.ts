// A scripted loopback SMTP server with STARTTLS, implicit TLS and AUTH
// (PLAIN, LOGIN, CRAM-MD5), for the TLS and AUTH tests. It records every
// line it receives and whether it came over TLS.
import { createServer, type Server, type Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import { makeCerts } from './certs.js';

export interface TlsServerOptions {
  offerStarttls?: boolean;
  starttlsReply?: string;
  /** What to do after the 220 to STARTTLS. */
  afterStarttls?: 'handshake' | 'garbage' | 'inject';
  implicit?: boolean;
  auth?: {
    mechanisms: string[];
    user: string;
    password: string;
    /** Advertise AUTH only over TLS (like Exim's default). */
    onlyAfterTls?: boolean;
    /** Keep sending 334 challenges forever (continuation abuse). */
    endless?: boolean;
  };
  /** Refuse ETRN unless authenticated. */
  etrnNeedsAuth?: boolean;
}

export interface ReceivedLine {
  line: string;
  tls: boolean;
}

export interface TlsLab {
  port: number;
  /** Per connection, the lines received. */
  sessions: ReceivedLine[][];
  close(): Promise<void>;
}

export async function startTlsServer(o: TlsServerOptions): Promise<TlsLab> {
  const certs = makeCerts();
  const sessions: ReceivedLine[][] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((plain) => {
    sockets.add(plain);
    plain.on('error', () => undefined);
    const seen: ReceivedLine[] = [];
    sessions.push(seen);
    let stream: Socket = plain;
    let secure = false;
    let authed = false;
    let authStep: ((line: string) => void) | null = null;
    const send = (...lines: string[]): void => {
      if (!stream.destroyed) stream.write(lines.map((l) => `${l}\r\n`).join(''));
    };
    const secureWith = (): TLSSocket => {
      const t = new TLSSocket(plain, { isServer: true, key: certs.key, cert: certs.cert });
      t.on('error', () => undefined);
      stream = t;
      secure = true;
      t.on('data', onData);
      return t;
    };
    const b64 = (s: string): string => Buffer.from(s).toString('base64');
    const unb64 = (s: string): string => Buffer.from(s, 'base64').toString('utf8');
    const finishAuth = (ok: boolean): void => {
      authStep = null;
      if (ok) {
        authed = true;
        send('235 2.7.0 Authentication successful');
      } else send('535 5.7.8 Authentication credentials invalid');
    };
    const startAuth = (mech: string, initial: string | undefined): void => {
      const a = o.auth!;
      if (o.auth?.endless) {
        authStep = () => send(`334 ${b64('more?')}`);
        send(`334 ${b64('more?')}`);
        return;
      }
      if (mech === 'PLAIN') {
        const check = (data: string): void => finishAuth(unb64(data) === `\0${a.user}\0${a.password}`);
        if (initial) check(initial);
        else {
          authStep = check;
          send('334 ');
        }
      } else if (mech === 'LOGIN') {
        let user = '';
        authStep = (l) => {
          user = unb64(l);
          authStep = (p) => finishAuth(user === a.user && unb64(p) === a.password);
          send(`334 ${b64('Password:')}`);
        };
        send(`334 ${b64('Username:')}`);
      } else if (mech === 'CRAM-MD5') {
        const challenge = '<12345.67890@mx.test>';
        authStep = (l) => {
          const expected = `${a.user} ${createHmac('md5', a.password).update(challenge).digest('hex')}`;
          finishAuth(unb64(l) === expected);
        };
        send(`334 ${b64(challenge)}`);
      } else send('504 5.5.4 Unrecognized authentication type');
    };
    let buffer = '';
    function onData(chunk: Buffer): void {
      buffer += chunk.toString('latin1');
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl).replace(/\r$/, '');
        buffer = buffer.slice(nl + 1);
        seen.push({ line, tls: secure });
        if (authStep) {
          if (line === '*') {
            authStep = null;
            send('501 5.7.0 Authentication cancelled');
          } else authStep(line);
          continue;
        }
        const [verb = '', arg1, arg2] = line.split(' ');
        switch (verb.toUpperCase()) {
          case 'EHLO': {
            const caps = ['250-mx.test'];
            if (o.offerStarttls !== false && !secure) caps.push('250-STARTTLS');
            if (o.auth && (secure || !o.auth.onlyAfterTls)) caps.push(`250-AUTH ${o.auth.mechanisms.join(' ')}`);
            caps.push('250 ETRN');
            send(...caps);
            break;
          }
          case 'STARTTLS': {
            const reply = o.starttlsReply ?? '220 2.0.0 Ready to start TLS';
            if (!reply.startsWith('220')) {
              send(reply);
              break;
            }
            const mode = o.afterStarttls ?? 'handshake';
            if (mode === 'inject') {
              send(reply, '250 injected');
              break;
            }
            send(reply);
            plain.off('data', onData);
            if (mode === 'garbage') {
              // Answer the ClientHello with something that is not TLS.
              plain.once('data', () => plain.end('this is not TLS\r\n'));
            } else secureWith();
            return;
          }
          case 'AUTH':
            startAuth((arg1 ?? '').toUpperCase(), arg2);
            break;
          case 'ETRN':
            if (o.etrnNeedsAuth && !authed) send('458 4.7.1 Unable to queue messages for node: authentication required');
            else send('250 2.0.0 Queuing started');
            break;
          case 'QUIT':
            send('221 Bye');
            stream.end();
            break;
          default:
            send('502 no');
        }
      }
    }
    if (o.implicit) {
      const t = secureWith();
      t.once('secure', () => send('220 mx.test ESMTP implicit'));
    } else {
      plain.on('data', onData);
      send('220 mx.test ESMTP');
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as { port: number }).port,
    sessions,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
