// Unit tests for reply meanings and exit statuses (src/protocol/outcome.ts).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  type ErrorKind,
  ExitCode,
  exitCodeForKind,
  exitCodeForNodeReply,
  isAccepted,
  worstExitCode,
} from '../../src/protocol/outcome.js';

describe('ExitCode', () => {
  test('the statuses are those of sysexits.h', () => {
    assert.deepEqual(
      { ...ExitCode },
      {
        OK: 0,
        USAGE: 64,
        NOHOST: 68,
        UNAVAILABLE: 69,
        SOFTWARE: 70,
        IOERR: 74,
        TEMPFAIL: 75,
        PROTOCOL: 76,
        NOPERM: 77,
        CONFIG: 78,
        INTERRUPTED: 130,
        TERMINATED: 143,
      },
    );
    assert.ok(Object.isFrozen(ExitCode));
  });
});

describe('worstExitCode', () => {
  test('no status at all is success', () => {
    assert.equal(worstExitCode([]), 0);
  });

  test('the order of severity is 76 > 77 > 69 > 68 > 75 > 0', () => {
    const order = [76, 77, 69, 68, 75, 0];
    for (let i = 0; i < order.length; i += 1) {
      for (let j = i; j < order.length; j += 1) {
        const a = order[i]!;
        const b = order[j]!;
        assert.equal(worstExitCode([a, b]), a, `worst of ${a} and ${b}`);
        assert.equal(worstExitCode([b, a]), a, `worst of ${b} and ${a}`);
      }
    }
  });

  test('the worst of all the spec\'s statuses, in any order, is 76', () => {
    assert.equal(worstExitCode([0, 75, 68, 69, 77, 76]), 76);
    assert.equal(worstExitCode([76, 0, 75, 77, 68, 69]), 76);
  });

  test('a run of successes is success', () => {
    assert.equal(worstExitCode([0, 0, 0]), 0);
  });

  test('usage and configuration errors outrank every session status', () => {
    assert.equal(worstExitCode([76, 78]), 78);
    assert.equal(worstExitCode([76, 64]), 64);
  });

  test('an interrupted run outranks everything', () => {
    assert.equal(worstExitCode([64, 78, 76, 130, 0]), 130);
  });

  test('any iterable is accepted', () => {
    assert.equal(worstExitCode(new Set([75, 69])), 69);
  });
});

describe('isAccepted', () => {
  test('250, 251, 252 and 253 are accepted', () => {
    for (const code of [250, 251, 252, 253]) assert.equal(isAccepted(code), true, String(code));
  });

  test('4xx and 5xx replies are not accepted', () => {
    for (const code of [421, 450, 458, 459, 500, 501, 502, 504, 550, 554]) {
      assert.equal(isAccepted(code), false, String(code));
    }
  });

  test('3xx replies are not accepted', () => {
    assert.equal(isAccepted(354), false);
  });
});

describe('exitCodeForNodeReply', () => {
  test('an accepted node gives 0', () => {
    for (const code of [250, 251, 252, 253]) assert.equal(exitCodeForNodeReply(code), 0);
  });

  test('459 and 5xx refusals give 69', () => {
    for (const code of [459, 500, 501, 502, 504, 550, 554]) {
      assert.equal(exitCodeForNodeReply(code), ExitCode.UNAVAILABLE, String(code));
    }
  });

  test('421, 458 and other 4xx give 75', () => {
    for (const code of [421, 450, 451, 458]) {
      assert.equal(exitCodeForNodeReply(code), ExitCode.TEMPFAIL, String(code));
    }
  });
});

describe('exitCodeForKind', () => {
  test('each error kind maps to its status', () => {
    const expected: Record<ErrorKind, number> = {
      timeout: 75,
      refused: 75,
      protocol: 76,
      unavailable: 69,
      tls: 69,
      auth: 77,
      nohost: 68,
      config: 78,
      interrupted: 130,
    };
    for (const [kind, code] of Object.entries(expected)) {
      assert.equal(exitCodeForKind(kind as ErrorKind), code, kind);
    }
  });
});
