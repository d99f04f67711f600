import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { chooseMechanism, createMechanism } from '../../src/protocol/sasl.js';
import { RemoteProtocolError } from '../../src/errors.js';

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
    assert.equal(m.respond(Buffer.from('Username:')).toString(), 'user');
    assert.equal(m.respond(Buffer.from('Password:')).toString(), 'pencil');
    assert.throws(() => m.respond(Buffer.from('Again:')), /more AUTH LOGIN challenges/);
  });

  test('CRAM-MD5 answers the RFC 2195 example', () => {
    const m = createMechanism('CRAM-MD5', { user: 'tim', password: 'tanstaaftanstaaf' });
    const challenge = Buffer.from('<1896.697170952@postoffice.reston.mci.net>');
    assert.equal(m.respond(challenge).toString(), 'tim b913a602c7eda7a495b4e6e7334d3890');
    assert.throws(() => m.respond(challenge), RemoteProtocolError);
  });

  test('SCRAM-SHA-256 reproduces the RFC 7677 test vector and verifies the server', () => {
    const m = createMechanism('SCRAM-SHA-256', creds, 'rOprNGfwEbeRWgbNEkqO');
    assert.equal(m.initial?.toString(), 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO');
    const final = m.respond(
      Buffer.from('r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096'),
    );
    assert.equal(
      final.toString(),
      'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
    );
    assert.equal(typeof m.verifyFinal, 'function', 'SCRAM checks the server signature');
    const verifyFinal = m.verifyFinal!.bind(m);
    assert.doesNotThrow(() => verifyFinal(Buffer.from('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=')));
    assert.throws(() => verifyFinal(Buffer.from('v=AAAA')), /does not verify/);
  });

  test('SCRAM refuses a server nonce that does not extend its own', () => {
    const m = createMechanism('SCRAM-SHA-256', creds, 'abc');
    assert.throws(() => m.respond(Buffer.from('r=xyz,s=AAAA,i=4096')), /malformed SCRAM/);
  });

  test('the CRAM-MD5 digest is an HMAC-MD5 of the challenge', () => {
    const m = createMechanism('CRAM-MD5', creds);
    const expected = createHmac('md5', 'pencil').update('<x@y>').digest('hex');
    assert.equal(m.respond(Buffer.from('<x@y>')).toString(), `user ${expected}`);
  });
});
