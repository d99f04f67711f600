// Pure parser for the domains a Postfix host accepts mail for, from the
// values `postconf -h` prints for mydestination, virtual_mailbox_domains and
// relay_domains (postconf(5)); see mta-discovery.ts for running postconf.
// Names only: files, lookup tables and patterns are reported, not read.
import type { Diagnostic } from './diagnostic.js';
import { isLocalOrLiteral } from './local-names.js';
import { quote } from '../escape.js';

/** The parameter values as `postconf -h` (or `postconf -hx`) prints them. */
export interface PostfixDomainValues {
  mydestination: string;
  virtual_mailbox_domains?: string;
  relay_domains?: string;
  myhostname: string;
  mydomain: string;
}

export interface PostfixDomains {
  /** Domain names in parameter order, without localhost names, address literals or case-insensitive duplicates. */
  readonly names: string[];
  /** One per entry skipped for a reason worth telling (files, tables, patterns, unknown parameters); `file` is the parameter, `line` 0. */
  readonly warnings: Diagnostic[];
}

/** The list parameters read, in the order their names are reported. */
const LIST_PARAMETERS = ['mydestination', 'virtual_mailbox_domains', 'relay_domains'] as const;

/** A `$name` / `${name}` / `$(name)` expansion nested deeper than this is taken for a loop. */
const MAX_EXPANSION_DEPTH = 10;

/**
 * Splits a Postfix list into entries: commas and/or white space separate
 * them, except inside `{...}`, which groups (Postfix 3.0+ lists, and
 * `${name?{...}}` / `inline:{...}` forms). A braced entry loses its outer
 * braces and surrounding space, as in Postfix's mystrtokq().
 */
export function splitPostfixList(value: string): string[] {
  const entries: string[] = [];
  let current = '';
  let depth = 0;
  const flush = (): void => {
    if (current !== '') entries.push(current);
    current = '';
  };
  for (const ch of value) {
    if (depth === 0 && (ch === ',' || /\s/.test(ch))) {
      flush();
      continue;
    }
    if (ch === '{') depth++;
    else if (ch === '}' && depth > 0) depth--;
    current += ch;
  }
  flush();
  return entries.map((e) => (e.startsWith('{') && e.endsWith('}') && matchingBrace(e, 0) === e.length - 1 ? e.slice(1, -1).trim() : e));
}

/** Index of the `}` that closes the `{` at `open`, or -1. */
function matchingBrace(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) return i;
  }
  return -1;
}


/**
 * Replaces each `$name`, `${name}` and `$(name)` in `entry` by the value of
 * that parameter; returns why not when a reference is to a parameter not in
 * `values`, or uses a form this parser does not evaluate
 * (`${name?value}`, `${name:value}`, `${{...} == {...} ? ...}`).
 */
function expand(entry: string, values: Readonly<Record<string, string | undefined>>): { text: string } | { why: string } {
  let out = '';
  for (let i = 0; i < entry.length; i++) {
    const ch = entry[i]!;
    if (ch !== '$') {
      out += ch;
      continue;
    }
    let name: string;
    const next = entry[i + 1];
    if (next === '{' || next === '(') {
      const close = next === '{' ? matchingBrace(entry, i + 1) : entry.indexOf(')', i + 2);
      if (close < 0) return { why: 'unbalanced parameter reference' };
      name = entry.slice(i + 2, close);
      i = close;
    } else {
      name = /^[A-Za-z0-9_]*/.exec(entry.slice(i + 1))![0];
      i += name.length;
    }
    if (name === '') return { why: 'a "$" that names no parameter' };
    if (!/^[A-Za-z0-9_]+$/.test(name)) return { why: 'conditional or computed parameter expressions are not evaluated' };
    const value = Object.hasOwn(values, name) ? values[name] : undefined;
    if (value === undefined) return { why: `unknown parameter $${name}` };
    out += value;
  }
  return { text: out };
}

/**
 * The domain names a Postfix host accepts mail for, from mydestination,
 * virtual_mailbox_domains and relay_domains, in that order. Parameter
 * references to the given values are expanded (postconf -h leaves them,
 * postconf -hx has already done it; both work). Skipped with a warning:
 * `/file` entries, `type:table` lookups, `!` exclusions, `.domain` subdomain
 * patterns, references to other parameters and conditional expressions.
 * Skipped silently: localhost names and address literals. Names are not
 * validated here (see normalizeDomain).
 */
export function parsePostfixDomains(values: PostfixDomainValues): PostfixDomains {
  const known: Record<string, string | undefined> = {
    mydestination: values.mydestination,
    virtual_mailbox_domains: values.virtual_mailbox_domains,
    relay_domains: values.relay_domains,
    myhostname: values.myhostname,
    mydomain: values.mydomain,
  };
  const names: string[] = [];
  const warnings: Diagnostic[] = [];
  const seen = new Set<string>();

  const visit = (parameter: string, list: string, depth: number): void => {
    for (const entry of splitPostfixList(list)) {
      const skip = (why: string): void => {
        warnings.push({ file: parameter, line: 0, message: `skipped ${quote(entry)}: ${why}` });
      };
      if (entry.includes('$')) {
        if (depth >= MAX_EXPANSION_DEPTH) {
          skip('parameter references nest too deep (a loop?)');
          continue;
        }
        const expanded = expand(entry, known);
        if ('why' in expanded) skip(expanded.why);
        // An expansion may be a whole list ($mydestination in relay_domains).
        else visit(parameter, expanded.text, depth + 1);
        continue;
      }
      if (entry.startsWith('!')) skip('exclusions are not applied');
      else if (entry.startsWith('/')) skip('files are not read');
      else if (/^[A-Za-z][A-Za-z0-9_-]*:/.test(entry)) skip('lookup tables are not read');
      else if (entry.startsWith('.')) skip('subdomain patterns name no host');
      else if (isLocalOrLiteral(entry)) continue;
      else {
        const key = entry.toLowerCase().replace(/\.$/, '');
        if (seen.has(key)) continue;
        seen.add(key);
        names.push(entry);
      }
    }
  };

  for (const parameter of LIST_PARAMETERS) {
    const list = known[parameter];
    if (list !== undefined) visit(parameter, list, 0);
  }
  return { names, warnings };
}
