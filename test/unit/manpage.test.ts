// The manual page (man/etrn.8) against what it documents: it renders with
// man(1) and groff without warnings and has every section; its OPTIONS
// section, the option table the command line is parsed with (optionTable)
// and --help (helpText) name the same options with the same arguments; and
// its exit statuses are those of the README's table. A missing man or groff
// is a failure, never a skip: lab/install.sh installs them.
import assert from 'node:assert/strict';
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, test } from 'node:test';
import { helpText, optionTable } from '../../src/cli/args.js';
import { repoRoot } from '../helpers/cli.js';

const pagePath = resolve(repoRoot, 'man/etrn.8');
const readmePath = resolve(repoRoot, 'README.md');
const source = readFileSync(pagePath, 'utf8');
const readme = readFileSync(readmePath, 'utf8');

/** Rendered lines may be at most this wide (MANWIDTH). */
const WIDTH = 80;

const REQUIRED_SECTIONS = [
  'NAME',
  'SYNOPSIS',
  'DESCRIPTION',
  'OPTIONS',
  'DISCOVERY',
  'ETRN_HOSTS',
  'TLS AND AUTHENTICATION',
  'OUTPUT',
  'EXIT STATUS',
  'ENVIRONMENT',
  'FILES',
  'EXAMPLES',
  'STANDARDS',
  'SEE ALSO',
  'NOTES',
] as const;

const SYNOPSIS_FORMS = [
  'etrn [options] server-host [client-host ...]',
  'etrn [options] --defaults [FILE]',
  'etrn [options] --etrn-hosts "SPEC"',
] as const;

const GROFF_MISSING =
  'groff is not installed; lab/install.sh must install it (Debian package groff-base, which man-db depends on): run `bash lab/install.sh` as root';

/** A plain-text rendering environment: fixed width, no pager, no SGR or overstrike formatting, UTF-8. */
function renderEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ['MAN_KEEP_FORMATTING', 'MANROFFOPT', 'MANOPT', 'GROFF_SGR', 'GROFF_NO_SGR', 'MANROFFSEQ']) delete env[name];
  return {
    ...env,
    MANWIDTH: String(WIDTH),
    MANPAGER: 'cat',
    PAGER: 'cat',
    LC_ALL: 'C.UTF-8',
    // man-db's seccomp sandbox fails in some containers; the page needs no sandbox.
    MAN_DISABLE_SECCOMP: '1',
  };
}

function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv = renderEnv()): SpawnSyncReturns<string> {
  return spawnSync(command, args, { env, encoding: 'utf8', timeout: 60_000, maxBuffer: 16 * 1024 * 1024 });
}

const notFound = (r: SpawnSyncReturns<string>): boolean => (r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';

function describeRun(what: string, r: SpawnSyncReturns<string>): string {
  return `${what}: status ${r.status}${r.signal ? `, signal ${r.signal}` : ''}${r.error ? `, ${r.error.message}` : ''}\nstderr:\n${r.stderr ?? ''}`;
}

interface Rendering {
  readonly command: string;
  readonly result: SpawnSyncReturns<string>;
  /** Why man was not used, when groff rendered the page instead. */
  readonly fallbackReason: string | null;
}

let rendering: Rendering | undefined;

/** The page rendered as a reader sees it: with man -l, or with groff if man is missing or fails. */
function render(): Rendering {
  if (rendering) return rendering;
  const manArgs = ['--no-hyphenation', '--no-justification', '-l', pagePath];
  const man = run('man', manArgs);
  if (!notFound(man) && man.error === undefined && man.status === 0 && man.stdout.trim() !== '') {
    rendering = { command: `man ${manArgs.join(' ')}`, result: man, fallbackReason: null };
    return rendering;
  }
  const reason = notFound(man) ? 'man is not installed' : describeRun('man failed', man);
  // -rLL: the line length man-db uses for MANWIDTH=80; -P-cbou: plain text, no SGR, bold or underline.
  const groffArgs = ['-man', '-Tutf8', `-rLL=${WIDTH - 2}n`, '-rHY=0', '-P-cbou', pagePath];
  const groff = run('groff', groffArgs);
  if (notFound(groff)) assert.fail(`${GROFF_MISSING} (and ${reason})`);
  rendering = { command: `groff ${groffArgs.join(' ')}`, result: groff, fallbackReason: reason };
  return rendering;
}

/** The rendered page's sections: heading (a line at column 0 in capitals) → its text. */
function renderedSections(text: string): Map<string, string> {
  const sections = new Map<string, string>();
  let current: string | null = null;
  let body: string[] = [];
  const flush = (): void => {
    if (current !== null) sections.set(current, body.join('\n'));
  };
  for (const line of text.split('\n')) {
    if (/^[A-Z][A-Z0-9_ ]*[A-Z0-9_]$/.test(line)) {
      flush();
      current = line;
      body = [];
    } else body.push(line);
  }
  flush();
  return sections;
}

/** The arguments of a roff request line: blank-separated, "..." quoting ("" inside is one "). */
function roffArgs(text: string): string[] {
  const args: string[] = [];
  for (const m of text.matchAll(/"((?:[^"]|"")*)(?:"|$)|(\S+)/g)) {
    args.push(m[1] !== undefined ? m[1].replace(/""/g, '"') : m[2]!);
  }
  return args;
}

/** The text of one roff source line: font macros applied, escapes for hyphens, quotes and spacing resolved. */
function roffText(line: string): string {
  let text = line;
  const macro = /^\.(B|I|R|SM|BR|RB|BI|IB|IR|RI)(?:\s+(.*))?$/.exec(line);
  if (macro) {
    const args = roffArgs(macro[2] ?? '');
    text = macro[1]!.length === 1 || macro[1] === 'SM' ? args.join(' ') : args.join('');
  }
  return text
    .replace(/\\f(\[[^\]]*\]|\(..|.)/g, '')
    .replace(/\\\(dq/g, '"')
    .replace(/\\-/g, '-')
    .replace(/\\[&|^]/g, '')
    .replace(/\\ /g, ' ')
    .replace(/\\e/g, '\\');
}

/** The source lines of the section `.SH name` (up to the next .SH), comments left out, with their line numbers. */
function sourceSection(name: string): { line: number; text: string }[] {
  const lines = source.split('\n');
  const out: { line: number; text: string }[] = [];
  let inside = false;
  lines.forEach((text, i) => {
    if (/^\.SH\b/.test(text)) {
      inside = roffArgs(text.replace(/^\.SH\s*/, '')).join(' ') === name;
      return;
    }
    if (inside && !/^\.\s*\\"/.test(text)) out.push({ line: i + 1, text });
  });
  return out;
}

/** The tags of the .TP paragraphs of a source section, as text. */
function sourceTags(name: string): string[] {
  const lines = sourceSection(name);
  const tags: string[] = [];
  lines.forEach(({ text }, i) => {
    const next = lines[i + 1];
    if (/^\.TP\b/.test(text) && next !== undefined) tags.push(roffText(next.text).trim());
  });
  return tags;
}

const OPTION_NAME = /^(--[a-z0-9][a-z0-9-]*|-[A-Za-z0-9])$/;

/**
 * The options of one option entry such as `-p, --port PORT`, `-4, -6` or
 * `--defaults [FILE]`: each name → the entry's argument ('' for none).
 * Returns null if the entry does not start with an option.
 */
function parseOptionEntry(head: string): Map<string, string> | null {
  const items = head.split(/,\s*/).map((item) => item.trim().split(/\s+/));
  if (!items.every((words) => OPTION_NAME.test(words[0] ?? ''))) return null;
  const argument = items[items.length - 1]!.slice(1).join(' ');
  return new Map(items.map((words) => [words[0]!, argument]));
}

/** Option name → argument, from entries; an option listed twice must not disagree with itself. */
function collect(entries: readonly string[], where: string): Map<string, string> {
  const options = new Map<string, string>();
  for (const head of entries) {
    const parsed = parseOptionEntry(head);
    assert.ok(parsed, `${where}: entry ${JSON.stringify(head)} does not start with an option`);
    for (const [name, argument] of parsed) {
      assert.ok(!options.has(name), `${where}: ${name} is listed more than once`);
      options.set(name, argument);
    }
  }
  return options;
}

/** Option name → argument, from the OPTIONS section of the page (its .TP tags). */
function pageOptions(): Map<string, string> {
  const tags = sourceTags('OPTIONS');
  assert.ok(tags.length > 0, 'the OPTIONS section of man/etrn.8 has no .TP entries');
  return collect(tags, 'man/etrn.8 OPTIONS');
}

/** The entries of helpText's "Options:" block: each line's left column. */
function helpEntries(): string[] {
  const lines = helpText.split('\n');
  const start = lines.findIndex((l) => /^Options:\s*$/.test(l));
  assert.ok(start >= 0, 'helpText has no "Options:" line');
  const entries: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.trim() === '') break;
    const m = /^ {1,8}(-\S.*?)(?: {2,}|$)/.exec(line);
    if (m) entries.push(m[1]!);
  }
  return entries;
}

/** Option name → whether it takes an argument, from optionTable. */
function tableOptions(): Map<string, boolean> {
  const options = new Map<string, boolean>();
  for (const [long, config] of Object.entries(optionTable) as [string, { type: string; short?: string }][]) {
    options.set(`--${long}`, config.type === 'string');
    if (config.short !== undefined) options.set(`-${config.short}`, config.type === 'string');
  }
  return options;
}

/** Lines naming what is in one set and not in the other, both ways. */
function differences(sets: Record<string, ReadonlySet<string>>): string[] {
  const names = Object.keys(sets);
  const lines: string[] = [];
  for (const a of names) {
    for (const b of names) {
      if (a === b) continue;
      const missing = [...sets[a]!].filter((x) => !sets[b]!.has(x)).sort();
      if (missing.length > 0) lines.push(`  in ${a} but not in ${b}: ${missing.join(' ')}`);
    }
  }
  return lines;
}

/** Exit status → its sysexits.h name ('' when none is given), from table cells such as "64 `EX_USAGE`" or "130, 143". */
function exitStatuses(cells: readonly string[], where: string): Map<number, string> {
  const statuses = new Map<number, string>();
  for (const cell of cells) {
    const numbers = cell.match(/\b\d+\b/g) ?? [];
    assert.ok(numbers.length > 0, `${where}: ${JSON.stringify(cell)} names no exit status`);
    const name = /\bEX_[A-Z]+\b/.exec(cell)?.[0] ?? '';
    for (const n of numbers) {
      assert.ok(!statuses.has(Number(n)), `${where}: exit status ${n} is listed more than once`);
      statuses.set(Number(n), name);
    }
  }
  return statuses;
}

/** The first cells of the rows of the README's exit status table. */
function readmeExitCells(): string[] {
  const lines = readme.split('\n');
  const start = lines.findIndex((l) => /^#{1,6}\s+Exit status\s*$/i.test(l));
  assert.ok(start >= 0, 'README.md has no "Exit status" heading');
  const rows: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (/^#{1,6}\s/.test(line)) break;
    if (!line.startsWith('|')) {
      if (rows.length > 0) break;
      continue;
    }
    rows.push(line);
  }
  // Header row, then the |---|---| separator, then the statuses.
  const cells = rows
    .slice(1)
    .filter((row) => !/^\|[\s:|-]+\|\s*$/.test(row))
    .map((row) => row.split('|')[1]!.replace(/`/g, '').trim());
  assert.ok(cells.length > 0, 'README.md: the exit status table has no rows');
  return cells;
}

function showMap<K, V>(map: ReadonlyMap<K, V>): string {
  return [...map].map(([k, v]) => `${String(k)}${v === '' ? '' : ` ${String(v)}`}`).join(', ');
}

describe('man/etrn.8', () => {
  test('renders with man -l: exit 0, no warnings, every section', (t) => {
    const { command, result, fallbackReason } = render();
    if (fallbackReason !== null) t.diagnostic(`rendered with groff instead of man: ${fallbackReason}`);
    assert.equal(result.error, undefined, describeRun(command, result));
    assert.equal(result.status, 0, describeRun(command, result));
    const warnings = result.stderr.split('\n').filter((l) => /warning/i.test(l));
    assert.deepEqual(warnings, [], `${command} warned:\n${result.stderr}`);
    const sections = renderedSections(result.stdout);
    const missing = REQUIRED_SECTIONS.filter((s) => !sections.has(s));
    assert.deepEqual(missing, [], `sections missing from the rendered page (found: ${[...sections.keys()].join(', ')})`);
  });

  test('rendered lines fit in the terminal width', () => {
    const { command, result } = render();
    const wide = result.stdout
      .split('\n')
      .map((line, i) => ({ line: i + 1, width: [...line].length, text: line }))
      .filter((l) => l.width > WIDTH);
    assert.deepEqual(wide, [], `${command}: lines wider than ${WIDTH} columns`);
  });

  test('groff -man -ww -z reports nothing', () => {
    for (const device of [[], ['-Tutf8', `-rLL=${WIDTH - 2}n`]]) {
      const args = ['-man', '-ww', '-z', ...device, pagePath];
      const r = run('groff', args);
      if (notFound(r)) assert.fail(GROFF_MISSING);
      assert.equal(r.error, undefined, describeRun(`groff ${args.join(' ')}`, r));
      assert.equal(r.status, 0, describeRun(`groff ${args.join(' ')}`, r));
      assert.equal(r.stderr, '', `groff ${args.join(' ')} warned:\n${r.stderr}`);
    }
  });

  test('every hyphen of an option or command is written \\- (renders as an ASCII hyphen)', () => {
    const unescaped = source
      .split('\n')
      .map((text, i) => ({ line: i + 1, text }))
      .filter(({ text }) => !/^\.\s*\\"/.test(text) && /(^|[^\\\w])-{1,2}[A-Za-z0-9]/.test(text));
    assert.deepEqual(unescaped, [], 'unescaped option-like hyphens in man/etrn.8');
  });

  test('.TH names the package version', () => {
    const th = source.split('\n').find((l) => l.startsWith('.TH '));
    assert.ok(th, 'man/etrn.8 has no .TH line');
    const args = roffArgs(th.slice(4));
    const { version } = JSON.parse(readFileSync(resolve(repoRoot, 'package.json'), 'utf8')) as { version: string };
    assert.equal(args[0], 'ETRN');
    assert.equal(args[1], '8');
    assert.equal(args[3], `etrn ${version}`, '.TH: the fourth argument should be "etrn <package.json version>"');
  });

  test('SYNOPSIS and --help show the same three forms', () => {
    const synopsis = (renderedSections(render().result.stdout).get('SYNOPSIS') ?? '').replace(/[ \t]+/g, ' ');
    const usage = helpText.split('\n\n')[0]!.replace(/[ \t]+/g, ' ');
    for (const form of SYNOPSIS_FORMS) {
      assert.ok(synopsis.includes(form), `SYNOPSIS lacks ${JSON.stringify(form)}:\n${synopsis}`);
      assert.ok(usage.includes(form), `helpText's usage lacks ${JSON.stringify(form)}:\n${usage}`);
    }
  });

  test('OPTIONS, optionTable and --help name the same options', () => {
    const page = new Set(pageOptions().keys());
    const help = new Set(collect(helpEntries(), 'helpText').keys());
    const table = new Set(tableOptions().keys());
    const diff = differences({ 'man/etrn.8 OPTIONS': page, 'optionTable (src/cli/args.ts)': table, 'helpText (--help)': help });
    assert.deepEqual(diff, [], `the option lists have drifted apart:\n${diff.join('\n')}`);
  });

  test('every option entry renders with ASCII hyphens', () => {
    const options = renderedSections(render().result.stdout).get('OPTIONS') ?? '';
    const starts = options.split('\n').map((l) => l.trimStart());
    const missing = sourceTags('OPTIONS').filter((tag) => !starts.some((l) => l.startsWith(tag)));
    assert.deepEqual(missing, [], 'OPTIONS entries not found verbatim in the rendered page');
  });

  test('the OPTIONS text mentions no option the command lacks', () => {
    const text = renderedSections(render().result.stdout).get('OPTIONS') ?? '';
    const table = tableOptions();
    const mentioned = new Set(text.match(/(?<![\w-])(--[a-z0-9][a-z0-9-]*|-[A-Za-z0-9])(?![\w-])/g) ?? []);
    const unknown = [...mentioned].filter((o) => !table.has(o)).sort();
    assert.deepEqual(unknown, [], 'the OPTIONS section mentions options that optionTable lacks');
  });

  test('the page and --help give each option the same argument, as optionTable expects', () => {
    const page = pageOptions();
    const help = collect(helpEntries(), 'helpText');
    const table = tableOptions();
    const problems: string[] = [];
    for (const [name, argument] of page) {
      const other = help.get(name);
      if (other !== undefined && other !== argument) {
        problems.push(`${name}: man page ${JSON.stringify(argument)}, --help ${JSON.stringify(other)}`);
      }
      const takesValue = table.get(name);
      // An optional, bracketed argument ("--defaults [FILE]") is a positional, not the option's value.
      const hasValue = argument !== '' && !argument.startsWith('[');
      if (takesValue !== undefined && takesValue !== hasValue) {
        problems.push(
          `${name}: man page ${hasValue ? `gives it an argument (${argument})` : 'gives it no argument'}, optionTable type is ${takesValue ? 'string' : 'boolean'}`,
        );
      }
    }
    assert.deepEqual(problems, [], `option arguments disagree:\n${problems.join('\n')}`);
  });

  test('EXIT STATUS lists the statuses of the README table', () => {
    const page = exitStatuses(sourceTags('EXIT STATUS'), 'man/etrn.8 EXIT STATUS');
    const table = exitStatuses(readmeExitCells(), 'README.md exit status table');
    assert.ok(page.size > 0, 'man/etrn.8: EXIT STATUS has no .TP entries');
    const sorted = (m: Map<number, string>): Map<number, string> => new Map([...m].sort(([a], [b]) => a - b));
    assert.deepEqual(
      sorted(page),
      sorted(table),
      `exit statuses differ:\n  man/etrn.8: ${showMap(sorted(page))}\n  README.md:  ${showMap(sorted(table))}`,
    );
  });
});
