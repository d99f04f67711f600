// Fuzzing the SMTP reply parser (src/protocol/reply.ts) with fast-check: any
// byte stream, cut anywhere, gives replies or a RemoteProtocolError and
// nothing else; how the stream is cut never changes the outcome; and every
// well-formed reply (code, lines, enhanced code) comes back as it was sent.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RemoteProtocolError } from '../../src/errors.js';
import { type Reply, type ReplyLimits, ReplyParser } from '../../src/protocol/reply.js';

interface Outcome {
  replies: { code: number; enhanced: string | null; lines: string[] }[];
  error: string | null;
}

/** Feeds the chunks in order, draining replies after each; stops at the first error. */
function run(chunks: readonly Uint8Array[], limits: Partial<ReplyLimits>): Outcome {
  const parser = new ReplyParser(limits);
  const replies: Outcome['replies'] = [];
  const drain = (): void => {
    for (let r: Reply | undefined = parser.next(); r !== undefined; r = parser.next()) {
      replies.push({ code: r.code, enhanced: r.enhanced, lines: [...r.lines] });
    }
  };
  for (const chunk of chunks) {
    try {
      parser.feed(chunk);
    } catch (error) {
      if (!(error instanceof RemoteProtocolError)) throw new Error(`feed threw ${String(error)}`);
      drain();
      // A failed parser stays failed: feeding more gives the same error.
      assert.throws(() => parser.feed(Buffer.from('250 OK\r\n')), (e: unknown) => e === error);
      return { replies, error: error.message };
    }
    drain();
  }
  return { replies, error: null };
}

/** Splits `bytes` at the given offsets (any order, duplicates and out-of-range values allowed). */
function split(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const p of [...points, bytes.length]) {
    chunks.push(bytes.subarray(start, p));
    start = p;
  }
  return chunks;
}

const byteByByte = (bytes: Uint8Array): Uint8Array[] => Array.from(bytes, (_, i) => bytes.subarray(i, i + 1));

// ---------------------------------------------------------------- generators

const ascii = (s: string): Uint8Array => Buffer.from(s, 'latin1');

/** One line that is often SMTP and often nearly: a code-ish prefix, a separator, odd text, some line end. */
const lineBytes: fc.Arbitrary<Uint8Array> = fc
  .tuple(
    fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom('250', '220', '421', '554', '252', '459') },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 999 }).map((n) => String(n).padStart(3, '0')) },
      { weight: 1, arbitrary: fc.constantFrom('199', '600', '25', '2', '', 'abc', '2x0', '\u0000\u0000\u0000') },
    ),
    fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(' ', '-') },
      { weight: 1, arbitrary: fc.constantFrom('', 'x', '\t', '\r') },
    ),
    fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom('', 'OK', '2.0.0 Queuing', '5.7.1 no', '4.4.0 ', '2.0.0', '9.9.9 odd', 'ETRN', 'mx.test ESMTP') },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b).toString('latin1')) },
    ),
    fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom('\r\n', '\n') },
      { weight: 1, arbitrary: fc.constantFrom('\r', '', '\r\r\n', '\n\n') },
    ),
  )
  .map(([code, sep, text, end]) => ascii(code + sep + text + end));

/** Streams of near-SMTP lines, raw bytes, or both. */
const stream: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 3, arbitrary: fc.array(lineBytes, { maxLength: 12 }).map((ls) => Buffer.concat(ls)) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.array(lineBytes, { maxLength: 6 }), fc.uint8Array({ maxLength: 60 }), fc.array(lineBytes, { maxLength: 6 }))
      .map(([a, b, c]) => Buffer.concat([...a, b, ...c])),
  },
);

/** Small limits too, so that every limit is crossed often. */
const limits: fc.Arbitrary<Partial<ReplyLimits>> = fc.oneof(
  { weight: 2, arbitrary: fc.constant({}) },
  {
    weight: 1,
    arbitrary: fc.record({
      maxLineLength: fc.integer({ min: 4, max: 80 }),
      maxLines: fc.integer({ min: 1, max: 6 }),
      maxReplyBytes: fc.integer({ min: 8, max: 400 }),
    }),
  },
);

const cuts = fc.array(fc.nat({ max: 4096 }), { maxLength: 16 });

// ---------------------------------------------------------------- properties

describe('ReplyParser under random bytes', () => {
  test('the generated streams give replies and errors both, so the properties below are not vacuous', () => {
    const outcomes = fc.sample(fc.tuple(stream, limits), { numRuns: 1000, seed: 42 }).map(([b, l]) => run([b], l));
    const withReplies = outcomes.filter((o) => o.replies.length > 0).length;
    const withErrors = outcomes.filter((o) => o.error !== null).length;
    const kinds = new Set(outcomes.map((o) => o.error?.replace(/[:(].*$/s, '').replace(/\d+/g, 'N')));
    assert.ok(withReplies > 200, `${withReplies} of 1000 streams gave a reply`);
    assert.ok(withErrors > 200, `${withErrors} of 1000 streams gave an error`);
    assert.ok(kinds.size >= 5, `error kinds seen: ${[...kinds].join(' | ')}`);
  });

  test('never throws anything but RemoteProtocolError, however the stream is cut', () => {
    fc.assert(
      fc.property(stream, cuts, limits, (bytes, at, lim) => {
        run(split(bytes, at), lim); // run() turns any other throw into a failure
      }),
      { numRuns: 3000 },
    );
  });

  test('byte by byte, in random chunks and in one chunk: the same replies, or the same error', () => {
    fc.assert(
      fc.property(stream, cuts, limits, (bytes, at, lim) => {
        const whole = run([bytes], lim);
        assert.deepEqual(run(byteByByte(bytes), lim), whole, 'byte by byte');
        assert.deepEqual(run(split(bytes, at), lim), whole, 'random chunks');
      }),
      { numRuns: 3000 },
    );
  });

  test('every reply it gives has a code of 200-599 and lines free of controls', () => {
    fc.assert(
      fc.property(stream, limits, (bytes, lim) => {
        for (const r of run([bytes], lim).replies) {
          assert.ok(Number.isInteger(r.code) && r.code >= 200 && r.code <= 599, `code ${r.code}`);
          assert.ok(r.lines.length >= 1);
          for (const l of r.lines) assert.doesNotMatch(l, /[\u0000-\u001f\u007f-\u009f\ufffd]/);
          if (r.enhanced !== null) assert.match(r.enhanced, new RegExp(`^${String(r.code)[0]}\\.\\d{1,3}\\.\\d{1,3}$`));
        }
      }),
      { numRuns: 3000 },
    );
  });

  test('no reply is ever longer than the limits allow', () => {
    fc.assert(
      fc.property(stream, limits, (bytes, lim) => {
        const parser = new ReplyParser(lim);
        try {
          parser.feed(bytes);
        } catch {
          return; // a failed parser holds what it had; it takes no more
        }
        assert.ok(parser.buffered <= parser.limits.maxReplyBytes + parser.limits.maxLineLength + 1, `buffered ${parser.buffered}`);
        for (let r = parser.next(); r !== undefined; r = parser.next()) assert.ok(r.lines.length <= parser.limits.maxLines);
      }),
      { numRuns: 2000 },
    );
  });
});

// A text that the parser must hand back unchanged: printable, not starting
// with a space (the separator after an enhanced code absorbs spaces), and
// not itself looking like an enhanced code.
const printable = fc
  .string({ unit: fc.constantFrom(...Array.from('abcXYZ019 .-_:<>@#()[]=/\\\'"é€😀')), maxLength: 30 })
  .filter((t) => !t.startsWith(' ') && !/^\d\.\d/.test(t));

const validReply = fc
  .record({
    code: fc.integer({ min: 200, max: 599 }),
    texts: fc.array(printable, { minLength: 1, maxLength: 6 }),
    enhanced: fc.option(fc.tuple(fc.integer({ min: 0, max: 999 }), fc.integer({ min: 0, max: 999 })), { nil: null }),
    lineEnd: fc.constantFrom('\r\n', '\n'),
  })
  .map(({ code, texts, enhanced, lineEnd }) => {
    // RFC 3463: enhanced codes exist for classes 2, 4 and 5 only.
    const enh = enhanced === null || (code >= 300 && code < 400) ? null : `${String(code)[0]}.${enhanced[0]}.${enhanced[1]}`;
    const wire = texts
      .map((t, i) => {
        const sep = i < texts.length - 1 ? '-' : ' ';
        const body = enh === null ? t : t === '' ? enh : `${enh} ${t}`;
        return `${code}${sep}${body}${lineEnd}`;
      })
      .join('');
    return { code, texts, enhanced: enh, wire: Buffer.from(wire, 'utf8') };
  });

describe('ReplyParser on valid replies', () => {
  test('every valid reply round-trips: code, enhanced code and the text of each line, however cut', () => {
    fc.assert(
      fc.property(fc.array(validReply, { minLength: 1, maxLength: 4 }), cuts, (replies, at) => {
        const wire = Buffer.concat(replies.map((r) => r.wire));
        const expected = { replies: replies.map((r) => ({ code: r.code, enhanced: r.enhanced, lines: r.texts })), error: null };
        assert.deepEqual(run([wire], {}), expected);
        assert.deepEqual(run(split(wire, at), {}), expected);
        assert.deepEqual(run(byteByByte(wire), {}), expected);
      }),
      { numRuns: 2000 },
    );
  });

  test('a valid reply behind any valid replies is not affected by what came before', () => {
    fc.assert(
      fc.property(fc.array(validReply, { maxLength: 3 }), validReply, (before, last) => {
        const out = run([Buffer.concat([...before.map((r) => r.wire), last.wire])], {});
        assert.equal(out.error, null);
        assert.deepEqual(out.replies.at(-1), { code: last.code, enhanced: last.enhanced, lines: last.texts });
      }),
      { numRuns: 1000 },
    );
  });
});
