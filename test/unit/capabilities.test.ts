// Unit tests for the EHLO capability parser (src/protocol/capabilities.ts).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { noCapabilities, parseCapabilities } from '../../src/protocol/capabilities.js';
import type { Reply } from '../../src/protocol/reply.js';

const ehloReply = (...lines: string[]): Reply => ({ code: 250, enhanced: null, lines });

describe('parseCapabilities', () => {
  test('each line after the first is one keyword', () => {
    const caps = parseCapabilities(ehloReply('mx.example Hello', 'PIPELINING', 'ETRN', '8BITMIME'));
    assert.deepEqual([...caps.keywords.keys()], ['PIPELINING', 'ETRN', '8BITMIME']);
    assert.equal(caps.has('ETRN'), true);
    assert.equal(caps.has('STARTTLS'), false);
  });

  test('the first line is the server greeting and never a keyword', () => {
    const caps = parseCapabilities(ehloReply('ETRN', 'PIPELINING'));
    assert.equal(caps.has('ETRN'), false);
    assert.equal(caps.has('PIPELINING'), true);
  });

  test('keywords are compared case-insensitively', () => {
    const caps = parseCapabilities(ehloReply('mx', 'etrn', 'StartTLS'));
    assert.equal(caps.has('ETRN'), true);
    assert.equal(caps.has('Etrn'), true);
    assert.equal(caps.has('starttls'), true);
    assert.ok(caps.keywords.has('ETRN'));
  });

  test('parameters follow the keyword and are upper-cased', () => {
    const caps = parseCapabilities(ehloReply('mx', 'AUTH login Plain CRAM-MD5', 'SIZE 10240000'));
    assert.deepEqual(caps.params('AUTH'), ['LOGIN', 'PLAIN', 'CRAM-MD5']);
    assert.deepEqual(caps.params('auth'), ['LOGIN', 'PLAIN', 'CRAM-MD5']);
    assert.deepEqual(caps.params('SIZE'), ['10240000']);
  });

  test('the old "AUTH=" form is read like "AUTH "', () => {
    const caps = parseCapabilities(ehloReply('mx', 'AUTH=LOGIN PLAIN'));
    assert.equal(caps.has('AUTH'), true);
    assert.deepEqual(caps.params('AUTH'), ['LOGIN', 'PLAIN']);
  });

  test('a keyword that appears twice gathers the parameters of both lines', () => {
    const caps = parseCapabilities(ehloReply('mx', 'AUTH PLAIN', 'AUTH=LOGIN'));
    assert.ok(caps.params('AUTH').includes('PLAIN'));
    assert.ok(caps.params('AUTH').includes('LOGIN'));
    assert.equal(caps.keywords.size, 1);
  });

  test('a keyword without parameters has an empty parameter list', () => {
    assert.deepEqual(parseCapabilities(ehloReply('mx', 'ETRN')).params('ETRN'), []);
  });

  test('an unknown keyword has no parameters', () => {
    assert.deepEqual(parseCapabilities(ehloReply('mx', 'ETRN')).params('SIZE'), []);
  });

  test('lines that are empty or do not start with a letter or digit are ignored', () => {
    const caps = parseCapabilities(ehloReply('mx', '', '   ', '-BAD', '!x', 'ETRN'));
    assert.deepEqual([...caps.keywords.keys()], ['ETRN']);
  });

  test('leading and trailing white space around a keyword is ignored', () => {
    const caps = parseCapabilities(ehloReply('mx', '  ETRN  '));
    assert.equal(caps.has('ETRN'), true);
  });

  test('a reply of only the greeting line has no capabilities', () => {
    assert.equal(parseCapabilities(ehloReply('mx.example')).keywords.size, 0);
  });

  test('noCapabilities, the state after HELO, has no keyword at all', () => {
    assert.equal(noCapabilities.keywords.size, 0);
    assert.equal(noCapabilities.has('ETRN'), false);
    assert.deepEqual(noCapabilities.params('AUTH'), []);
  });
});
