// fast-check generators shared by the property tests: strings built from the
// characters that matter to names and to the wire (separators, controls,
// non-ASCII look-alikes), mixed with arbitrary Unicode and bytes.
import fc from 'fast-check';

/** Pieces that make validators work: LDH characters, separators, controls, look-alikes. */
const namePieces = fc.constantFrom(
  'a', 'Z', 'q', '0', '9', '-', '.', '..', '@', '#', '_', ':', '[', ']', '%', '/',
  'xn--', 'xn--a', 'localhost', 'example', 'com',
  ' ', '\t', '\r', '\n', '\r\n', '\u0000', '\u0007', '\u001b', '\u007f', '\u0085', '\u009b',
  '\u00a0', '\u2028', '\ufeff', '\ufffd', 'é', 'ß', 'Ω', '\u3002', '\uff0e', 'ａ', '１', '\ud83d\ude00', '\ud800',
  'x'.repeat(63), 'y'.repeat(64), 'QUIT', 'ETRN ',
);

/** Strings that look like names often and like garbage sometimes. */
export const nameLike: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.array(namePieces, { maxLength: 24 }).map((parts) => parts.join('')) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  // Long names around the 253-octet limit.
  {
    weight: 1,
    arbitrary: fc
      .array(fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$/), { minLength: 1, maxLength: 8 })
      .map((labels) => labels.join('.')),
  },
);

/** Server-host shaped strings: a name-like host, maybe bracketed, maybe a port. */
export const serverLike: fc.Arbitrary<string> = fc.oneof(
  nameLike,
  fc
    .tuple(
      fc.oneof(nameLike, fc.ipV4(), fc.ipV6().map((a) => `[${a}]`), fc.ipV6()),
      fc.option(fc.oneof(fc.integer({ min: -5, max: 70_000 }).map(String), nameLike), { nil: undefined }),
    )
    .map(([host, port]) => (port === undefined ? host : `${host}:${port}`)),
);

/** Text shaped like sendmail.cf: class lines, comments, continuations, odd bytes. */
export const cfLike: fc.Arbitrary<string> = fc
  .array(
    fc.oneof(
      fc.constantFrom('Cw', 'C{w}', 'Fw', 'F{w}', 'Fw-o', 'Fw-o ', 'CX', 'Cwx', 'C{', 'F', 'D', 'Fw|', '$j', '$=w', '/etc/mail/local-host-names', '%[^\\#]'),
      fc.constantFrom(' ', '\t', '\r', '\n', '\r\n', '\n ', '\n\t', '#', '\\#', '\\', '{', '}', '\u0000', '\u000b', '\u000c', '\u00a0', '\u2028', '\u0085'),
      nameLike,
    ),
    { maxLength: 40 },
  )
  .map((parts) => parts.join(''));

// eslint-disable-next-line no-control-regex
export const CONTROL_OR_SPACE = /[\u0000-\u0020\u007f-\u009f]/;
export const LDH_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/;

/** Whether `name` obeys the LDH rules the spec promises: labels of 1-63, names of at most 253 octets. */
export function isLdhName(name: string): boolean {
  if (name.length === 0 || name.length > 253) return false;
  return name.split('.').every((label) => label.length <= 63 && LDH_LABEL.test(label));
}
