// Pure parsers for sendmail's class w (the names a sendmail host accepts
// mail for): `Cw`/`C{w}` lines in sendmail.cf give words, `Fw`/`F{w}` lines
// name class files (`-o`: optional; a trailing scanf pattern such as
// `%[^\#]` cuts comments). Text in, typed data and line-numbered
// diagnostics out; no file is read here (see class-w-discovery.ts).
import type { Diagnostic } from './diagnostic.js';
import { quote } from '../escape.js';

export type { Diagnostic } from './diagnostic.js';

export interface ClassWord {
  readonly word: string;
  readonly file: string;
  readonly line: number;
}

export interface ClassFileRef {
  readonly path: string;
  readonly optional: boolean;
  readonly line: number;
}

/** What one sendmail.cf says about class w, in the order of its lines. */
export interface ClassDefinition {
  /** Words and class files, in file order (a class file's words go where its line stands). */
  readonly entries: readonly (ClassWord | ClassFileRef)[];
  readonly warnings: readonly Diagnostic[];
}

/** Splits sendmail.cf text into logical lines (a line starting with space or tab continues the one before). */
function logicalLines(text: string): { text: string; line: number }[] {
  const out: { text: string; line: number }[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const last = out[out.length - 1];
    if (/^[ \t]/.test(raw) && last !== undefined && raw.trim() !== '') {
      last.text += ` ${raw.trim()}`;
    } else {
      out.push({ text: raw, line: i + 1 });
    }
  });
  return out;
}

/** The class a C or F line defines and the rest of the line, or null if it is not one. */
function classLine(text: string): { kind: 'C' | 'F'; cls: string; rest: string } | null {
  const kind = text[0];
  if (kind !== 'C' && kind !== 'F') return null;
  if (text[1] === '{') {
    const close = text.indexOf('}');
    if (close < 0) return null;
    return { kind, cls: text.slice(2, close), rest: text.slice(close + 1) };
  }
  if (text.length < 2) return null;
  return { kind, cls: text[1]!, rest: text.slice(2) };
}

/** The line without its comment: an unescaped "#" starts one (sendmail readcf, config level 3+). */
function stripComment(text: string): string {
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '#') return text.slice(0, i);
  }
  return text;
}

export function parseSendmailCf(text: string, file: string, className = 'w'): ClassDefinition {
  const entries: (ClassWord | ClassFileRef)[] = [];
  const warnings: Diagnostic[] = [];
  for (const { text: rawLine, line } of logicalLines(text)) {
    if (rawLine.startsWith('#')) continue;
    const lineText = stripComment(rawLine);
    const parsed = classLine(lineText);
    if (!parsed || parsed.cls !== className) continue;
    if (parsed.kind === 'C') {
      for (const word of parsed.rest.trim().split(/\s+/).filter((w) => w !== '')) {
        if (word.includes('$')) {
          warnings.push({ file, line, message: `skipped ${quote(word)}: macros are not expanded` });
        } else entries.push({ word, file, line });
      }
      continue;
    }
    let rest = parsed.rest.trim();
    let optional = false;
    if (rest.startsWith('-o')) {
      optional = true;
      rest = rest.slice(2).trim();
    }
    const path = rest.split(/\s+/)[0] ?? '';
    if (path === '') {
      warnings.push({ file, line, message: 'class file line names no file' });
    } else if (path.startsWith('|')) {
      warnings.push({ file, line, message: `skipped program class ${quote(path)}: programs are not run` });
    } else if (path.includes('$')) {
      warnings.push({ file, line, message: `skipped ${quote(path)}: macros are not expanded` });
    } else if (!path.startsWith('/')) {
      warnings.push({ file, line, message: `skipped ${quote(path)}: not an absolute path (map lookups are not supported)` });
    } else {
      entries.push({ path, optional, line });
    }
  }
  return { entries, warnings };
}

/** The words of a class file: white-space separated, `#` to end of line is a comment. */
export function parseClassFile(text: string, file: string): ClassWord[] {
  const words: ClassWord[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const hash = raw.indexOf('#');
    const content = hash >= 0 ? raw.slice(0, hash) : raw;
    for (const word of content.trim().split(/\s+/)) {
      if (word !== '') words.push({ word, file, line: i + 1 });
    }
  });
  return words;
}

