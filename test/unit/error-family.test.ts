// One error family (issue 13 item 4): every error etrn raises is an
// EtrnError with a stable `code`; an invalid name carries its reason as a
// field; the exit-status table has every status etrn uses.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, EtrnError, InvalidNameError, OutputError, UsageError } from '../../src/errors.js';
import { ExitCode, exitCodeForSignal } from '../../src/protocol/outcome.js';
import { DeadlineReached } from '../../src/transport/abort.js';
import { ConnectError } from '../../src/transport/connect.js';
import { HostNotFoundError } from '../../src/transport/resolve.js';
import { TlsError } from '../../src/transport/tls.js';
import { normalizeNode } from '../../src/names/node.js';
import { parseServer } from '../../src/names/server.js';

describe('every error is an EtrnError with a stable code', () => {
  const cases: [EtrnError, string][] = [
    [new UsageError('u'), 'ERR_USAGE'],
    [new ConfigError('c'), 'ERR_CONFIG'],
    [new InvalidNameError('x y', 'has a space'), 'ERR_INVALID_NAME'],
    [new ConnectError('refused', 'connection refused'), 'ERR_CONNECT'],
    [new TlsError('TLS handshake failed: x'), 'ERR_TLS'],
    [new HostNotFoundError('mx.invalid', 'host not found'), 'ERR_HOST_NOT_FOUND'],
    [new DeadlineReached(1500), 'ERR_DEADLINE'],
    [new OutputError('stdout: ENOSPC'), 'ERR_OUTPUT'],
  ];
  for (const [error, code] of cases) {
    test(`${error.name}: ${code}`, () => {
      assert.ok(error instanceof EtrnError);
      assert.ok(error instanceof Error);
      assert.equal(error.code, code);
      assert.equal(error.name, error.constructor.name);
    });
  }

  test('the transport errors keep their facts as fields', () => {
    assert.equal(new ConnectError('timeout', 't').kind, 'timeout');
    assert.equal(new ConnectError('refused', 'r').phase, 'connect');
    assert.equal(new TlsError('x').kind, 'tls');
    assert.equal(new TlsError('deadline', 'timeout').kind, 'timeout');
    assert.equal(new DeadlineReached(1500).deadlineMs, 1500);
    assert.equal(new DeadlineReached(1500).message, 'whole-run deadline of 1.5 s reached');
  });
});

describe('an invalid name carries its reason as a field', () => {
  test('the reason is the message after the quoted input', () => {
    const e = new InvalidNameError('a b', 'client-host has a space');
    assert.equal(e.reason, 'client-host has a space');
    assert.equal(e.input, 'a b');
  });

  test('re-thrown for the whole input (@domain, host:port), the reason is kept, not cut from the message', () => {
    const at = (() => {
      try {
        normalizeNode('@bad..example');
      } catch (error) {
        return error as InvalidNameError;
      }
      return null;
    })();
    assert.equal(at?.input, '@bad..example');
    assert.match(at?.reason ?? '', /empty label/);
    assert.throws(() => parseServer('mx..example:25'), (e: InvalidNameError) => e.input === 'mx..example:25' && /empty label/.test(e.reason));
  });
});

describe('the exit-status table', () => {
  test('has the internal-error, output and signal statuses', () => {
    assert.equal(ExitCode.SOFTWARE, 70);
    assert.equal(ExitCode.IOERR, 74);
    assert.equal(exitCodeForSignal('SIGINT'), 130);
    assert.equal(exitCodeForSignal('SIGTERM'), 143);
  });
});
