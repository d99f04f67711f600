// The OpaqueString profile (RFC 8265 §4.2) of src/protocol/opaque-string.ts:
// non-ASCII spaces become U+0020, NFC, the FreeformClass refusals, empty refused.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { formatCodePoint, opaqueString, prepareOpaqueString } from '../../src/protocol/opaque-string.js';

const ok = (input: string): string => {
  const r = prepareOpaqueString(input);
  assert.ok(r.ok, `${JSON.stringify(input)} refused: ${r.ok ? '' : r.refusal.reason}`);
  return r.value;
};
const refusal = (input: string) => {
  const r = prepareOpaqueString(input);
  assert.ok(!r.ok, `${JSON.stringify(input)} accepted`);
  return r.refusal;
};

describe('OpaqueString preparation', () => {
  test('NFD input gives the NFC form; NFC input is unchanged', () => {
    assert.equal(ok('pa\u0308 ss'), 'p\u00e4 ss');
    assert.equal(ok('p\u00e4 ss'), 'p\u00e4 ss');
    assert.equal(ok('\u212b'), '\u00c5', 'ANGSTROM SIGN is canonically Å');
  });

  test('non-ASCII spaces (Zs) become U+0020', () => {
    assert.equal(ok('p\u00e4\u00a0ss'), 'p\u00e4 ss');
    for (const space of ['\u00a0', '\u1680', '\u2000', '\u2003', '\u202f', '\u205f', '\u3000']) assert.equal(ok(`a${space}b`), 'a b', formatCodePoint(space.codePointAt(0)!));
  });

  test('compatibility characters are kept (NFC, not NFKC)', () => {
    assert.equal(ok('\ufb01'), '\ufb01', 'the ligature ﬁ stays');
    assert.equal(ok('\u00bd'), '\u00bd');
    assert.equal(ok('\uff21'), '\uff21', 'a fullwidth letter stays (no width mapping in OpaqueString)');
  });

  test('ASCII printable, letters of all scripts, symbols and punctuation are allowed', () => {
    const ascii = Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i)).join('');
    assert.equal(ok(ascii), ascii);
    for (const s of ['Привет', 'パスワード', '密码', 'كلمة', '€£¥', '😀🔑', 'Ǆ', 'ⅷ']) assert.equal(ok(s), s.normalize('NFC'));
  });

  const refused: [string, RegExp][] = [
    ['', /empty/],
    ['a\u0000b', /control/],
    ['a\tb', /control/],
    ['a\nb', /control/],
    ['a\u007fb', /control/],
    ['a\u0085b', /control/],
    ['a\u00adb', /default ignorable/],
    ['a\u200bb', /default ignorable/],
    ['a\ufeffb', /default ignorable/],
    ['a\ufffeb', /non-character/],
    ['a\u2028b', /separator/],
    ['a\u2029b', /separator/],
    ['a\u0600b', /format/],
    ['a\ue000b', /private-use/],
    ['a\u{f0000}b', /private-use/],
    ['a\ud800b', /surrogate/],
    ['a\u{e0001}b', /default ignorable/],
    ['a\u0378b', /unassigned/],
    ['\u1100', /Hangul/],
    ['\u0640', /exceptions/],
    ['a\u200db', /zero-width joiner/],
    ['a\u00b7b', /middle dot/],
    ['\u0375a', /Greek/],
    ['a\u05f3', /Hebrew/],
    ['a\u30fbb', /katakana/],
    ['\u0660\u06f0', /Arabic-Indic/],
  ];
  for (const [input, why] of refused) {
    test(`${JSON.stringify(input)} is refused (${why.source})`, () => {
      assert.match(refusal(input).reason, why);
    });
  }

  test('contextual characters in their context are allowed', () => {
    assert.equal(ok('l\u00b7l'), 'l\u00b7l');
    assert.equal(ok('\u0375\u03b1'), '\u0375\u03b1');
    assert.equal(ok('\u05d0\u05f3'), '\u05d0\u05f3');
    assert.equal(ok('\u30a2\u30fb\u30a4'), '\u30a2\u30fb\u30a4');
    assert.equal(ok('\u0915\u094d\u200d\u0937'), '\u0915\u094d\u200d\u0937', 'ZWJ after the Devanagari virama');
    assert.equal(ok('\u0660\u0661'), '\u0660\u0661');
  });

  test('the refusal gives the position (1-based in the message) and the code point only on request', () => {
    assert.deepEqual(refusal('ab\u0007c'), { codePoint: 7, index: 2, reason: 'a control character' });
    const fail = (why: string) => new Error(why);
    assert.throws(() => opaqueString('ab\u0007c', false, fail), /^Error: character 3 is a control character$/);
    assert.throws(() => opaqueString('ab\u0007c', true, fail), /^Error: character 3 is U\+0007, a control character$/);
    assert.throws(() => opaqueString('\u3000'.slice(1), false, fail), /it is empty/);
  });

  test('a string of only a non-ASCII space is one U+0020, not empty', () => {
    assert.equal(ok('\u00a0'), ' ');
  });
});
