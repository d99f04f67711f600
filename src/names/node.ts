// Validation of ETRN arguments (RFC 1985 §4: node-name, "@" node-name, "#"
// queue-name) and of host names (RFC 1035 §2.3.1 LDH rule, RFC 1123 §2.1,
// RFC 5890 A-labels). Runs before anything is sent, so a bad name stops the
// whole run with exit 64.
import { domainToASCII } from 'node:url';
import { InvalidNameError } from '../errors.js';
import { hasUnsafe, quote } from '../escape.js';

export const MAX_NAME_OCTETS = 253;
export const MAX_LABEL_OCTETS = 63;

const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/;
const QUEUE = /^[A-Za-z0-9._-]+$/;

/** Why `text` may not appear in a command at all, or null. */
function unsafeCharacter(text: string): string | null {
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if (c === 0) return 'contains a NUL byte';
    if (c === 0x0d || c === 0x0a) return 'contains a line break';
    if (c === 0x20 || c === 0x09) return 'contains white space';
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return 'contains a control character';
    // Format characters (bidi overrides, zero-width), separators and non-ASCII
    // spaces: IDNA would silently drop some (U+200B, U+00AD, U+FEFF), so the
    // name sent would differ from the name shown.
    if (hasUnsafe(ch)) return 'contains an invisible or format character';
  }
  return null;
}

/**
 * Checks a domain name and returns it in the form to send: A-labels for
 * internationalised names, no trailing dot. Throws InvalidNameError.
 */
export function normalizeDomain(input: string, what = 'name'): string {
  const bad = unsafeCharacter(input);
  if (bad) throw new InvalidNameError(input, `${what} ${bad}`);
  let name = input.endsWith('.') ? input.slice(0, -1) : input;
  if (name === '') throw new InvalidNameError(input, `${what} is empty`);
  // eslint-disable-next-line no-control-regex
  if (/[^\u0000-\u007f]/.test(name)) {
    const ascii = domainToASCII(name);
    if (ascii === '') throw new InvalidNameError(input, `${what} is not a valid internationalised domain name`);
    name = ascii;
  }
  if (name.length > MAX_NAME_OCTETS) {
    throw new InvalidNameError(input, `${what} is longer than ${MAX_NAME_OCTETS} octets`);
  }
  for (const label of name.split('.')) {
    if (label === '') throw new InvalidNameError(input, `${what} has an empty label`);
    if (label.length > MAX_LABEL_OCTETS) {
      throw new InvalidNameError(input, `${what} has a label longer than ${MAX_LABEL_OCTETS} octets`);
    }
    if (!LABEL.test(label)) {
      throw new InvalidNameError(
        input,
        `${what} label ${quote(label)} must be letters, digits and inner hyphens`,
      );
    }
  }
  return name;
}

/** Checks one client-host and returns the ETRN argument to send for it. */
export function normalizeNode(input: string): string {
  const bad = unsafeCharacter(input);
  if (bad) throw new InvalidNameError(input, `client-host ${bad}`);
  if (input.startsWith('#')) {
    const queue = input.slice(1);
    if (queue === '') throw new InvalidNameError(input, 'queue name is empty');
    if (queue.length > MAX_NAME_OCTETS || !QUEUE.test(queue)) {
      throw new InvalidNameError(input, `queue name must be at most ${MAX_NAME_OCTETS} letters, digits, dots, hyphens or underscores`);
    }
    return input;
  }
  if (input.startsWith('@')) {
    try {
      return `@${normalizeDomain(input.slice(1), 'client-host')}`;
    } catch (error) {
      if (!(error instanceof InvalidNameError)) throw error;
      // Name what the user typed, "@" included.
      throw new InvalidNameError(input, error.reason);
    }
  }
  return normalizeDomain(input, 'client-host');
}

/** Normalises every node, keeping the first of case-insensitive duplicates, in order. */
export function normalizeNodes(inputs: Iterable<string>): string[] {
  return uniqueNames([...inputs].map(normalizeNode));
}

/** The names without case-insensitive duplicates, the first of each kept, in order. */
export function uniqueNames(names: Iterable<string>): string[] {
  const seen = new Set<string>();
  const unique: string[] = [];
  for (const name of names) {
    const key = name.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    unique.push(name);
  }
  return unique;
}
