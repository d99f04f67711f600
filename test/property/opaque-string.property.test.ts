// Properties of the OpaqueString profile (src/protocol/opaque-string.ts,
// RFC 8265 §4.2) over random Unicode text: a prepared string is stable
// (preparing it again changes nothing), every Unicode normalization form of
// the same text prepares to the same string, and nothing prepared holds a
// control, a non-ASCII space, or a character outside NFC; refusals name a
// code point that is really in the (mapped, normalized) input.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { prepareOpaqueString } from '../../src/protocol/opaque-string.js';

const RUNS = { numRuns: 3000 };

// Mostly text a person could type, with spaces, combining marks and the
// odd control or format character mixed in.
const piece = fc.oneof(
  fc.constantFrom('a', 'p', 'ä', 'a\u0308', 'é', 'e\u0301', 'Å', '\u212b', ' ', '\u00a0', '\u3000', '\u2009', 'ß', 'ﬁ', '€', '😀', '한', '\u1100', '\u0915\u094d', '\u200d', '\t', '\u0000', '\u00ad', '\ue000', 'l\u00b7l', '\u0378'),
  fc.string({ maxLength: 3 }),
  fc.string({ unit: 'binary', maxLength: 2 }),
);
const text = fc.array(piece, { maxLength: 12 }).map((parts) => parts.join(''));

describe('OpaqueString preparation (properties)', () => {
  test('a prepared string prepares to itself', () => {
    fc.assert(
      fc.property(text, (input) => {
        const r = prepareOpaqueString(input);
        if (!r.ok) return;
        const again = prepareOpaqueString(r.value);
        assert.ok(again.ok, `prepared ${JSON.stringify(r.value)} refused on the second pass`);
        assert.equal(again.value, r.value);
      }),
      RUNS,
    );
  });

  test('NFC, NFD, and the text as given prepare alike', () => {
    fc.assert(
      fc.property(text, (input) => {
        const results = [input, input.normalize('NFC'), input.normalize('NFD')].map((s) => prepareOpaqueString(s));
        const shown = results.map((r) => (r.ok ? `ok ${JSON.stringify(r.value)}` : 'refused'));
        assert.ok(shown.every((x) => x === shown[0]), `${JSON.stringify(input)}: ${shown.join(' / ')}`);
      }),
      RUNS,
    );
  });

  test('nothing prepared holds a control, a non-ASCII space, or text outside NFC, and nothing prepared is empty', () => {
    fc.assert(
      fc.property(text, (input) => {
        const r = prepareOpaqueString(input);
        if (!r.ok) return;
        assert.notEqual(r.value, '');
        assert.doesNotMatch(r.value, /\p{Cc}/u);
        assert.doesNotMatch(r.value, /(?!\u0020)\p{Zs}/u);
        assert.equal(r.value, r.value.normalize('NFC'));
      }),
      RUNS,
    );
  });

  test('a refusal points at a code point of the mapped text', () => {
    fc.assert(
      fc.property(text, (input) => {
        const r = prepareOpaqueString(input);
        if (r.ok) return;
        const mapped = Array.from(input.replace(/(?!\u0020)\p{Zs}/gu, ' ').normalize('NFC'), (c) => c.codePointAt(0));
        if (r.refusal.codePoint === undefined) {
          assert.equal(mapped.length, 0);
          return;
        }
        assert.equal(mapped[r.refusal.index!], r.refusal.codePoint);
      }),
      RUNS,
    );
  });
});
