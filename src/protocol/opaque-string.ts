// The PRECIS OpaqueString profile (RFC 8265 §4.2), the successor of SASLprep
// (RFC 4013) that SCRAM (RFC 5802 §5.1, RFC 7677) and PLAIN (RFC 4616 §2)
// ask clients to apply to passwords: map non-ASCII spaces to U+0020,
// normalize to NFC, then refuse what the FreeformClass (RFC 8264 §4.3, §8,
// §9) does not allow, and refuse an empty result. Pure: text in, prepared
// text or the reason it is refused out. Unicode properties come from the
// JavaScript engine's tables (PRECIS is Unicode-version agile, RFC 8264 §1).

/**
 * Why a string is refused: the offending code point, its position and its
 * class ("a control character"), or "it is empty". The reason never quotes
 * the input, so a refused password can be reported without revealing it.
 */
export interface OpaqueStringRefusal {
  /** The code point refused (absent for an empty string). */
  readonly codePoint?: number;
  /** Its position in the prepared string, in code points (0-based). */
  readonly index?: number;
  readonly reason: string;
}

export type OpaqueStringResult =
  | { readonly ok: true; readonly value: string }
  | { readonly ok: false; readonly refusal: OpaqueStringRefusal };

// RFC 8264 §9.13 (Spaces): Zs. Only the non-ASCII ones are mapped (§4.2.1 rule 1).
const NON_ASCII_SPACE = /(?!\u0020)\p{Zs}/gu;

// RFC 8264 §9.8 (OldHangulJamo): Hangul_Syllable_Type L, V or T, which
// JavaScript regexps cannot name; these are the ranges of Unicode 15.
const OLD_HANGUL_JAMO = /[\u1100-\u11ff\ua960-\ua97c\ud7b0-\ud7c6\ud7cb-\ud7fb]/u;

// RFC 5892 §2.6 (Exceptions) that are DISALLOWED; the PVALID ones are letters anyway.
const EXCEPTION_DISALLOWED = new Set([0x0640, 0x07fa, 0x302e, 0x302f, 0x3031, 0x3032, 0x3033, 0x3034, 0x3035, 0x303b]);

// The FreeformClass's valid categories (RFC 8264 §9.1, §9.2, §9.13-9.15):
// letters and digits, other letters and digits, spaces, symbols, punctuation
// (HasCompat, §9.17, is valid in the FreeformClass and needs no test).
const FREEFORM_VALID = /^[\p{Ll}\p{Lu}\p{Lo}\p{Nd}\p{Lm}\p{Mn}\p{Mc}\p{Lt}\p{Nl}\p{No}\p{Me}\p{Zs}\p{Sm}\p{Sc}\p{Sk}\p{So}\p{Pc}\p{Pd}\p{Ps}\p{Pe}\p{Pi}\p{Pf}\p{Po}]$/u;

const ZWNJ = 0x200c;
const ZWJ = 0x200d;

/** "U+00A0": a code point as Unicode writes it. */
export function formatCodePoint(cp: number): string {
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * The class of a code point that is not valid on its own (RFC 8264 §8, in
 * its order), or null when it is valid or contextual (checked by the caller).
 */
function disallowedClass(cp: number, ch: string): string | null {
  if (EXCEPTION_DISALLOWED.has(cp)) return 'a character PRECIS disallows (RFC 5892 exceptions)';
  if (/\p{Cn}/u.test(ch) && !/\p{Noncharacter_Code_Point}/u.test(ch)) return 'an unassigned code point';
  if (cp >= 0x21 && cp <= 0x7e) return null; // ASCII7
  if (cp === ZWNJ || cp === ZWJ) return null; // JoinControl: contextual
  if (OLD_HANGUL_JAMO.test(ch)) return 'an old Hangul jamo';
  if (/[\p{Default_Ignorable_Code_Point}\p{Noncharacter_Code_Point}]/u.test(ch)) return 'an invisible (default ignorable) or non-character code point';
  if (/\p{Cc}/u.test(ch)) return 'a control character';
  if (FREEFORM_VALID.test(ch)) return null;
  if (/\p{Co}/u.test(ch)) return 'a private-use character';
  if (/\p{Cs}/u.test(ch)) return 'a lone surrogate (not UTF-8 text)';
  return 'a format or separator character';
}

/**
 * The contextual rules of RFC 5892 Appendix A for the code points PRECIS
 * allows only in context. The virama test of A.1/A.2 is approximated by
 * "after a combining mark", as JavaScript cannot read Canonical_Combining_Class.
 */
function contextRefusal(cps: readonly number[], i: number): string | null {
  const cp = cps[i]!;
  const before = i > 0 ? String.fromCodePoint(cps[i - 1]!) : '';
  const after = i + 1 < cps.length ? String.fromCodePoint(cps[i + 1]!) : '';
  switch (cp) {
    case ZWNJ:
    case ZWJ:
      return /\p{M}/u.test(before) ? null : 'a zero-width joiner that does not follow a combining mark';
    case 0x00b7: // MIDDLE DOT, between two l (A.3)
      return before === 'l' && after === 'l' ? null : 'a middle dot that is not between two "l"';
    case 0x0375: // GREEK LOWER NUMERAL SIGN, before Greek (A.4)
      return /\p{Script=Greek}/u.test(after) ? null : 'a Greek numeral sign not followed by Greek';
    case 0x05f3:
    case 0x05f4: // HEBREW GERESH, GERSHAYIM, after Hebrew (A.5, A.6)
      return /\p{Script=Hebrew}/u.test(before) ? null : 'a Hebrew geresh not preceded by Hebrew';
    case 0x30fb: // KATAKANA MIDDLE DOT, with Hiragana, Katakana or Han (A.7)
      return cps.some((c) => c !== 0x30fb && /[\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Han}]/u.test(String.fromCodePoint(c)))
        ? null
        : 'a katakana middle dot without Hiragana, Katakana or Han';
    default:
      break;
  }
  // ARABIC-INDIC DIGITS and EXTENDED ARABIC-INDIC DIGITS do not mix (A.8, A.9).
  const arabic = (c: number): boolean => c >= 0x0660 && c <= 0x0669;
  const extended = (c: number): boolean => c >= 0x06f0 && c <= 0x06f9;
  if (arabic(cp) && cps.some(extended)) return 'Arabic-Indic digits mixed with extended Arabic-Indic digits';
  if (extended(cp) && cps.some(arabic)) return 'extended Arabic-Indic digits mixed with Arabic-Indic digits';
  return null;
}

/** Prepares `input` by the OpaqueString profile (RFC 8265 §4.2.2 preparation and enforcement). */
export function prepareOpaqueString(input: string): OpaqueStringResult {
  const mapped = input.replace(NON_ASCII_SPACE, ' ').normalize('NFC');
  if (mapped === '') return { ok: false, refusal: { reason: 'it is empty' } };
  const cps = Array.from(mapped, (c) => c.codePointAt(0)!);
  for (let i = 0; i < cps.length; i++) {
    const cp = cps[i]!;
    const why = disallowedClass(cp, String.fromCodePoint(cp)) ?? contextRefusal(cps, i);
    if (why !== null) return { ok: false, refusal: { codePoint: cp, index: i, reason: why } };
  }
  return { ok: true, value: mapped };
}

/**
 * The prepared string; throws `fail(why)` when the profile refuses it, `why`
 * naming the class and position (with the code point itself only when
 * `showCodePoint`: never for a secret).
 */
export function opaqueString(input: string, showCodePoint: boolean, fail: (why: string) => Error): string {
  const r = prepareOpaqueString(input);
  if (r.ok) return r.value;
  const { codePoint, index, reason } = r.refusal;
  if (codePoint === undefined) throw fail(reason);
  const what = showCodePoint ? `${formatCodePoint(codePoint)}, ${reason}` : reason;
  throw fail(`character ${index! + 1} is ${what}`);
}
