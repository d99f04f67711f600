// Pure parser for the domains an Exim host accepts as local, from the output
// of `exim -bP +local_domains` (Exim spec ch. 10 "Domain, host, address and
// local part lists"); see mta-discovery.ts for running exim. Names only:
// lookups, patterns and references to other lists are reported, not followed.
import type { Diagnostic } from './diagnostic.js';
import { isLocalOrLiteral } from './local-names.js';
import { quote } from '../escape.js';

export interface EximDomains {
  /** Domain names in list order, without localhost names, address literals or case-insensitive duplicates. */
  readonly names: string[];
  /** One per item that was skipped for a reason worth telling; `file` is "local_domains", `line` 0. */
  readonly warnings: Diagnostic[];
}

const LIST = 'local_domains';
const warn = (message: string): Diagnostic => ({ file: LIST, line: 0, message });

/** What Exim prints instead of the items of a list defined with `hide`. */
const HIDDEN_VALUE = '<value not displayable>';

/**
 * The items of an Exim list: separated by `:` unless the list starts with
 * `<` and a punctuation character, which becomes the separator (`<; a ; b`).
 * A doubled separator stands for one literal separator character; items lose
 * their surrounding white space, and empty items are dropped.
 */
export function splitEximList(value: string): string[] {
  let text = value.trimStart();
  let sep = ':';
  const change = /^<([!-/:-@[-`{-~])/.exec(text);
  if (change) {
    sep = change[1]!;
    text = text.slice(2);
  }
  const items: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch !== sep) {
      current += ch;
    } else if (text[i + 1] === sep) {
      current += sep;
      i++;
    } else {
      items.push(current);
      current = '';
    }
  }
  items.push(current);
  return items.map((item) => item.trim()).filter((item) => item !== '');
}


/** Why `item` is not a plain domain name to keep, or null if it is one; '' means skip without a warning. */
function skipReason(item: string): string | null {
  // "@" is primary_hostname (the caller puts this host's name first) and
  // "@[]" its IP literals: neither is a name to ask for, nor worth a warning.
  if (item === '@' || item === '@[]' || isLocalOrLiteral(item)) return '';
  if (item.startsWith('!')) return 'exclusions are not applied';
  if (item.startsWith('@mx_')) return 'MX-based items match domains that cannot be listed';
  if (item.startsWith('@')) return 'special items are not interpreted';
  if (item.startsWith('+')) return 'named lists are not followed';
  if (item.startsWith('^')) return 'regular expressions name no host';
  if (item.includes('$')) return 'expansions are not evaluated';
  // Before the file test: "lsearch;/etc/domains" is a lookup, not a file.
  if (item.includes(';')) return 'lookups are not read';
  if (item.startsWith('/')) return 'files are not read';
  if (item.includes('*')) return 'wildcards name no host';
  return null;
}

/** The list text from `exim -bP +local_domains` output (labelled, or `-n` unlabelled), or why there is none. */
function listValue(output: string): { value: string } | { why: string } {
  const lines = output.split(/\r?\n/).filter((l) => l.trim() !== '');
  for (const line of lines) {
    const m = /^domainlist\s+local_domains\s*=\s?(.*)$/.exec(line);
    if (m) return { value: m[1]! };
  }
  const missing = lines.find((l) => /^no address, domain, host, or local part list called/.test(l));
  if (missing !== undefined) return { why: 'no domainlist local_domains is defined' };
  if (lines.length === 1 && !/^\w+list\s+\S+\s*=/.test(lines[0]!)) return { value: lines[0]! };
  if (lines.length === 0) return { value: '' };
  return { why: `no domainlist local_domains in ${quote(lines.join(' | '))}` };
}

/**
 * The domain names in Exim's `domainlist local_domains`, given the output of
 * `exim -bP +local_domains` (`domainlist local_domains = @ : localhost :
 * example.org`). Skipped with a warning: lookups (`lsearch;/path`), files,
 * `+list` references, regular expressions, wildcards, `@mx_*` and other
 * specials, exclusions and expansions. Skipped silently: `@`, `@[]`,
 * localhost names and address literals. Names are not validated here (see
 * normalizeDomain).
 */
export function parseEximLocalDomains(output: string): EximDomains {
  const names: string[] = [];
  const warnings: Diagnostic[] = [];
  const found = listValue(output);
  if ('why' in found) return { names, warnings: [warn(found.why)] };
  if (found.value.trim() === HIDDEN_VALUE) {
    return { names, warnings: [warn('the list is defined with "hide" and its items are not shown')] };
  }
  const seen = new Set<string>();
  for (const item of splitEximList(found.value)) {
    const why = skipReason(item);
    if (why === '') continue;
    if (why !== null) {
      warnings.push(warn(`skipped ${quote(item)}: ${why}`));
      continue;
    }
    const key = item.toLowerCase().replace(/\.$/, '');
    if (seen.has(key)) continue;
    seen.add(key);
    names.push(item);
  }
  return { names, warnings };
}
