// Unit tests for the SMTP command builders (src/protocol/commands.ts): the
// last gate before the wire.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalProtocolError, quote } from '../../src/errors.js';
import { ehlo, etrnCommand, helo, quit, starttls } from '../../src/protocol/commands.js';

describe('command builders', () => {
  test('ehlo and helo put the name after the verb', () => {
    assert.equal(ehlo('client.example'), 'EHLO client.example');
    assert.equal(helo('client.example'), 'HELO client.example');
  });

  test('etrnCommand sends a domain, an @domain and a #queue unchanged', () => {
    assert.equal(etrnCommand('example.org'), 'ETRN example.org');
    assert.equal(etrnCommand('@example.org'), 'ETRN @example.org');
    assert.equal(etrnCommand('#queue1'), 'ETRN #queue1');
  });

  test('quit and starttls take no argument', () => {
    assert.equal(quit(), 'QUIT');
    assert.equal(starttls(), 'STARTTLS');
  });

  test('no command line ends with CRLF: the transport adds the line end', () => {
    for (const line of [ehlo('a.example'), helo('a.example'), etrnCommand('a.example'), quit(), starttls()]) {
      assert.doesNotMatch(line, /[\r\n]/);
    }
  });

  const unsafe: [string, string][] = [
    ['CR', 'a.example\rRSET'],
    ['LF', 'a.example\nRSET'],
    ['CRLF', 'a.example\r\nQUIT'],
    ['NUL', 'a\u0000.example'],
    ['a space', 'a.example RSET'],
    ['a tab', 'a.example\tx'],
    ['DEL', 'a\u007f.example'],
    ['ESC', 'a\u001b.example'],
    ['a C1 control (NEL)', 'a\u0085.example'],
  ];
  for (const [what, value] of unsafe) {
    test(`an argument with ${what} is refused by every builder`, () => {
      assert.throws(() => etrnCommand(value), LocalProtocolError);
      assert.throws(() => ehlo(value), LocalProtocolError);
      assert.throws(() => helo(value), LocalProtocolError);
    });
  }

  test('an empty argument is refused', () => {
    assert.throws(() => etrnCommand(''), LocalProtocolError);
    assert.throws(() => ehlo(''), LocalProtocolError);
  });

  test('an argument of 500 characters is accepted and one of 501 refused', () => {
    assert.equal(etrnCommand('a'.repeat(500)), `ETRN ${'a'.repeat(500)}`);
    assert.throws(() => etrnCommand('a'.repeat(501)), LocalProtocolError);
  });

  test('the refusal names the command and shows the argument escaped', () => {
    assert.throws(
      () => etrnCommand('x\r\ny'),
      (error: unknown) =>
        error instanceof LocalProtocolError &&
        error.code === 'ERR_LOCAL_PROTOCOL' &&
        error.message.includes('ETRN') &&
        error.message.includes(quote('x\r\ny')),
    );
  });
});
