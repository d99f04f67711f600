// Unit tests for the SMTP reply parser (src/protocol/reply.ts): replies must
// come out the same however the bytes are split, and every limit must hold
// while the bytes arrive.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RemoteProtocolError } from '../../src/errors.js';
import {
  type Reply,
  type ReplyLimits,
  ReplyParser,
  cleanText,
  defaultReplyLimits,
  formatReply,
  replyText,
  withTrailingEnhanced,
} from '../../src/protocol/reply.js';

const bytes = (text: string): Buffer => Buffer.from(text, 'utf8');

/** Feeds the chunks in order and returns every reply that came out. */
function parseChunks(chunks: readonly Uint8Array[], limits: Partial<ReplyLimits> = {}): Reply[] {
  const parser = new ReplyParser(limits);
  const replies: Reply[] = [];
  for (const chunk of chunks) {
    parser.feed(chunk);
    for (let reply = parser.next(); reply !== undefined; reply = parser.next()) replies.push(reply);
  }
  return replies;
}

const parse = (data: Uint8Array | string, limits: Partial<ReplyLimits> = {}): Reply[] =>
  parseChunks([typeof data === 'string' ? bytes(data) : data], limits);

/** Plain copies, so deepEqual compares values and not frozen identities. */
const plain = (replies: readonly Reply[]) =>
  replies.map((r) => ({ code: r.code, enhanced: r.enhanced, lines: [...r.lines] }));

/**
 * Asserts that `data` gives the same replies fed in one chunk, byte by byte,
 * and split in two at every offset; returns those replies.
 */
function assertSplitInvariant(data: Uint8Array, limits: Partial<ReplyLimits> = {}): Reply[] {
  const whole = plain(parseChunks([data], limits));
  const byByte = plain(parseChunks(Array.from(data, (_, i) => data.subarray(i, i + 1)), limits));
  assert.deepEqual(byByte, whole, 'byte-by-byte feeding gives other replies');
  for (let i = 0; i <= data.length; i += 1) {
    const split = plain(parseChunks([data.subarray(0, i), data.subarray(i)], limits));
    assert.deepEqual(split, whole, `splitting at offset ${i} gives other replies`);
  }
  return parseChunks([data], limits);
}

/** Asserts that `data` is refused with RemoteProtocolError however it is split. */
function assertRefusedAtEverySplit(data: Uint8Array, limits: Partial<ReplyLimits> = {}): void {
  assert.throws(() => parseChunks([data], limits), RemoteProtocolError);
  assert.throws(() => parseChunks(Array.from(data, (_, i) => data.subarray(i, i + 1)), limits), RemoteProtocolError);
  for (let i = 0; i <= data.length; i += 1) {
    assert.throws(
      () => parseChunks([data.subarray(0, i), data.subarray(i)], limits),
      RemoteProtocolError,
      `split at ${i} was accepted`,
    );
  }
}

describe('ReplyParser: well-formed replies', () => {
  test('a single-line reply gives its code and text', () => {
    const [reply, ...rest] = parse('220 mx.example ESMTP ready\r\n');
    assert.equal(rest.length, 0);
    assert.equal(reply?.code, 220);
    assert.equal(reply?.enhanced, null);
    assert.deepEqual(reply?.lines, ['mx.example ESMTP ready']);
  });

  test('a multi-line reply is joined into one reply with one entry per line', () => {
    const replies = parse('250-mx.example Hello\r\n250-PIPELINING\r\n250-ETRN\r\n250 SIZE 1000\r\n');
    assert.equal(replies.length, 1);
    assert.equal(replies[0]?.code, 250);
    assert.deepEqual(replies[0]?.lines, ['mx.example Hello', 'PIPELINING', 'ETRN', 'SIZE 1000']);
  });

  test('several replies in one chunk come out in order', () => {
    const replies = parse('220 hi\r\n250-a\r\n250 b\r\n221 bye\r\n');
    assert.deepEqual(
      replies.map((r) => r.code),
      [220, 250, 221],
    );
  });

  test('a reply is not released before the line without a hyphen has arrived', () => {
    const parser = new ReplyParser();
    parser.feed(bytes('250-first\r\n250-second\r\n'));
    assert.equal(parser.next(), undefined);
    parser.feed(bytes('250 last'));
    assert.equal(parser.next(), undefined);
    parser.feed(bytes('\r\n'));
    assert.deepEqual(parser.next()?.lines, ['first', 'second', 'last']);
  });

  test('lines ending in a bare LF are accepted like CRLF lines', () => {
    const lf = plain(parse('250-a\n250 b\n'));
    const crlf = plain(parse('250-a\r\n250 b\r\n'));
    assert.deepEqual(lf, crlf);
    assert.deepEqual(lf[0]?.lines, ['a', 'b']);
  });

  test('a line of just "250" is a reply with empty text', () => {
    const [reply] = parse('250\r\n');
    assert.equal(reply?.code, 250);
    assert.deepEqual(reply?.lines, ['']);
    assert.equal(reply?.enhanced, null);
  });

  test('"250 " with a space and no text is a reply with empty text', () => {
    const [reply] = parse('250 \r\n');
    assert.equal(reply?.code, 250);
    assert.deepEqual(reply?.lines, ['']);
  });

  test('codes from 200 to 599 are accepted', () => {
    const replies = parse('200 a\r\n299 b\r\n421 c\r\n599 d\r\n');
    assert.deepEqual(
      replies.map((r) => r.code),
      [200, 299, 421, 599],
    );
  });

  test('replies are frozen so a consumer cannot alter them', () => {
    const [reply] = parse('250 ok\r\n');
    assert.ok(Object.isFrozen(reply));
    assert.ok(Object.isFrozen(reply?.lines));
  });
});

describe('ReplyParser: enhanced status codes', () => {
  test('an enhanced code is taken from the first line and stripped from the text', () => {
    const [reply] = parse('250 2.0.0 Ok\r\n');
    assert.equal(reply?.enhanced, '2.0.0');
    assert.deepEqual(reply?.lines, ['Ok']);
  });

  test('a reply without an enhanced code has enhanced null and keeps its text', () => {
    const [reply] = parse('250 Queuing started\r\n');
    assert.equal(reply?.enhanced, null);
    assert.deepEqual(reply?.lines, ['Queuing started']);
  });

  test('an enhanced code whose class differs from the reply code is not one, and stays in the text', () => {
    const [reply] = parse('450 2.0.0 x\r\n');
    assert.equal(reply?.enhanced, null);
    assert.deepEqual(reply?.lines, ['2.0.0 x']);
  });

  test('a 5xx reply with a 5.x.x code gives that enhanced code', () => {
    const [reply] = parse('550 5.7.1 Access denied\r\n');
    assert.equal(reply?.enhanced, '5.7.1');
    assert.deepEqual(reply?.lines, ['Access denied']);
  });

  test('a 4xx reply with a 4.x.x code gives that enhanced code', () => {
    const [reply] = parse('458 4.3.0 Unable to queue messages for node x\r\n');
    assert.equal(reply?.enhanced, '4.3.0');
    assert.deepEqual(reply?.lines, ['Unable to queue messages for node x']);
  });

  test('the same enhanced code on every line of a multi-line reply is stripped from each line', () => {
    const [reply] = parse('250-2.1.5 first\r\n250 2.1.5 second\r\n');
    assert.equal(reply?.enhanced, '2.1.5');
    assert.deepEqual(reply?.lines, ['first', 'second']);
  });

  test('a different enhanced code on a later line stays in that line', () => {
    const [reply] = parse('250-2.1.5 first\r\n250 2.0.0 second\r\n');
    assert.equal(reply?.enhanced, '2.1.5');
    assert.deepEqual(reply?.lines, ['first', '2.0.0 second']);
  });

  test('an enhanced code only on a later line does not count as the reply\'s', () => {
    const [reply] = parse('250-mx.example\r\n250 2.0.0 second\r\n');
    assert.equal(reply?.enhanced, null);
    assert.deepEqual(reply?.lines, ['mx.example', '2.0.0 second']);
  });

  test('an enhanced code alone on the line is taken and leaves empty text', () => {
    const [reply] = parse('250 2.0.0\r\n');
    assert.equal(reply?.enhanced, '2.0.0');
    assert.deepEqual(reply?.lines, ['']);
  });

  test('text glued to what looks like an enhanced code is not an enhanced code', () => {
    const [reply] = parse('250 2.0.0x Ok\r\n');
    assert.equal(reply?.enhanced, null);
    assert.deepEqual(reply?.lines, ['2.0.0x Ok']);
  });

  test('an enhanced code with a four-digit part is not an enhanced code', () => {
    const [reply] = parse('250 2.1000.0 Ok\r\n');
    assert.equal(reply?.enhanced, null);
  });

  test('three-digit subject and detail are accepted', () => {
    const [reply] = parse('250 2.123.456 Ok\r\n');
    assert.equal(reply?.enhanced, '2.123.456');
    assert.deepEqual(reply?.lines, ['Ok']);
  });
});

describe('ReplyParser: the same bytes split in any way', () => {
  const stream = bytes(
    '220 mx.example ESMTP caf\u00e9 \u00fcber\r\n' +
      '250-mx.example Hello\r\n250-ETRN\r\n250 2.0.0 SIZE 1000\n' +
      '250 2.0.0 Queuing for node a.example started\r\n' +
      '458 4.3.0 Unable to queue\r\n' +
      '250\r\n' +
      '221 2.0.0 Bye\r\n',
  );

  test('a stream fed in one chunk, byte by byte, or split at any offset gives the same replies', () => {
    const replies = assertSplitInvariant(stream);
    assert.deepEqual(
      replies.map((r) => r.code),
      [220, 250, 250, 458, 250, 221],
    );
    assert.deepEqual(replies[0]?.lines, ['mx.example ESMTP caf\u00e9 \u00fcber']);
    assert.equal(replies[1]?.enhanced, null);
    assert.equal(replies[2]?.enhanced, '2.0.0');
    assert.equal(replies[3]?.enhanced, '4.3.0');
  });

  test('a multi-byte UTF-8 character split between chunks is decoded whole', () => {
    const data = bytes('250 \u00fcber\r\n');
    const ue = data.indexOf(0xc3);
    const replies = parseChunks([data.subarray(0, ue + 1), data.subarray(ue + 1)]);
    assert.deepEqual(replies[0]?.lines, ['\u00fcber']);
  });

  test('a CR and its LF arriving in different chunks still end the line', () => {
    const replies = parseChunks([bytes('250 ok\r'), bytes('\n')]);
    assert.deepEqual(replies[0]?.lines, ['ok']);
  });

  test('an empty chunk changes nothing', () => {
    const parser = new ReplyParser();
    parser.feed(new Uint8Array(0));
    assert.equal(parser.buffered, 0);
    assert.equal(parser.queued, 0);
  });
});

describe('ReplyParser: malformed replies', () => {
  test('a line that does not start with a number is refused', () => {
    assert.throws(() => parse('hello there\r\n'), RemoteProtocolError);
    assertRefusedAtEverySplit(bytes('HTTP/1.1 400 Bad Request\r\n'));
  });

  test('codes of class 1 are refused', () => {
    assert.throws(() => parse('150 x\r\n'), RemoteProtocolError);
  });

  test('codes of class 6 and above are refused', () => {
    assert.throws(() => parse('600 x\r\n'), RemoteProtocolError);
    assert.throws(() => parse('999 x\r\n'), RemoteProtocolError);
  });

  test('codes of class 0 are refused', () => {
    assert.throws(() => parse('050 x\r\n'), RemoteProtocolError);
  });

  test('a code with a non-digit in it is refused', () => {
    assert.throws(() => parse('2a0 x\r\n'), RemoteProtocolError);
    assert.throws(() => parse('25x x\r\n'), RemoteProtocolError);
  });

  test('a line of two digits is refused', () => {
    assert.throws(() => parse('25\r\n'), RemoteProtocolError);
  });

  test('an empty line is refused', () => {
    assert.throws(() => parse('\r\n'), RemoteProtocolError);
  });

  test('a code followed by something other than space or hyphen is refused', () => {
    assert.throws(() => parse('250x\r\n'), RemoteProtocolError);
    assertRefusedAtEverySplit(bytes('250x\r\n'));
  });

  test('a multi-line reply whose lines carry different codes is refused', () => {
    assert.throws(() => parse('250-a\r\n251 b\r\n'), RemoteProtocolError);
    assertRefusedAtEverySplit(bytes('250-a\r\n550 b\r\n'));
  });

  test('the error message quotes the offending line', () => {
    assert.throws(() => parse('garbage here\r\n'), (error: unknown) => {
      assert.ok(error instanceof RemoteProtocolError);
      assert.match(error.message, /garbage here/);
      assert.equal(error.code, 'ERR_PROTOCOL');
      return true;
    });
  });

  test('after an error every further feed rethrows, even of valid bytes', () => {
    const parser = new ReplyParser();
    let first: unknown;
    assert.throws(() => {
      try {
        parser.feed(bytes('nonsense\r\n'));
      } catch (error) {
        first = error;
        throw error;
      }
    }, RemoteProtocolError);
    assert.throws(() => parser.feed(bytes('250 ok\r\n')), (error: unknown) => error === first);
    assert.throws(() => parser.feed(new Uint8Array(0)), RemoteProtocolError);
    assert.equal(parser.next(), undefined);
  });
});

describe('ReplyParser: limits', () => {
  const limit = 20;
  const lineOf = (octets: number): string => `250 ${'x'.repeat(octets - 4)}`;

  test('a line exactly at maxLineLength is accepted, with CRLF and with a bare LF', () => {
    const line = lineOf(limit);
    assert.equal(line.length, limit);
    assert.deepEqual(parse(`${line}\r\n`, { maxLineLength: limit })[0]?.lines, ['x'.repeat(limit - 4)]);
    assert.deepEqual(parse(`${line}\n`, { maxLineLength: limit })[0]?.lines, ['x'.repeat(limit - 4)]);
    assertSplitInvariant(bytes(`${line}\r\n`), { maxLineLength: limit });
  });

  test('a line one octet over maxLineLength is refused, with CRLF and with a bare LF', () => {
    const line = lineOf(limit + 1);
    assertRefusedAtEverySplit(bytes(`${line}\r\n`), { maxLineLength: limit });
    assertRefusedAtEverySplit(bytes(`${line}\n`), { maxLineLength: limit });
  });

  test('the default line limit is at least the 512 octets of RFC 5321', () => {
    assert.ok(defaultReplyLimits.maxLineLength >= 510);
    const line = lineOf(defaultReplyLimits.maxLineLength);
    assert.equal(parse(`${line}\r\n`).length, 1);
    assert.throws(() => parse(`${lineOf(defaultReplyLimits.maxLineLength + 1)}\r\n`), RemoteProtocolError);
  });

  test('a long line without a line end is refused as soon as the buffered bytes pass the limit', () => {
    const parser = new ReplyParser();
    const total = 1024 * 1024;
    const chunkSize = 64 * 1024;
    const chunk = Buffer.alloc(chunkSize, 'x'.charCodeAt(0));
    chunk.write('250 ', 0, 'latin1');
    let fed = 0;
    assert.throws(() => {
      while (fed < total) {
        parser.feed(fed === 0 ? chunk : Buffer.alloc(chunkSize, 0x78));
        fed += chunkSize;
      }
    }, RemoteProtocolError);
    assert.ok(fed < total, `parser buffered all ${total} bytes before refusing`);
    assert.equal(fed, 0, 'the first 64 KiB chunk alone exceeds the limit and must throw');
  });

  test('a long line fed byte by byte is refused right after the limit, not before', () => {
    const max = 50;
    const parser = new ReplyParser({ maxLineLength: max });
    parser.feed(bytes('250 '));
    let count = 4;
    // A line of `max` octets followed by its CR is still acceptable.
    while (count < max + 1) {
      parser.feed(bytes('y'));
      count += 1;
    }
    assert.equal(parser.buffered, max + 1);
    assert.throws(() => parser.feed(bytes('y')), RemoteProtocolError);
  });

  test('a reply of exactly maxLines lines is accepted and one more line is refused', () => {
    const reply = (n: number): string =>
      Array.from({ length: n }, (_, i) => `250${i === n - 1 ? ' ' : '-'}line${i}\r\n`).join('');
    const [ok] = parse(reply(3), { maxLines: 3 });
    assert.equal(ok?.lines.length, 3);
    assert.throws(() => parse(reply(4), { maxLines: 3 }), RemoteProtocolError);
  });

  test('maxLines counts the lines of one reply, not of the whole stream', () => {
    const replies = parse('250-a\r\n250 b\r\n250-c\r\n250 d\r\n', { maxLines: 2 });
    assert.equal(replies.length, 2);
  });

  test('a reply of exactly maxReplyBytes octets, line ends included, is accepted and one more is refused', () => {
    const text = '250-a\r\n250 b\r\n';
    assert.equal(text.length, 14);
    assert.equal(parse(text, { maxReplyBytes: 14 }).length, 1);
    assertRefusedAtEverySplit(bytes(text), { maxReplyBytes: 13 });
  });

  test('maxReplyBytes counts one reply at a time', () => {
    const replies = parse('250 abc\r\n250 def\r\n', { maxReplyBytes: 9 });
    assert.equal(replies.length, 2);
  });

  test('a limit error names the limit', () => {
    assert.throws(() => parse(`${lineOf(30)}\r\n`, { maxLineLength: 20 }), /20/);
  });
});

describe('ReplyParser: text cleaning', () => {
  test('NUL bytes in the text become "?"', () => {
    const [reply] = parse(Buffer.concat([bytes('250 a'), Buffer.from([0]), bytes('b\r\n')]));
    assert.deepEqual(reply?.lines, ['a?b']);
  });

  test('invalid UTF-8 bytes in the text become "?"', () => {
    const [reply] = parse(Buffer.concat([bytes('250 a'), Buffer.from([0xff]), bytes('b'), Buffer.from([0xc3]), bytes('\r\n')]));
    assert.deepEqual(reply?.lines, ['a?b?']);
  });

  test('other control characters such as ESC and DEL become "?"', () => {
    const [reply] = parse(bytes('250 a\u001b[31mb\u007fc\r\n'));
    assert.deepEqual(reply?.lines, ['a?[31mb?c']);
  });

  test('a lone CR inside a line becomes "?"', () => {
    const [reply] = parse(bytes('250 a\rb\r\n'));
    assert.deepEqual(reply?.lines, ['a?b']);
  });

  test('valid UTF-8 text is kept', () => {
    const [reply] = parse(bytes('250 caf\u00e9 \u65e5\u672c\r\n'));
    assert.deepEqual(reply?.lines, ['caf\u00e9 \u65e5\u672c']);
  });

  test('cleanText replaces controls and undecodable bytes', () => {
    assert.equal(cleanText(Buffer.from([0x61, 0x00, 0x0a, 0xfe, 0x62])), 'a???b');
    assert.equal(cleanText(bytes('plain')), 'plain');
  });
});

describe('ReplyParser: callbacks and counters', () => {
  test('onLine sees every received line, code included, in order', () => {
    const seen: string[] = [];
    const parser = new ReplyParser({}, (line) => seen.push(line));
    parser.feed(bytes('220 hi\r\n250-a\r\n250 b\n'));
    assert.deepEqual(seen, ['220 hi', '250-a', '250 b']);
  });

  test('onLine sees a malformed line before it is refused, cleaned', () => {
    const seen: string[] = [];
    const parser = new ReplyParser({}, (line) => seen.push(line));
    assert.throws(() => parser.feed(Buffer.concat([bytes('bad'), Buffer.from([0]), bytes('\r\n')])), RemoteProtocolError);
    assert.deepEqual(seen, ['bad?']);
  });

  test('queued counts complete replies not yet taken', () => {
    const parser = new ReplyParser();
    assert.equal(parser.queued, 0);
    parser.feed(bytes('220 a\r\n250 b\r\n250-c'));
    assert.equal(parser.queued, 2);
    parser.next();
    assert.equal(parser.queued, 1);
    parser.next();
    assert.equal(parser.queued, 0);
    assert.equal(parser.next(), undefined);
  });

  test('buffered counts the octets of the reply not yet complete', () => {
    const parser = new ReplyParser();
    parser.feed(bytes('250-a\r\n'));
    assert.equal(parser.buffered, 7);
    parser.feed(bytes('250 b'));
    assert.equal(parser.buffered, 12);
    parser.feed(bytes('\r\n'));
    assert.equal(parser.buffered, 0);
    assert.equal(parser.queued, 1);
  });

  test('limits given to the constructor are merged over the defaults', () => {
    const parser = new ReplyParser({ maxLines: 5 });
    assert.equal(parser.limits.maxLines, 5);
    assert.equal(parser.limits.maxLineLength, defaultReplyLimits.maxLineLength);
    assert.equal(parser.limits.maxReplyBytes, defaultReplyLimits.maxReplyBytes);
  });
});

describe('formatReply and replyText', () => {
  test('formatReply shows code, enhanced code and text', () => {
    assert.equal(formatReply({ code: 250, enhanced: '2.0.0', lines: ['Ok'] }), '250 2.0.0 Ok');
  });

  test('formatReply leaves out a missing enhanced code', () => {
    assert.equal(formatReply({ code: 250, enhanced: null, lines: ['Queuing started'] }), '250 Queuing started');
  });

  test('formatReply of a reply without text is the code alone', () => {
    assert.equal(formatReply({ code: 250, enhanced: null, lines: [''] }), '250');
  });

  test('formatReply joins the lines of a multi-line reply with spaces', () => {
    assert.equal(formatReply({ code: 550, enhanced: '5.7.1', lines: ['first', 'second'] }), '550 5.7.1 first second');
  });

  test('replyText joins the lines with a space and trims the ends', () => {
    assert.equal(replyText({ code: 250, enhanced: null, lines: ['a', 'b', 'c'] }), 'a b c');
    assert.equal(replyText({ code: 250, enhanced: null, lines: ['', 'x '] }), 'x');
  });

  test('formatReply of a parsed reply round-trips its text', () => {
    const [reply] = parse('250-2.0.0 Queuing for node\r\n250 2.0.0 a.example started\r\n');
    assert.ok(reply);
    assert.equal(formatReply(reply), '250 2.0.0 Queuing for node a.example started');
  });
});

describe('withTrailingEnhanced: the enhanced code of a multi-line reply that has it only on its last line (issue 11 item 8)', () => {
  test('the last line\'s code becomes the reply\'s and leaves that line\'s text', () => {
    const [reply] = parse('250-Queuing for node\r\n250 2.0.0 a.example started\r\n');
    assert.equal(reply?.enhanced, null);
    const taken = withTrailingEnhanced(reply!);
    assert.equal(taken.enhanced, '2.0.0');
    assert.deepEqual(taken.lines, ['Queuing for node', 'a.example started']);
  });

  test('a first-line code, a one-line reply and a code of another class are left alone', () => {
    for (const text of ['250-2.1.5 first\r\n250 2.0.0 second\r\n', '250 ok\r\n', '450-busy\r\n450 2.0.0 odd\r\n']) {
      const [reply] = parse(text);
      assert.equal(withTrailingEnhanced(reply!), reply, text);
    }
  });
});
