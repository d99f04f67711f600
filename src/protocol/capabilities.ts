// EHLO reply → capability set (RFC 5321 §4.1.1.1: the first line is the
// server's greeting, each later line one keyword with optional parameters).
// Keywords are compared case-insensitively.
import type { Reply } from './reply.js';

export interface Capabilities {
  /** Upper-cased keyword → its parameters (upper-cased too, e.g. AUTH's mechanisms). */
  readonly keywords: ReadonlyMap<string, readonly string[]>;
  has(keyword: string): boolean;
  params(keyword: string): readonly string[];
}

export function parseCapabilities(reply: Reply): Capabilities {
  const keywords = new Map<string, string[]>();
  for (const line of reply.lines.slice(1)) {
    const words = line.trim().split(/[ =]+/).filter((w) => w !== '');
    const [keyword, ...params] = words;
    if (keyword === undefined || !/^[A-Za-z0-9][A-Za-z0-9-]*$/.test(keyword)) continue;
    const key = keyword.toUpperCase();
    const known = keywords.get(key) ?? [];
    known.push(...params.map((p) => p.toUpperCase()));
    keywords.set(key, known);
  }
  return {
    keywords,
    has: (keyword) => keywords.has(keyword.toUpperCase()),
    params: (keyword) => keywords.get(keyword.toUpperCase()) ?? [],
  };
}

/** The capabilities known after HELO: none. */
export const noCapabilities: Capabilities = parseCapabilities({ code: 250, enhanced: null, lines: [''] });
