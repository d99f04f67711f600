// Unit tests for what etrn echoes (src/escape.ts): every character class that
// can rewrite a terminal or hide text is escaped, quoted input and printed
// lines are cut with a mark, and the JSON document parses back unchanged.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_LINE, MAX_QUOTED, escapeText, hasUnsafe, quote, safeJson, safeLine } from '../../src/escape.js';

/** One sample per class, with how it must be shown. */
export const CLASSES: ReadonlyArray<readonly [string, string, string]> = [
  ['C0 control (ESC)', '\u001b', '\\x1B'],
  ['C0 control (NUL)', '\u0000', '\\x00'],
  ['C0 control (BEL)', '\u0007', '\\x07'],
  ['DEL', '\u007f', '\\x7F'],
  ['C1 control (CSI)', '\u009b', '\\x9B'],
  ['C1 control (NEL)', '\u0085', '\\x85'],
  ['bidi override (RLO)', '\u202e', '\\u{202E}'],
  ['bidi embedding (LRE)', '\u202a', '\\u{202A}'],
  ['bidi isolate (RLI)', '\u2067', '\\u{2067}'],
  ['bidi isolate end (PDI)', '\u2069', '\\u{2069}'],
  ['zero-width space', '\u200b', '\\u{200B}'],
  ['zero-width joiner', '\u200d', '\\u{200D}'],
  ['right-to-left mark', '\u200f', '\\u{200F}'],
  ['word joiner', '\u2060', '\\u{2060}'],
  ['byte-order mark', '\ufeff', '\\u{FEFF}'],
  ['soft hyphen', '\u00ad', '\\xAD'],
  ['line separator', '\u2028', '\\u{2028}'],
  ['paragraph separator', '\u2029', '\\u{2029}'],
  ['no-break space', '\u00a0', '\\xA0'],
  ['ideographic space', '\u3000', '\\u{3000}'],
  ['tag character (astral Cf)', '\u{e0041}', '\\u{E0041}'],
  ['lone surrogate', '\ud800', '\\u{D800}'],
];

describe('escapeText: every class that can rewrite a terminal or hide text', () => {
  for (const [what, char, shown] of CLASSES) {
    test(`${what} is shown as ${shown}`, () => {
      assert.equal(escapeText(`a${char}b`), `a${shown}b`);
      assert.equal(hasUnsafe(`a${char}b`), true);
    });
  }

  test('printable text, the ASCII space, accents and CJK are kept', () => {
    for (const text of ['mx.example.net: 250 OK', 'bücher.example', '例え.テスト', 'a b', 'back\\slash "q"']) {
      assert.equal(escapeText(text), text);
      assert.equal(hasUnsafe(text), false);
    }
  });
});

describe('quote: input quoted for a message', () => {
  test('quotes, escapes " and \\ and the unsafe classes', () => {
    assert.equal(quote('a"b\\c'), '"a\\"b\\\\c"');
    assert.equal(quote('x\r\ny'), '"x\\x0D\\x0Ay"');
    assert.equal(quote('\u202eevil'), '"\\u{202E}evil"');
  });

  test(`at most ${MAX_QUOTED} characters between the quotes; the cut is marked with what was left off`, () => {
    const got = quote('x'.repeat(200));
    assert.equal(got, `"${'x'.repeat(MAX_QUOTED)}"... (+${200 - MAX_QUOTED} more)`);
    assert.equal(quote('x'.repeat(MAX_QUOTED)), `"${'x'.repeat(MAX_QUOTED)}"`);
  });

  test('an escape is never cut in half, and escapes count as they print', () => {
    const got = quote('\u202e'.repeat(20));
    // Each \u{202E} prints as 8 characters: 8 fit in 64.
    assert.equal(got, `"${'\\u{202E}'.repeat(8)}"... (+12 more)`);
  });
});

describe('safeLine: a printed line', () => {
  test('escapes and keeps a short line', () => {
    assert.equal(safeLine('etrn: a\u001b[2Jb'), 'etrn: a\\x1B[2Jb');
  });

  test(`a long line is cut to ${MAX_LINE} characters with the mark`, () => {
    const got = safeLine(`etrn: ${'y'.repeat(1000)}`);
    assert.ok(Array.from(got).length <= MAX_LINE && Array.from(got).length > MAX_LINE - 5, `${Array.from(got).length}`);
    assert.ok(got.startsWith(`etrn: ${'y'.repeat(200)}`));
    assert.match(got, /\.\.\. \(\+\d+ more\)$/);
  });

  test('a long line of escapes is cut between two escapes', () => {
    const got = safeLine('\u2028'.repeat(500));
    assert.ok(Array.from(got).length <= MAX_LINE, got);
    assert.match(got, /^(\\u\{2028\})+\.\.\. \(\+\d+ more\)$/);
  });

  test('astral characters count as one', () => {
    assert.equal(safeLine('😀'.repeat(MAX_LINE)), '😀'.repeat(MAX_LINE));
  });
});

describe('safeJson: the --json document', () => {
  test('parses to exactly the original strings, with no raw unsafe character in the text', () => {
    const value = { text: `a${CLASSES.map(([, c]) => c).join('')}b`, plain: 'bücher "x"' };
    const json = safeJson(JSON.stringify(value, null, 2));
    assert.equal(hasUnsafe(json.replace(/\n/g, '')), false);
    assert.deepEqual(JSON.parse(json), value);
    assert.match(json, /\\u202e/);
  });
});
