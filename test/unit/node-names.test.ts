// Unit tests for client-host (node) validation (src/names/node.ts).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidNameError, quote } from '../../src/errors.js';
import {
  MAX_LABEL_OCTETS,
  MAX_NAME_OCTETS,
  normalizeDomain,
  normalizeNode,
  normalizeNodes,
} from '../../src/names/node.js';

/** Asserts that `fn` throws InvalidNameError for `input`, naming it. */
function assertInvalid(fn: (input: string) => unknown, input: string): void {
  assert.throws(
    () => fn(input),
    (error: unknown) => {
      assert.ok(error instanceof InvalidNameError, `expected InvalidNameError, got ${String(error)}`);
      assert.equal(error.input, input);
      assert.equal(error.code, 'ERR_INVALID_NAME');
      assert.ok(error.message.includes(quote(input)), `message does not name the input: ${error.message}`);
      return true;
    },
  );
}

const label = (ch: string, n: number): string => ch.repeat(n);
/** A name of `octets` octets (253 or 254): three 63-octet labels and one shorter. */
function nameOf(octets: number): string {
  return [label('a', 63), label('b', 63), label('c', 63), label('d', octets - 3 * 64)].join('.');
}

describe('normalizeDomain', () => {
  test('an LDH name is returned unchanged, case kept', () => {
    assert.equal(normalizeDomain('mail-1.Example.ORG'), 'mail-1.Example.ORG');
    assert.equal(normalizeDomain('a.b'), 'a.b');
    assert.equal(normalizeDomain('3com.example'), '3com.example');
  });

  test('a single-label name is accepted', () => {
    assert.equal(normalizeDomain('localhost'), 'localhost');
  });

  test('a label of 63 octets is accepted and one of 64 refused', () => {
    assert.equal(MAX_LABEL_OCTETS, 63);
    const ok = `${label('a', 63)}.example`;
    assert.equal(normalizeDomain(ok), ok);
    assertInvalid(normalizeDomain, `${label('a', 64)}.example`);
  });

  test('a name of 253 octets is accepted and one of 254 refused', () => {
    assert.equal(MAX_NAME_OCTETS, 253);
    const ok = nameOf(253);
    assert.equal(ok.length, 253);
    assert.equal(normalizeDomain(ok), ok);
    const long = nameOf(254);
    assert.equal(long.length, 254);
    assert.ok(long.split('.').every((l) => l.length <= 63));
    assertInvalid(normalizeDomain, long);
  });

  test('a name of 253 octets with a trailing dot is accepted', () => {
    const ok = nameOf(253);
    assert.equal(normalizeDomain(`${ok}.`), ok);
  });

  test('a trailing dot is dropped', () => {
    assert.equal(normalizeDomain('example.org.'), 'example.org');
  });

  test('an internationalised name is returned as A-labels', () => {
    assert.equal(normalizeDomain('bücher.example'), 'xn--bcher-kva.example');
    assert.equal(normalizeDomain('Bücher.Example.'), 'xn--bcher-kva.example');
  });

  test('an internationalised label too long once encoded is refused', () => {
    assertInvalid(normalizeDomain, `${'ü'.repeat(70)}.example`);
  });

  test('an internationalised name the IDNA rules refuse is refused', () => {
    assertInvalid(normalizeDomain, 'a\u2028b.example');
  });

  test('an empty name is refused, and so is a lone dot', () => {
    assertInvalid(normalizeDomain, '');
    assertInvalid(normalizeDomain, '.');
  });

  for (const bad of ['a..b', '.a.example', 'a.example..']) {
    test(`a name with an empty label (${JSON.stringify(bad)}) is refused`, () => {
      assertInvalid(normalizeDomain, bad);
    });
  }

  for (const bad of ['-a.example', 'a-.example', 'a.-b.example', 'a.b-']) {
    test(`a label with a leading or trailing hyphen (${bad}) is refused`, () => {
      assertInvalid(normalizeDomain, bad);
    });
  }

  test('a name with an underscore is refused', () => {
    assertInvalid(normalizeDomain, '_dmarc.example');
    assertInvalid(normalizeDomain, 'a_b.example');
  });

  test('other punctuation is refused', () => {
    for (const bad of ['a/b.example', 'a:b.example', 'a*.example', '[192.0.2.1]', 'a@b.example']) {
      assertInvalid(normalizeDomain, bad);
    }
  });

  test('the refusal message uses the given description', () => {
    assert.throws(() => normalizeDomain('a..b', 'server-host'), /server-host/);
  });
});

describe('normalizeNode', () => {
  test('a domain name is checked like normalizeDomain', () => {
    assert.equal(normalizeNode('example.org.'), 'example.org');
    assert.equal(normalizeNode('bücher.example'), 'xn--bcher-kva.example');
  });

  test('an @domain keeps its @ and has its domain checked', () => {
    assert.equal(normalizeNode('@example.org'), '@example.org');
    assert.equal(normalizeNode('@bücher.example.'), '@xn--bcher-kva.example');
    assert.throws(() => normalizeNode('@a..b'), InvalidNameError);
    assert.throws(() => normalizeNode('@-a.example'), InvalidNameError);
  });

  test('the refusal of a bad @domain names the whole argument, @ included', () => {
    assertInvalid(normalizeNode, '@a..b');
    assertInvalid(normalizeNode, '@a_b.example');
    assertInvalid(normalizeNode, '@');
  });

  test('a #queue is kept as given', () => {
    assert.equal(normalizeNode('#queue'), '#queue');
    assert.equal(normalizeNode('#my_queue.1-x'), '#my_queue.1-x');
  });

  test('an empty #queue or one with other characters is refused', () => {
    assertInvalid(normalizeNode, '#');
    assertInvalid(normalizeNode, '#a/b');
    assertInvalid(normalizeNode, '#a@b');
  });

  const controls: [string, string][] = [
    ['CR', '\r'],
    ['LF', '\n'],
    ['NUL', '\u0000'],
    ['a space', ' '],
    ['a tab', '\t'],
    ['DEL', '\u007f'],
    ['BEL', '\u0007'],
    ['ESC', '\u001b'],
    ['a C1 control', '\u009b'],
  ];
  for (const [what, ch] of controls) {
    test(`a client-host with ${what} is refused with a message naming it`, () => {
      assertInvalid(normalizeNode, `a${ch}b.example`);
      assertInvalid(normalizeNode, `a.example${ch}`);
      assertInvalid(normalizeNode, `@a${ch}.example`);
      assertInvalid(normalizeNode, `#q${ch}1`);
      assertInvalid(normalizeDomain, `a${ch}b.example`);
    });
  }

  test('an injected SMTP command is refused', () => {
    assertInvalid(normalizeNode, 'a.example\r\nMAIL FROM:<x@y>');
  });

  test('the empty string is refused', () => {
    assertInvalid(normalizeNode, '');
  });
});

describe('normalizeNodes', () => {
  test('duplicates are removed case-insensitively, keeping the first and the order', () => {
    assert.deepEqual(
      normalizeNodes(['b.example', 'A.example', 'a.EXAMPLE', 'b.example.', 'c.example', 'B.Example']),
      ['b.example', 'A.example', 'c.example'],
    );
  });

  test('a name and its A-label form are duplicates', () => {
    assert.deepEqual(normalizeNodes(['bücher.example', 'XN--BCHER-KVA.example']), ['xn--bcher-kva.example']);
  });

  test('a domain and the same @domain are different nodes', () => {
    assert.deepEqual(normalizeNodes(['a.example', '@a.example', '#a']), ['a.example', '@a.example', '#a']);
  });

  test('one invalid name makes the whole list fail', () => {
    assert.throws(() => normalizeNodes(['a.example', 'b..example']), InvalidNameError);
  });

  test('an empty list gives an empty list', () => {
    assert.deepEqual(normalizeNodes([]), []);
  });

  test('any iterable is accepted', () => {
    assert.deepEqual(normalizeNodes(new Set(['x.example', 'y.example'])), ['x.example', 'y.example']);
  });
});
