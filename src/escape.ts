// What etrn echoes: the one place that makes text safe to print. Input a user
// or a server controls (names, lines of a file, replies, certificate names)
// may hold characters that rewrite a terminal (C0/C1 controls, ESC, DEL) or
// hide and reorder text (Unicode format characters: bidi overrides and
// isolates, zero-width characters; line and paragraph separators; non-ASCII
// spaces). Every such character is shown as an escape (`\x1b`, `\u{202E}`),
// quoted input is cut to a short length, and a printed line to a length a
// terminal can show, each cut marked with how much was left off.

/** Most characters of input one message quotes (escapes counted as they print). */
export const MAX_QUOTED = 64;
/** Most characters of a quoted diagnostic that etrn did not write (a certificate problem with its error code). */
export const MAX_QUOTED_PROBLEM = 100;
/** Most characters in one line etrn prints for a person (stderr and stdout; not --json). */
export const MAX_LINE = 240;

/**
 * Characters never printed as they are: C0 and C1 controls, DEL (Cc), format
 * characters (Cf: U+200B–U+200F, U+202A–U+202E, U+2060–U+2064, U+2066–U+2069,
 * U+FEFF, U+00AD …), line and paragraph separators (Zl, Zp), spaces other than
 * the ASCII space (Zs: U+00A0, U+3000 …), and lone surrogates.
 */
export const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]|(?![ ])\p{Zs}/u;
const UNSAFE_ALL = new RegExp(UNSAFE.source, 'gu');

/** `\xHH` up to U+00FF, `\u{HHHH}` above. */
function escapeChar(c: string): string {
  const code = c.codePointAt(0)!;
  const hex = code.toString(16).toUpperCase();
  return code <= 0xff ? `\\x${hex.padStart(2, '0')}` : `\\u{${hex.padStart(4, '0')}}`;
}

/** `text` with every unsafe character escaped; everything else (backslashes included) as it is. */
export function escapeText(text: string): string {
  return text.replace(UNSAFE_ALL, escapeChar);
}

/** True when `text` has a character that escapeText would escape. */
export function hasUnsafe(text: string): boolean {
  return UNSAFE.test(text);
}

/** The pieces `text` prints as, one per input character (an escape is one piece), inside double quotes. */
function quotedPieces(text: string): string[] {
  const pieces: string[] = [];
  for (const c of text) {
    if (c === '"' || c === '\\') pieces.push(`\\${c}`);
    else if (UNSAFE.test(c)) pieces.push(escapeChar(c));
    else pieces.push(c);
  }
  return pieces;
}

/** "... (+N more)": the mark of a cut, with how many input characters were left off. */
export function cutMark(more: number): string {
  return `... (+${more} more)`;
}

/**
 * Input quoted for a one-line message: in double quotes, `"` and `\` escaped
 * with a backslash, unsafe characters escaped, and at most `max` printed
 * characters between the quotes; a longer input is cut (never inside an
 * escape) and followed by `... (+N more)`, N counting the input characters
 * left off.
 */
export function quote(text: string, max = MAX_QUOTED): string {
  const pieces = quotedPieces(text);
  let shown = '';
  let used = 0;
  for (const piece of pieces) {
    if (shown.length + piece.length > max) break;
    shown += piece;
    used++;
  }
  return used === pieces.length ? `"${shown}"` : `"${shown}"${cutMark(pieces.length - used)}`;
}

/**
 * One line as etrn prints it: unsafe characters escaped, then cut to `max`
 * characters (mark included) if longer, never inside an escape.
 */
export function safeLine(line: string, max = MAX_LINE): string {
  const escaped = escapeText(line);
  const chars = Array.from(escaped);
  if (chars.length <= max) return escaped;
  // Leave room for the mark; count the cut in characters of the escaped line.
  let keep = max - cutMark(chars.length).length;
  // Do not cut an escape in half: back up to its backslash.
  const head = chars.slice(0, keep).join('');
  const partial = /\\(?:x[0-9A-F]?|u(?:\{[0-9A-F]*)?)?$/.exec(head);
  if (partial) keep -= partial[0].length;
  return `${chars.slice(0, keep).join('')}${cutMark(chars.length - keep)}`;
}

/**
 * JSON text made safe to view: the same unsafe characters written as JSON
 * `\uXXXX` escapes, so the document parses to exactly the original strings
 * but shows no raw control or format character.
 */
export function safeJson(json: string): string {
  // JSON.stringify never leaves a raw newline inside a string; outside, it is the layout.
  return json.replace(UNSAFE_ALL, (c) => {
    if (c === '\n') return c;
    let out = '';
    for (let i = 0; i < c.length; i++) out += `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`;
    return out;
  });
}
