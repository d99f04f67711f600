// SCRAM-SHA-256 is mutual (RFC 5802 §3, issue 10 item 1): servers that do
// not prove they know the password, or that refuse the proof in their final
// message, end the run with exit 77 and no ETRN. The servers are scripted
// (test/helpers/scram-server.ts): none of them would be a real server's
// behaviour, which is the point. They speak in clear (--tls off
// --auth-cleartext) so that only SCRAM is under test.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { type FinalBehaviour, type ScramServerOptions, scramSmtpScript } from '../helpers/scram-server.js';
import { TERMINAL_UNSAFE, assertNoStackTrace, closeAll, etrnCli, parseDoc, serve } from './harness.js';

after(closeAll);

const USER = 'etrnuser';
const PASSWORD = 'pencil-7Q';

/** The JSON session's "authenticated" field (not in the harness's type). */
const authenticated = (session: object): unknown => (session as { authenticated?: unknown }).authenticated;

async function run(o: Partial<ScramServerOptions> & { final?: FinalBehaviour }, password = PASSWORD) {
  const commands: string[] = [];
  const server = await serve(scramSmtpScript({ account: { user: USER, password: PASSWORD }, ...o }, commands));
  const r = await etrnCli(
    ['--json', '-v', '-t', '5', '--tls', 'off', '--auth-cleartext', '--auth-user', USER, `127.0.0.1:${server.port}`, 'a.example'],
    { env: { ETRN_PASSWORD: password } },
  );
  assertNoStackTrace(r.stderr);
  const doc = parseDoc(r.stdout, r.code ?? -1, ['a.example']);
  return { r, doc, session: doc.sessions[0]!, commands };
}

test('an honest SCRAM server (334 v=, then 235): authenticated, ETRN sent, exit 0', async () => {
  const { r, session, commands } = await run({ final: 'honest' });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(authenticated(session), true);
  assert.deepEqual(commands, ['EHLO ' + commands[0]!.slice(5), 'AUTH SCRAM-SHA-256', 'ETRN a.example', 'QUIT']);
});

test('235 without a server signature: failed authentication (77), no ETRN, "did not prove"', async () => {
  const { r, session, commands } = await run({ final: 'success-without-v' });
  assert.equal(r.code, 77, r.stderr);
  assert.equal(authenticated(session), false);
  assert.equal(session.error?.kind, 'auth');
  assert.match(session.error?.message ?? '', /without proving it knows the password/);
  assert.ok(!commands.some((c) => c.startsWith('ETRN')), `no ETRN: ${commands.join(' | ')}`);
  assert.equal(session.nodes[0]!.sent, false);
});

test('a wrong server signature (v=): failed authentication (77), no ETRN', async () => {
  const { r, session, commands } = await run({ final: 'wrong-v' });
  assert.equal(r.code, 77, r.stderr);
  assert.equal(session.error?.kind, 'auth');
  assert.match(session.error?.message ?? '', /did not prove it knows the password/);
  assert.ok(!commands.some((c) => c.startsWith('ETRN')));
});

test('e=invalid-proof (a wrong password): exit 77 quoting the server, not a protocol error', async () => {
  const { r, session, commands } = await run({}, 'not-the-password');
  assert.equal(r.code, 77, r.stderr);
  assert.equal(session.error?.kind, 'auth');
  assert.match(session.error?.message ?? '', /e="invalid-proof"/);
  assert.ok(!commands.some((c) => c.startsWith('ETRN')));
});

test('e=unknown-user: exit 77 quoting the server', async () => {
  const { r, session } = await run({ account: { user: 'someone-else', password: PASSWORD } });
  assert.equal(r.code, 77, r.stderr);
  assert.match(session.error?.message ?? '', /e="unknown-user"/);
});

test('a hostile e= reason is escaped and cut short', async () => {
  const reason = `\u001b[2Jcleared${'x'.repeat(500)}`;
  const { r, session } = await run({ final: 'error', reason });
  assert.equal(r.code, 77, r.stderr);
  const message = session.error?.message ?? '';
  assert.doesNotMatch(message, TERMINAL_UNSAFE);
  assert.match(message, /\\x1B\[2Jcleared/);
  assert.ok(message.length < 250, `bounded: ${message.length} characters`);
  assert.doesNotMatch(r.stderr, TERMINAL_UNSAFE);
});

test('a good v= followed by 535: failed authentication (77), no ETRN', async () => {
  const { r, session, commands } = await run({ final: 'v-then-535' });
  assert.equal(r.code, 77, r.stderr);
  assert.equal(authenticated(session), false);
  assert.match(session.error?.message ?? '', /535/);
  assert.ok(!commands.some((c) => c.startsWith('ETRN')));
});

test('more than 1,000,000 iterations: a protocol error (76), no key derived, no ETRN', async () => {
  const { r, session, commands } = await run({ serverFirst: (nonce) => `r=${nonce}xyz,s=c2FsdA==,i=1000001` });
  assert.equal(r.code, 76, r.stderr);
  assert.match(session.error?.message ?? '', /iteration count/);
  assert.ok(!commands.some((c) => c.startsWith('ETRN')));
});

test('a server nonce that does not extend the client nonce: protocol error (76)', async () => {
  const { r, session } = await run({ serverFirst: () => 'r=forged,s=c2FsdA==,i=4096' });
  assert.equal(r.code, 76, r.stderr);
  assert.match(session.error?.message ?? '', /nonce/);
});

test('a password with a control character is refused before any connection (64), without showing it', async () => {
  const server = await serve(scramSmtpScript({ account: { user: USER, password: PASSWORD } }));
  for (const json of [false, true]) {
    const r = await etrnCli([...(json ? ['--json'] : []), '--tls', 'off', '--auth-cleartext', '--auth-user', USER, `127.0.0.1:${server.port}`, 'a.example'], {
      env: { ETRN_PASSWORD: 'sec\tret-Zq' },
    });
    assertNoStackTrace(r.stderr);
    assert.equal(r.code, 64, r.stderr);
    assert.match(r.stdout + r.stderr, /AUTH password refused \(RFC 8265 OpaqueString\): character 4 is a control character/);
    assert.doesNotMatch(r.stdout + r.stderr, /ret-Zq|U\+0009/);
  }
  assert.equal(server.connections.length, 0, 'nothing was contacted');
});

test('the password typed in NFD with a no-break space authenticates against the NFC one', async () => {
  const { r, session } = await run({ account: { user: USER, password: 'p\u00e4 ss' } }, 'pa\u0308\u00a0ss');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(authenticated(session), true);
});

test('a reply pushed while the key is derived (334 and 235 at once) is unsolicited: 76, no proof, no ETRN', async () => {
  const received: string[] = [];
  const server = await serve(async (conn) => {
    conn.send('220 scram.test ESMTP');
    for (;;) {
      const line = await conn.readLine();
      if (line === null) return;
      received.push(line.split(' ').slice(0, 2).join(' '));
      if (line.startsWith('EHLO')) conn.send('250-scram.test', '250-AUTH SCRAM-SHA-256', '250 ETRN');
      else if (line.startsWith('AUTH')) {
        const nonce = /,r=([^,]*)/.exec(Buffer.from(line.split(' ')[2]!, 'base64').toString())![1]!;
        conn.send(`334 ${Buffer.from(`r=${nonce}srv,s=c2FsdA==,i=200000`).toString('base64')}`, '235 2.7.0 pushed early');
      } else if (line.startsWith('QUIT')) return conn.send('221 bye');
    }
  });
  const r = await etrnCli(['--json', '-t', '5', '--tls', 'off', '--auth-cleartext', '--auth-user', USER, `127.0.0.1:${server.port}`, 'a.example'], {
    env: { ETRN_PASSWORD: PASSWORD },
  });
  assertNoStackTrace(r.stderr);
  const doc = parseDoc(r.stdout, r.code ?? -1, ['a.example']);
  assert.equal(r.code, 76, r.stderr);
  assert.match(doc.sessions[0]!.error?.message ?? '', /before the command it answers/);
  assert.deepEqual(received.slice(1), ['AUTH SCRAM-SHA-256'], `no proof, no ETRN: ${received.join(' | ')}`);
  assert.match(received[0]!, /^EHLO /);
});
