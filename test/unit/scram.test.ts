// The pure SCRAM-SHA-256 client (src/protocol/scram.ts) byte by byte, and the
// session's derive step (src/protocol/session.ts): the key is asked of the
// caller, nothing is read while it is derived, and no 235 counts before the
// server signature verified (RFC 5802 §3, RFC 7677 §3 test vector).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pbkdf2Sync } from 'node:crypto';
import { AuthenticationError, RemoteProtocolError } from '../../src/errors.js';
import { ScramClient, saslName } from '../../src/protocol/scram.js';
import type { Reply } from '../../src/protocol/reply.js';
import { EtrnSession, type SessionAction } from '../../src/protocol/session.js';

const NONCE = 'rOprNGfwEbeRWgbNEkqO';
const SERVER_FIRST = 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096';
const CLIENT_FINAL = 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=';
const SERVER_FINAL = 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=';
const salted = (password: string, salt: Buffer, iterations: number): Buffer => pbkdf2Sync(password, salt, iterations, 32, 'sha256');

describe('ScramClient (RFC 7677 §3)', () => {
  test('the RFC 7677 exchange, byte for byte', () => {
    const c = new ScramClient('user', 'pencil', NONCE);
    assert.equal(c.clientFirst, 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO');
    const key = c.serverFirst(SERVER_FIRST);
    assert.deepEqual(key, { password: 'pencil', salt: Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'), iterations: 4096 });
    assert.equal(c.clientFinal(salted(key.password, key.salt, key.iterations)), CLIENT_FINAL);
    assert.equal(c.verified, false);
    c.serverFinal(SERVER_FINAL);
    assert.equal(c.verified, true);
  });

  test('saslname escapes "=" before ","', () => {
    assert.equal(saslName('a,b=c'), 'a=2Cb=3Dc');
    assert.equal(new ScramClient('=,', 'p', 'n').clientFirst, 'n,,n==3D=2C,r=n');
  });

  const refused: [string, RegExp][] = [
    ['m=ext,r=rOprNGfwEbeRWgbNEkqOxyz,s=c2FsdA==,i=4096', /mandatory extension/],
    ['s=c2FsdA==,r=rOprNGfwEbeRWgbNEkqOxyz,i=4096', /expected r=, s=, i=/],
    ['r=rOprNGfwEbeRWgbNEkqO,s=c2FsdA==,i=4096', /does not extend/],
    ['r=other,s=c2FsdA==,i=4096', /does not extend/],
    ['r=rOprNGfwEbeRWgbNEkqOxyz,s=,i=4096', /salt/],
    ['r=rOprNGfwEbeRWgbNEkqOxyz,s=c2F*dA==,i=4096', /salt/],
    ['r=rOprNGfwEbeRWgbNEkqOxyz,s=c2FsdA==,i=0', /iteration count/],
    ['r=rOprNGfwEbeRWgbNEkqOxyz,s=c2FsdA==,i=04096', /iteration count/],
    ['r=rOprNGfwEbeRWgbNEkqOxyz,s=c2FsdA==,i=1000001', /iteration count/],
    ['r=rOprNGfwEbeRWgbNEkqOxyz,s=c2FsdA==,i=1e6', /iteration count/],
    ['garbage', /malformed/],
  ];
  for (const [text, why] of refused) {
    test(`server-first ${JSON.stringify(text)} is a protocol error`, () => {
      assert.throws(() => new ScramClient('user', 'pencil', NONCE).serverFirst(text), (e: Error) => e instanceof RemoteProtocolError && why.test(e.message));
    });
  }

  test('1,000,000 iterations are accepted', () => {
    assert.equal(new ScramClient('u', 'p', NONCE).serverFirst(`r=${NONCE}x,s=c2FsdA==,i=1000000`).iterations, 1_000_000);
  });

  test('e= in server-first or server-final is an AuthenticationError quoting the reason', () => {
    assert.throws(() => new ScramClient('u', 'p', NONCE).serverFirst('e=unknown-user'), (e: Error) => e instanceof AuthenticationError && /e="unknown-user"/.test(e.message));
    const c = new ScramClient('user', 'pencil', NONCE);
    const key = c.serverFirst(SERVER_FIRST);
    c.clientFinal(salted(key.password, key.salt, key.iterations));
    assert.throws(() => c.serverFinal('e=invalid-proof,x=ext'), (e: Error) => e instanceof AuthenticationError && /e="invalid-proof"$/.test(e.message));
    assert.equal(c.verified, false);
  });

  test('a long or hostile reason is escaped and cut at 64 characters', () => {
    const c = new ScramClient('u', 'p', NONCE);
    const e = (() => {
      try {
        c.serverFirst(`e=\u001b[31m${'y'.repeat(200)}`);
      } catch (error) {
        return error as Error;
      }
      return null;
    })();
    assert.ok(e instanceof AuthenticationError);
    assert.match(e.message, /e="\\x1B\[31my+"\.\.\. \(\+\d+ more\)$/);
    assert.ok(e.message.length < 200);
  });

  for (const final of ['v=', 'v=AAAA', 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G8=', 'x=1', '', 'v=***']) {
    test(`server-final ${JSON.stringify(final)} does not verify`, () => {
      const c = new ScramClient('user', 'pencil', NONCE);
      const key = c.serverFirst(SERVER_FIRST);
      c.clientFinal(salted(key.password, key.salt, key.iterations));
      assert.throws(() => c.serverFinal(final), (e: Error) => e instanceof AuthenticationError && /did not prove it knows the password/.test(e.message));
      assert.equal(c.verified, false);
    });
  }

  test('steps out of order are protocol errors', () => {
    const c = new ScramClient('user', 'pencil', NONCE);
    assert.throws(() => c.serverFinal(SERVER_FINAL), RemoteProtocolError);
    assert.throws(() => c.clientFinal(Buffer.alloc(32)), RemoteProtocolError);
    c.serverFirst(SERVER_FIRST);
    assert.throws(() => c.serverFirst(SERVER_FIRST), /second SCRAM server-first/);
  });
});

describe('EtrnSession with SCRAM: the derive action and mutual authentication', () => {
  const r = (code: number, ...lines: string[]): Reply => ({ code, enhanced: null, lines: lines.length > 0 ? lines : [''] });
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  const wire = (reply: string): Buffer => Buffer.from(`${reply}\r\n`);

  function atAuth(): { s: EtrnSession; first: SessionAction } {
    const s = new EtrnSession({
      heloName: 'client.example',
      nodes: ['a.example'],
      auth: { user: 'user', password: 'pencil', allowCleartext: true, nonce: NONCE },
    });
    s.receive(r(220, 'mx'));
    s.written();
    const first = s.receive(r(250, 'mx', 'ETRN', 'AUTH SCRAM-SHA-256 PLAIN'));
    s.written();
    return { s, first };
  }

  test('AUTH, a derive action (nothing read meanwhile), the proof, the verified v=, then ETRN', () => {
    const { s, first } = atAuth();
    assert.deepEqual(first, { type: 'send', line: `AUTH SCRAM-SHA-256 ${b64('n,,n=user,r=rOprNGfwEbeRWgbNEkqO')}`, delayMs: 0, shown: 'AUTH SCRAM-SHA-256 ********' });
    const derive = s.receiveData(wire(`334 ${b64(SERVER_FIRST)}`));
    assert.equal(derive?.type, 'derive');
    const { key } = derive as Extract<SessionAction, { type: 'derive' }>;
    assert.equal(key.iterations, 4096);
    assert.equal(s.awaitingReply, false, 'no reply is awaited while the key is derived');
    const proof = s.derived(salted(key.password, key.salt, key.iterations));
    assert.deepEqual(proof, { type: 'send', line: b64(CLIENT_FINAL), delayMs: 0, shown: '********' });
    s.written();
    assert.deepEqual(s.receiveData(wire(`334 ${b64(SERVER_FINAL)}`)), { type: 'send', line: '', delayMs: 0, shown: '********' });
    s.written();
    assert.equal(s.authenticated, false, 'not before 235');
    assert.deepEqual(s.receiveData(wire('235 2.7.0 ok')), { type: 'send', line: 'ETRN a.example', delayMs: 0 });
    assert.equal(s.authenticated, true);
  });

  test('a 235 right after the proof (no v=) ends the session: kind auth, QUIT, no ETRN', () => {
    const { s } = atAuth();
    const derive = s.receiveData(wire(`334 ${b64(SERVER_FIRST)}`)) as Extract<SessionAction, { type: 'derive' }>;
    s.derived(salted(derive.key.password, derive.key.salt, derive.key.iterations));
    s.written();
    assert.deepEqual(s.receiveData(wire('235 2.7.0 Authentication successful')), { type: 'send', line: 'QUIT', delayMs: 0 });
    assert.equal(s.authenticated, false);
    assert.equal(s.error?.kind, 'auth');
    assert.equal(s.error?.phase, 'auth');
    assert.match(s.error?.message ?? '', /without proving it knows the password/);
    assert.deepEqual(s.nodes, [{ node: 'a.example', ok: false, sent: false }]);
  });

  test('a 235 before the proof (in answer to AUTH) is refused the same way', () => {
    const { s } = atAuth();
    assert.deepEqual(s.receiveData(wire('235 ok')), { type: 'send', line: 'QUIT', delayMs: 0 });
    assert.equal(s.error?.kind, 'auth');
  });

  test('bytes from the server while the key is derived are unsolicited (protocol error)', () => {
    const { s } = atAuth();
    s.receiveData(wire(`334 ${b64(SERVER_FIRST)}`));
    assert.deepEqual(s.receiveData(wire('235 early')), { type: 'close' });
    assert.equal(s.error?.kind, 'protocol');
    assert.throws(() => s.derived(Buffer.alloc(32)), /no key derivation outstanding/);
  });

  test('a failure while deriving (timeout, abort) ends the session; a late key is refused', () => {
    const { s } = atAuth();
    s.receiveData(wire(`334 ${b64(SERVER_FIRST)}`));
    assert.deepEqual(s.fail('interrupted', 'interrupted by SIGINT'), { type: 'close' });
    assert.throws(() => s.derived(Buffer.alloc(32)), /no key derivation outstanding/);
  });

  test('e= in the final 334 is kind auth with the reason, and QUIT', () => {
    const { s } = atAuth();
    const derive = s.receiveData(wire(`334 ${b64(SERVER_FIRST)}`)) as Extract<SessionAction, { type: 'derive' }>;
    s.derived(salted(derive.key.password, derive.key.salt, derive.key.iterations));
    s.written();
    assert.deepEqual(s.receiveData(wire(`334 ${b64('e=invalid-proof')}`)), { type: 'send', line: 'QUIT', delayMs: 0 });
    assert.equal(s.error?.kind, 'auth');
    assert.match(s.error?.message ?? '', /e="invalid-proof"/);
  });

  test('credentials OpaqueString refuses are refused when the session is made', () => {
    assert.throws(
      () => new EtrnSession({ heloName: 'c.example', nodes: ['a.example'], auth: { user: 'u', password: 'a\u0000b' } }),
      /password refused .*control character/,
    );
  });
});
