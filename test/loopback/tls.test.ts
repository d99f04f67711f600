// STARTTLS and implicit TLS against scripted loopback servers with a test CA:
// opportunistic, required, verification, downgrade, injection, and the
// reconnect in clear after a failed opportunistic handshake.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { once } from 'node:events';
import { runEtrn } from '../helpers/cli.js';
import { makeCerts } from '../helpers/certs.js';

interface TlsServerOptions {
  offerStarttls?: boolean;
  starttlsReply?: string;
  /** What to do after the 220 to STARTTLS. */
  afterStarttls?: 'handshake' | 'garbage' | 'inject';
  implicit?: boolean;
}

interface Lab {
  port: number;
  /** Per connection, the lines received and whether they came over TLS. */
  sessions: { line: string; tls: boolean }[][];
  close(): Promise<void>;
}

const labs: Lab[] = [];
after(async () => {
  await Promise.all(labs.map((l) => l.close()));
});

async function tlsServer(o: TlsServerOptions): Promise<Lab> {
  const certs = makeCerts();
  const sessions: { line: string; tls: boolean }[][] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((plain) => {
    sockets.add(plain);
    plain.on('error', () => undefined);
    const seen: { line: string; tls: boolean }[] = [];
    sessions.push(seen);
    let stream: Socket = plain;
    let secure = false;
    const send = (...lines: string[]): void => {
      if (!stream.destroyed) stream.write(lines.map((l) => `${l}\r\n`).join(''));
    };
    const upgrade = (): void => {
      const t = new TLSSocket(plain, { isServer: true, key: certs.key, cert: certs.cert });
      t.on('error', () => undefined);
      stream = t;
      secure = true;
      listen(t);
    };
    let buffer = '';
    const onData = (chunk: Buffer): void => {
      buffer += chunk.toString('latin1');
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl).replace(/\r$/, '');
        buffer = buffer.slice(nl + 1);
        seen.push({ line, tls: secure });
        const verb = line.split(' ')[0]!.toUpperCase();
        if (verb === 'EHLO') {
          send('250-mx.test', ...(o.offerStarttls !== false && !secure ? ['250-STARTTLS'] : []), '250 ETRN');
        } else if (verb === 'STARTTLS') {
          const reply = o.starttlsReply ?? '220 2.0.0 Ready to start TLS';
          if (!reply.startsWith('220')) {
            send(reply);
            continue;
          }
          const mode = o.afterStarttls ?? 'handshake';
          if (mode === 'inject') {
            send(reply, '250 injected');
            continue;
          }
          send(reply);
          if (mode === 'garbage') {
            // Answer the ClientHello with something that is not TLS.
            plain.off('data', onData);
            plain.once('data', () => plain.end('this is not TLS\r\n'));
            return;
          }
          plain.off('data', onData);
          upgrade();
          return;
        } else if (verb === 'ETRN') send('250 2.0.0 Queuing started');
        else if (verb === 'QUIT') {
          send('221 Bye');
          stream.end();
        } else send('502 no');
      }
    };
    const listen = (s: Socket): void => {
      s.on('data', onData);
    };
    if (o.implicit) {
      const t = new TLSSocket(plain, { isServer: true, key: certs.key, cert: certs.cert });
      t.on('error', () => undefined);
      stream = t;
      secure = true;
      listen(t);
      t.once('secure', () => send('220 mx.test ESMTP implicit'));
    } else {
      listen(plain);
      send('220 mx.test ESMTP');
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const lab: Lab = {
    port: (server.address() as { port: number }).port,
    sessions,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
  labs.push(lab);
  return lab;
}

const args = (lab: Lab, ...extra: string[]): string[] => ['--json', '--helo', 'client.example', '-t', '3', ...extra, `127.0.0.1:${lab.port}`, 'a.example'];

test('opportunistic: STARTTLS when offered, EHLO again, ETRN over TLS, reported unverified', async () => {
  const lab = await tlsServer({});
  const run = await runEtrn(args(lab));
  assert.equal(run.code, 0, run.stderr);
  const doc = JSON.parse(run.stdout);
  assert.equal(doc.sessions[0].tls.version, 'TLSv1.3');
  assert.equal(typeof doc.sessions[0].tls.cipher, 'string');
  assert.equal(doc.sessions[0].tls.verified, false);
  assert.deepEqual(lab.sessions[0], [
    { line: 'EHLO client.example', tls: false },
    { line: 'STARTTLS', tls: false },
    { line: 'EHLO client.example', tls: true },
    { line: 'ETRN a.example', tls: true },
    { line: 'QUIT', tls: true },
  ]);
});

test('opportunistic with the CA: the certificate is reported verified', async () => {
  const lab = await tlsServer({});
  const run = await runEtrn(args(lab, '--tls-ca', makeCerts().caFile));
  assert.equal(run.code, 0, run.stderr);
  assert.equal(JSON.parse(run.stdout).sessions[0].tls.verified, true);
});

test('--tls off never sends STARTTLS', async () => {
  const lab = await tlsServer({});
  const run = await runEtrn(args(lab, '--tls', 'off'));
  assert.equal(run.code, 0, run.stderr);
  assert.equal(JSON.parse(run.stdout).sessions[0].tls, null);
  assert.ok(!lab.sessions[0]!.some((l) => l.line === 'STARTTLS'));
});

test('required without trust in the certificate: exit 69, no ETRN sent', async () => {
  const lab = await tlsServer({});
  const run = await runEtrn(args(lab, '--tls', 'required'));
  assert.equal(run.code, 69);
  const doc = JSON.parse(run.stdout);
  assert.equal(doc.sessions[0].error.kind, 'tls');
  assert.match(doc.sessions[0].error.message, /certificate/i);
  assert.ok(lab.sessions.every((s) => !s.some((l) => l.line.startsWith('ETRN'))));
});

test('required with --tls-ca: verified, exit 0', async () => {
  const lab = await tlsServer({});
  const run = await runEtrn(args(lab, '--tls', 'required', '--tls-ca', makeCerts().caFile));
  assert.equal(run.code, 0, run.stderr);
  assert.equal(JSON.parse(run.stdout).sessions[0].tls.verified, true);
});

test('required with a server name the certificate does not carry: exit 69', async () => {
  const lab = await tlsServer({});
  const run = await runEtrn(args(lab, '--tls', 'required', '--tls-ca', makeCerts().caFile, '--tls-servername', 'other.test'));
  assert.equal(run.code, 69);
  assert.equal(JSON.parse(run.stdout).sessions[0].error.kind, 'tls');
});

test('required, STARTTLS not offered (downgrade): exit 69, no ETRN', async () => {
  const lab = await tlsServer({ offerStarttls: false });
  const run = await runEtrn(args(lab, '--tls', 'required'));
  assert.equal(run.code, 69);
  assert.match(JSON.parse(run.stdout).sessions[0].error.message, /does not offer STARTTLS/);
  assert.ok(!lab.sessions[0]!.some((l) => l.line.startsWith('ETRN')));
});

test('opportunistic, STARTTLS refused with 454: carries on in clear', async () => {
  const lab = await tlsServer({ starttlsReply: '454 4.7.0 TLS not available' });
  const run = await runEtrn(args(lab));
  assert.equal(run.code, 0, run.stderr);
  assert.equal(JSON.parse(run.stdout).sessions[0].tls, null);
});

test('opportunistic, garbage instead of a handshake: says so, reconnects once in clear', async () => {
  const lab = await tlsServer({ afterStarttls: 'garbage' });
  const run = await runEtrn(['-v', ...args(lab)]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /TLS handshake failed/);
  assert.match(run.stderr, /reconnecting without TLS/);
  assert.equal(lab.sessions.length, 2);
  assert.deepEqual(lab.sessions[1]!.map((l) => l.line), ['EHLO client.example', 'ETRN a.example', 'QUIT']);
});

test('required, garbage instead of a handshake: exit 69', async () => {
  const lab = await tlsServer({ afterStarttls: 'garbage' });
  const run = await runEtrn(args(lab, '--tls', 'required'));
  assert.equal(run.code, 69);
  assert.equal(lab.sessions.length, 1);
});

test('plaintext injected after the 220 to STARTTLS is a protocol error: exit 76', async () => {
  const lab = await tlsServer({ afterStarttls: 'inject' });
  const run = await runEtrn(args(lab));
  assert.equal(run.code, 76);
  assert.match(JSON.parse(run.stdout).sessions[0].error.message, /after its 220 to STARTTLS/);
  assert.ok(!lab.sessions[0]!.some((l) => l.line.startsWith('ETRN')));
});

test('implicit TLS from the first byte, verified with the CA', async () => {
  const lab = await tlsServer({ implicit: true });
  const run = await runEtrn(args(lab, '--tls', 'implicit', '--tls-ca', makeCerts().caFile));
  assert.equal(run.code, 0, run.stderr);
  const doc = JSON.parse(run.stdout);
  assert.equal(doc.sessions[0].tls.verified, true);
  assert.deepEqual(lab.sessions[0]!.map((l) => l.line), ['EHLO client.example', 'ETRN a.example', 'QUIT']);
});

test('implicit TLS against a plaintext server fails with exit 69', async () => {
  const lab = await tlsServer({});
  const run = await runEtrn(args(lab, '--tls', 'implicit', '-t', '1'));
  assert.equal(run.code, 69, run.stdout + run.stderr);
  assert.equal(JSON.parse(run.stdout).sessions[0].error.kind, 'tls');
});
