// Where a password may go (src/protocol/auth-policy.ts and the session):
// AUTH of any mechanism only over TLS whose certificate verified, unless the
// user accepted an unverified certificate or no TLS at all. Pure: no sockets.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Reply } from '../../src/protocol/reply.js';
import { authRefusal, mayRetryInClear } from '../../src/protocol/auth-policy.js';
import { type AuthOptions, EtrnSession, type SessionAction, type TlsMode } from '../../src/protocol/session.js';

const r = (code: number, ...lines: string[]): Reply => ({ code, enhanced: null, lines: lines.length > 0 ? lines : [''] });
const verified = { verified: true, problem: null };
const selfSigned = { verified: false, problem: 'self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)' };

describe('authRefusal', () => {
  test('verified TLS: AUTH may be sent', () => {
    assert.equal(authRefusal(verified, {}), null);
  });
  test('unverified TLS: refused, naming the problem and both ways around it', () => {
    const why = authRefusal(selfSigned, {});
    assert.match(why ?? '', /^AUTH not sent: the server's certificate did not verify: "self-signed certificate \(DEPTH_ZERO_SELF_SIGNED_CERT\)"; .*--tls-insecure.*--auth-cleartext/);
  });
  test('unverified TLS with --tls-insecure or --auth-cleartext: allowed', () => {
    assert.equal(authRefusal(selfSigned, { allowUnverified: true }), null);
    assert.equal(authRefusal(selfSigned, { allowCleartext: true }), null);
  });
  test('no TLS: refused unless --auth-cleartext; --tls-insecure is not enough', () => {
    assert.match(authRefusal(null, {}) ?? '', /not TLS.*--auth-cleartext/);
    assert.match(authRefusal(null, { allowUnverified: true }) ?? '', /not TLS/);
    assert.equal(authRefusal(null, { allowCleartext: true }), null);
  });
  test('the certificate problem is escaped: no control character reaches the message', () => {
    const why = authRefusal({ verified: false, problem: 'bad\nname\u001b[31m\u0085' }, {}) ?? '';
    assert.ok(!/[\u0000-\u001f\u007f-\u009f]/.test(why), why);
    assert.match(why, /"bad\\x0Aname\\x1B\[31m\\x85"/);
  });
  test('a failed opportunistic handshake is retried in clear only without AUTH, or with --auth-cleartext', () => {
    assert.equal(mayRetryInClear(undefined), true);
    assert.equal(mayRetryInClear({ allowCleartext: true }), true);
    assert.equal(mayRetryInClear({}), false);
    assert.equal(mayRetryInClear({ allowUnverified: true }), false);
  });
});

const EHLO_TLS = (mechanism: string): Reply => r(250, 'mx.example', 'STARTTLS', `AUTH ${mechanism}`, 'ETRN');
const EHLO_SECURE = (mechanism: string): Reply => r(250, 'mx.example', `AUTH ${mechanism}`, 'ETRN');

/** Greeting, EHLO, STARTTLS 220, the handshake with `certificate`, EHLO again: the action after it. */
function afterStarttls(mechanism: string, certificate: { verified: boolean; problem: string | null }, auth: Partial<AuthOptions> = {}): { s: EtrnSession; action: SessionAction } {
  const s = new EtrnSession({ heloName: 'c.example', nodes: ['a.example'], auth: { user: 'u', password: 'p', ...auth } });
  s.receive(r(220, 'mx.example ESMTP'));
  assert.deepEqual(s.receive(EHLO_TLS(mechanism)), { type: 'send', line: 'STARTTLS', delayMs: 0 });
  assert.deepEqual(s.receive(r(220, 'go ahead')), { type: 'starttls' });
  s.secured(certificate);
  return { s, action: s.receive(EHLO_SECURE(mechanism)) };
}

describe('EtrnSession: AUTH only where it is safe, for every mechanism', () => {
  for (const mechanism of ['PLAIN', 'LOGIN', 'CRAM-MD5', 'SCRAM-SHA-256']) {
    test(`${mechanism}: an unverified certificate: no AUTH, QUIT, kind auth`, () => {
      const { s, action } = afterStarttls(mechanism, selfSigned);
      assert.deepEqual(action, { type: 'send', line: 'QUIT', delayMs: 0 });
      assert.equal(s.error?.kind, 'auth');
      assert.equal(s.error?.phase, 'auth');
      assert.match(s.error?.message ?? '', /DEPTH_ZERO_SELF_SIGNED_CERT/);
      assert.equal(s.authenticated, false);
      assert.deepEqual(s.nodes, [{ node: 'a.example', ok: false, sent: false }]);
    });
    test(`${mechanism}: a verified certificate, or --tls-insecure: AUTH ${mechanism} is sent`, () => {
      for (const [certificate, auth] of [[verified, {}], [selfSigned, { allowUnverified: true }]] as const) {
        const { action } = afterStarttls(mechanism, certificate, auth);
        assert.equal(action.type, 'send');
        assert.match((action as { line: string }).line, new RegExp(`^AUTH ${mechanism}`));
      }
    });
  }

  const cleartext = (tls: TlsMode, auth: Partial<AuthOptions>): SessionAction => {
    const s = new EtrnSession({ heloName: 'c.example', nodes: ['a.example'], tls, auth: { user: 'u', password: 'p', ...auth } });
    s.receive(r(220, 'mx.example ESMTP'));
    return s.receive(EHLO_SECURE('PLAIN'));
  };
  test('no STARTTLS offered: no AUTH without --auth-cleartext, AUTH with it', () => {
    assert.deepEqual(cleartext('opportunistic', {}), { type: 'send', line: 'QUIT', delayMs: 0 });
    assert.deepEqual(cleartext('opportunistic', { allowUnverified: true }), { type: 'send', line: 'QUIT', delayMs: 0 });
    assert.match((cleartext('opportunistic', { allowCleartext: true }) as { line: string }).line, /^AUTH PLAIN /);
  });
  test('implicit TLS: the certificate check comes with the options; unreported counts as unverified', () => {
    const implicit = (certificate?: { verified: boolean; problem: string | null }): SessionAction => {
      const s = new EtrnSession({ heloName: 'c.example', nodes: ['a.example'], tls: 'implicit', certificate, auth: { user: 'u', password: 'p' } });
      s.receive(r(220, 'mx.example ESMTP'));
      return s.receive(EHLO_SECURE('PLAIN'));
    };
    assert.match((implicit(verified) as { line: string }).line, /^AUTH PLAIN /);
    assert.deepEqual(implicit(selfSigned), { type: 'send', line: 'QUIT', delayMs: 0 });
    assert.deepEqual(implicit(), { type: 'send', line: 'QUIT', delayMs: 0 });
  });
});
