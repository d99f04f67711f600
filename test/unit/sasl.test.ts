import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, pbkdf2Sync } from 'node:crypto';
import { type Mechanism, type MechanismStep, chooseMechanism, createMechanism } from '../../src/protocol/sasl.js';
import { AuthenticationError, RemoteProtocolError, UsageError } from '../../src/errors.js';

/** The response of a step that must answer at once. */
function data(step: MechanismStep): Buffer {
  assert.equal(step.type, 'respond');
  return (step as { data: Buffer }).data;
}

/** Runs a SCRAM derive step synchronously (tests only). */
function deriveNow(m: Mechanism, step: MechanismStep): Buffer {
  assert.equal(step.type, 'derive');
  const { key } = step as Extract<MechanismStep, { type: 'derive' }>;
  return m.derived(pbkdf2Sync(key.password, key.salt, key.iterations, 32, 'sha256'));
}

const creds = { user: 'user', password: 'pencil' };

describe('SASL mechanisms', () => {
  test('the strongest offered mechanism is chosen', () => {
    assert.equal(chooseMechanism(['PLAIN', 'LOGIN', 'CRAM-MD5']), 'CRAM-MD5');
    assert.equal(chooseMechanism(['login', 'plain']), 'PLAIN');
    assert.equal(chooseMechanism(['SCRAM-SHA-256', 'PLAIN']), 'SCRAM-SHA-256');
    assert.equal(chooseMechanism(['GSSAPI', 'NTLM']), null);
  });

  test('PLAIN sends authzid, user and password in its initial response and takes no challenge', () => {
    const m = createMechanism('PLAIN', creds);
    assert.equal(m.initial?.toString('utf8'), '\0user\0pencil');
    assert.throws(() => m.respond(Buffer.from('')), RemoteProtocolError);
  });

  test('LOGIN answers the user, then the password, then refuses a third challenge', () => {
    const m = createMechanism('LOGIN', creds);
    assert.equal(m.initial, null);
    assert.equal(data(m.respond(Buffer.from('Username:'))).toString(), 'user');
    assert.equal(data(m.respond(Buffer.from('Password:'))).toString(), 'pencil');
    assert.throws(() => m.respond(Buffer.from('Again:')), /more AUTH LOGIN challenges/);
  });

  test('CRAM-MD5 answers the RFC 2195 example', () => {
    const m = createMechanism('CRAM-MD5', { user: 'tim', password: 'tanstaaftanstaaf' });
    const challenge = Buffer.from('<1896.697170952@postoffice.reston.mci.net>');
    assert.equal(data(m.respond(challenge)).toString(), 'tim b913a602c7eda7a495b4e6e7334d3890');
    assert.throws(() => m.respond(challenge), RemoteProtocolError);
  });

  test('SCRAM-SHA-256 reproduces the RFC 7677 test vector and verifies the server', () => {
    const m = createMechanism('SCRAM-SHA-256', creds, 'rOprNGfwEbeRWgbNEkqO');
    assert.equal(m.initial?.toString(), 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO');
    const step = m.respond(Buffer.from('r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096'));
    assert.equal(step.type, 'derive', 'the key is derived by the caller, off the event loop');
    assert.equal(
      deriveNow(m, step).toString(),
      'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
    );
    assert.equal(m.serverVerified, false, 'not verified before the server signature');
    assert.equal(data(m.respond(Buffer.from('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4='))).length, 0);
    assert.equal(m.serverVerified, true);
  });

  test('SCRAM: a wrong server signature is an AuthenticationError and leaves the server unverified', () => {
    const m = createMechanism('SCRAM-SHA-256', creds, 'rOprNGfwEbeRWgbNEkqO');
    deriveNow(m, m.respond(Buffer.from('r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096')));
    assert.throws(() => m.respond(Buffer.from('v=AAAA')), (e: Error) => e instanceof AuthenticationError && /did not prove it knows the password/.test(e.message));
    assert.equal(m.serverVerified, false);
  });

  test('one-way mechanisms have nothing for the server to prove', () => {
    for (const name of ['PLAIN', 'LOGIN', 'CRAM-MD5'] as const) assert.equal(createMechanism(name, creds).serverVerified, true, name);
  });

  test('credentials are prepared by OpaqueString for every mechanism: NFD and U+00A0 give the NFC bytes with U+0020', () => {
    const typed = { user: 'us\u00e9r', password: 'pa\u0308\u00a0ss' };
    assert.equal(createMechanism('PLAIN', typed).initial?.toString('utf8'), '\0us\u00e9r\0p\u00e4 ss');
    const login = createMechanism('LOGIN', typed);
    login.respond(Buffer.from('Username:'));
    assert.equal(data(login.respond(Buffer.from('Password:'))).toString('utf8'), 'p\u00e4 ss');
    const cram = createMechanism('CRAM-MD5', typed);
    const expected = createHmac('md5', Buffer.from('p\u00e4 ss', 'utf8')).update('<x@y>').digest('hex');
    assert.equal(data(cram.respond(Buffer.from('<x@y>'))).toString('utf8'), `us\u00e9r ${expected}`);
  });

  test('a password OpaqueString refuses is a UsageError that does not show the character', () => {
    assert.throws(
      () => createMechanism('PLAIN', { user: 'u', password: 'ab\u0007c' }),
      (e: Error) => e instanceof UsageError && /character 3 is a control character/.test(e.message) && !/U\+0007/.test(e.message),
    );
    assert.throws(() => createMechanism('SCRAM-SHA-256', { user: 'u', password: '\u00a0'.replace('\u00a0', '') }), /password refused .*empty/);
  });

  test('SCRAM refuses a server nonce that does not extend its own', () => {
    const m = createMechanism('SCRAM-SHA-256', creds, 'abc');
    assert.throws(() => m.respond(Buffer.from('r=xyz,s=AAAA,i=4096')), /malformed SCRAM/);
    assert.throws(() => createMechanism('SCRAM-SHA-256', creds, 'abc').respond(Buffer.from('r=abc,s=AAAA,i=4096')), /does not extend/);
  });

  test('the CRAM-MD5 digest is an HMAC-MD5 of the challenge', () => {
    const m = createMechanism('CRAM-MD5', creds);
    const expected = createHmac('md5', 'pencil').update('<x@y>').digest('hex');
    assert.equal(data(m.respond(Buffer.from('<x@y>'))).toString(), `user ${expected}`);
  });
});
