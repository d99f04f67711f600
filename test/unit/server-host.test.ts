// Unit tests for server-host parsing (src/names/server.ts).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidNameError } from '../../src/errors.js';
import { formatHostPort, parsePort, parseServer } from '../../src/names/server.js';

function assertInvalid(input: string): void {
  assert.throws(
    () => parseServer(input),
    (error: unknown) =>
      error instanceof InvalidNameError && error.code === 'ERR_INVALID_NAME' && error.message.length > 0,
    `${JSON.stringify(input)} was accepted`,
  );
}

describe('parseServer', () => {
  test('a host name alone has no port', () => {
    assert.deepEqual(parseServer('mx.example.net'), { host: 'mx.example.net', port: undefined });
  });

  test('a host name with :port gives that port', () => {
    assert.deepEqual(parseServer('mx.example.net:2525'), { host: 'mx.example.net', port: 2525 });
  });

  test('a host name is normalised: trailing dot dropped, IDN to A-labels', () => {
    assert.deepEqual(parseServer('mx.example.net.'), { host: 'mx.example.net', port: undefined });
    assert.deepEqual(parseServer('mx.bücher.example:25'), { host: 'mx.xn--bcher-kva.example', port: 25 });
  });

  test('an IPv4 address is accepted', () => {
    assert.deepEqual(parseServer('192.0.2.7'), { host: '192.0.2.7', port: undefined });
  });

  test('an IPv4 address with :port is accepted', () => {
    assert.deepEqual(parseServer('192.0.2.7:587'), { host: '192.0.2.7', port: 587 });
  });

  test('a bracketed IPv6 address is accepted without its brackets', () => {
    assert.deepEqual(parseServer('[2001:db8::7]'), { host: '2001:db8::7', port: undefined });
  });

  test('a bracketed IPv6 address with :port is accepted', () => {
    assert.deepEqual(parseServer('[2001:db8::7]:587'), { host: '2001:db8::7', port: 587 });
    assert.deepEqual(parseServer('[::1]:25'), { host: '::1', port: 25 });
  });

  test('a bare IPv6 address is taken whole, without a port', () => {
    assert.deepEqual(parseServer('2001:db8::7'), { host: '2001:db8::7', port: undefined });
    assert.deepEqual(parseServer('::1'), { host: '::1', port: undefined });
  });

  test('ports 1 and 65535 are accepted', () => {
    assert.equal(parseServer('mx.example:1').port, 1);
    assert.equal(parseServer('mx.example:65535').port, 65535);
  });

  for (const bad of ['mx.example:0', 'mx.example:65536', 'mx.example:x', 'mx.example:', 'mx.example:-1', 'mx.example:2 5', '192.0.2.7:0', '[::1]:0', '[::1]:65536', '[::1]:x', '[::1]:']) {
    test(`a bad port is refused: ${bad}`, () => {
      assertInvalid(bad);
    });
  }

  test('an unterminated bracket is refused', () => {
    assertInvalid('[::1');
    assertInvalid('[2001:db8::7:25');
  });

  test('brackets around something other than an IPv6 address are refused', () => {
    assertInvalid('[notv6]');
    assertInvalid('[192.0.2.7]');
    assertInvalid('[mx.example]:25');
  });

  test('text after the closing bracket that is not a port is refused', () => {
    assertInvalid('[::1]x');
    assertInvalid('[::1]25');
  });

  test('an IPv4-looking address that is not valid is refused', () => {
    assertInvalid('999.1.1.1');
    assertInvalid('192.0.2');
    assertInvalid('192.0.2.7.1:25');
  });

  test('an invalid host name is refused', () => {
    assertInvalid('mx..example');
    assertInvalid('mx_1.example');
    assertInvalid('mx.example\r\n');
    assertInvalid('');
    assertInvalid(':25');
  });
});

describe('parsePort', () => {
  test('a decimal port is returned as a number', () => {
    assert.equal(parsePort('25'), 25);
    assert.equal(parsePort('465'), 465);
  });

  test('zero, too large, signs, fractions and non-digits are refused', () => {
    for (const bad of ['0', '65536', '99999', '+25', '2.5', 'x', '', '123456']) {
      assert.throws(() => parsePort(bad), InvalidNameError, `${bad} was accepted`);
    }
  });
});

describe('formatHostPort', () => {
  test('a host name and an IPv4 address are joined with a colon', () => {
    assert.equal(formatHostPort('mx.example.net', 25), 'mx.example.net:25');
    assert.equal(formatHostPort('192.0.2.7', 587), '192.0.2.7:587');
  });

  test('an IPv6 address is put in brackets', () => {
    assert.equal(formatHostPort('2001:db8::7', 587), '[2001:db8::7]:587');
    assert.equal(formatHostPort('::1', 25), '[::1]:25');
  });

  test('formatHostPort and parseServer round-trip', () => {
    for (const [host, port] of [['mx.example.net', 2525], ['192.0.2.7', 25], ['2001:db8::7', 587]] as const) {
      assert.deepEqual(parseServer(formatHostPort(host, port)), { host, port });
    }
  });
});
