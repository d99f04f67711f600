// Unit tests for run results (src/result.ts): per-session status, summary,
// and the --json document of the spec.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type SessionResult, failedRun, sessionExitCode, summarize, toJson } from '../../src/result.js';

function session(extra: Partial<SessionResult> = {}): SessionResult {
  return {
    server: 'mx.example.net',
    port: 25,
    address: '192.0.2.7',
    tls: null,
    authenticated: false,
    etrnAdvertised: true,
    error: null,
    nodes: [{ node: 'a.example', sent: true, code: 250, enhanced: '2.0.0', text: 'Queuing for node a.example started', ok: true }],
    ...extra,
  };
}

describe('sessionExitCode', () => {
  test('a session whose nodes were all accepted gives 0', () => {
    assert.equal(sessionExitCode(session()), 0);
  });

  test('a node refused with 459 gives 69', () => {
    const s = session({ nodes: [{ node: 'a.example', sent: true, code: 250, ok: true }, { node: 'b.example', sent: true, code: 459, ok: false }] });
    assert.equal(sessionExitCode(s), 69);
  });

  test('a node refused with 458 gives 75', () => {
    assert.equal(sessionExitCode(session({ nodes: [{ node: 'a.example', sent: true, code: 458, ok: false }] })), 75);
  });

  test('the worse of a 458 and a 550 node is 69', () => {
    const s = session({ nodes: [{ node: 'a.example', sent: true, code: 458, ok: false }, { node: 'b.example', sent: true, code: 550, ok: false }] });
    assert.equal(sessionExitCode(s), 69);
  });

  test('a session error gives the status of its kind', () => {
    const nodes = [{ node: 'a.example', ok: false, sent: false }];
    assert.equal(sessionExitCode(session({ error: { kind: 'timeout', message: 't', phase: 'connect', reply: null }, nodes })), 75);
    assert.equal(sessionExitCode(session({ error: { kind: 'protocol', message: 'p', phase: 'connect', reply: null }, nodes })), 76);
    assert.equal(sessionExitCode(session({ error: { kind: 'unavailable', message: 'u', phase: 'connect', reply: null }, nodes })), 69);
    assert.equal(sessionExitCode(session({ error: { kind: 'auth', message: 'a', phase: 'connect', reply: null }, nodes })), 77);
    assert.equal(sessionExitCode(session({ error: { kind: 'nohost', message: 'n', phase: 'connect', reply: null }, nodes })), 68);
  });

  test('the session error and the node replies are combined, the worst wins', () => {
    const s = session({
      error: { kind: 'refused', message: '421', phase: 'connect', reply: null },
      nodes: [{ node: 'a.example', sent: true, code: 550, ok: false }, { node: 'b.example', sent: true, code: 421, ok: false }],
    });
    assert.equal(sessionExitCode(s), 69);
  });

  test('nodes without a code do not count by themselves', () => {
    assert.equal(sessionExitCode(session({ nodes: [{ node: 'a.example', ok: null, sent: false }] })), 0);
  });
});

describe('summarize', () => {
  test('a run where everything was accepted is ok with status 0', () => {
    const result = summarize([session(), session({ server: 'mx2.example.net' })], []);
    assert.equal(result.ok, true);
    assert.equal(result.exitCode, 0);
    assert.equal(result.sessions.length, 2);
  });

  test('the status is the worst over all sessions', () => {
    const result = summarize(
      [
        session({ error: { kind: 'timeout', message: 'x', phase: 'connect', reply: null }, nodes: [{ node: 'a.example', ok: false, sent: false }] }),
        session({ nodes: [{ node: 'b.example', sent: true, code: 550, ok: false }] }),
        session(),
      ],
      [],
    );
    assert.equal(result.ok, false);
    assert.equal(result.exitCode, 69);
  });

  test('warnings are passed through', () => {
    assert.deepEqual(summarize([session()], ['w1', 'w2']).warnings, ['w1', 'w2']);
  });

  test('no sessions at all is ok', () => {
    const result = summarize([], []);
    assert.equal(result.ok, true);
    assert.equal(result.exitCode, 0);
  });
});

describe('toJson', () => {
  test('the document has exactly the spec\'s top-level and session keys', () => {
    const doc = JSON.parse(toJson(summarize([session()], ['a warning'])));
    assert.deepEqual(Object.keys(doc).sort(), ['error', 'exitCode', 'ok', 'schemaVersion', 'sessions']);
    assert.equal(doc.schemaVersion, 1);
    assert.equal(doc.error, null);
    assert.deepEqual(Object.keys(doc.sessions[0]).sort(), [
      'address',
      'authenticated',
      'error',
      'etrnAdvertised',
      'nodes',
      'port',
      'server',
      'tls',
    ]);
  });

  test('a node has exactly node, sent, code, enhanced, text and ok', () => {
    const doc = JSON.parse(toJson(summarize([session()], [])));
    assert.deepEqual(doc.sessions[0].nodes, [
      { node: 'a.example', sent: true, code: 250, enhanced: '2.0.0', text: 'Queuing for node a.example started', ok: true },
    ]);
  });

  test('the values of a session are carried over', () => {
    const doc = JSON.parse(toJson(summarize([session({ port: 2525, authenticated: true, etrnAdvertised: false })], [])));
    const s = doc.sessions[0];
    assert.equal(doc.ok, true);
    assert.equal(doc.exitCode, 0);
    assert.equal(s.server, 'mx.example.net');
    assert.equal(s.port, 2525);
    assert.equal(s.address, '192.0.2.7');
    assert.equal(s.tls, null);
    assert.equal(s.authenticated, true);
    assert.equal(s.etrnAdvertised, false);
    assert.equal(s.error, null);
  });

  test('an unanswered node has no code, enhanced or text keys, and a failed session shows its error with phase and reply', () => {
    const failed = session({
      address: null,
      etrnAdvertised: null,
      error: { kind: 'refused', message: 'connection refused', phase: 'connect', reply: null },
      nodes: [{ node: 'a.example', ok: false, sent: false }],
    });
    const doc = JSON.parse(toJson(summarize([failed], [])));
    assert.equal(doc.ok, false);
    assert.equal(doc.exitCode, 75);
    assert.deepEqual(doc.sessions[0].error, { kind: 'refused', message: 'connection refused', phase: 'connect', reply: null });
    assert.deepEqual(doc.sessions[0].nodes, [{ node: 'a.example', ok: false, sent: false }]);
    assert.equal(doc.sessions[0].address, null);
    assert.equal(doc.sessions[0].etrnAdvertised, null);
  });

  test('a dry-run node has ok null and no reply keys', () => {
    const doc = JSON.parse(toJson(summarize([session({ nodes: [{ node: 'a.example', ok: null, sent: false }] })], [])));
    assert.deepEqual(doc.sessions[0].nodes, [{ node: 'a.example', ok: null, sent: false }]);
  });

  test('tls has version, cipher (issue 5) and verified', () => {
    const doc = JSON.parse(
      toJson(summarize([session({ tls: { version: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384', verified: true } })], [])),
    );
    assert.deepEqual(doc.sessions[0].tls, { version: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384', verified: true });
  });

  test('the document is valid JSON', () => {
    assert.doesNotThrow(() => JSON.parse(toJson(summarize([session()], []))));
  });

  test('a session ended by a reply carries that reply and the phase as fields (issue 13 item 1)', () => {
    const reply = { code: 421, enhanced: '4.3.2', text: 'shutting down' };
    const doc = JSON.parse(
      toJson(summarize([session({ error: { kind: 'refused', message: 'server closed the session', phase: 'etrn', reply } })], [])),
    );
    assert.deepEqual(doc.sessions[0].error, { kind: 'refused', message: 'server closed the session', phase: 'etrn', reply });
  });

  test('a run that failed before any session is one document: sessions empty, a top-level error (issue 11 item 9)', () => {
    const doc = JSON.parse(toJson(failedRun({ kind: 'config', message: 'f: unreadable' }, 78)));
    assert.deepEqual(doc, {
      schemaVersion: 1,
      ok: false,
      exitCode: 78,
      error: { kind: 'config', message: 'f: unreadable' },
      sessions: [],
    });
  });
});
