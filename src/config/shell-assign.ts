// A pure parser for POSIX shell assignment files such as /etc/default/sendmail
// (POSIX.1-2017 XCU §2.2 quoting, §2.6.2 parameter expansion, §2.9.1 simple
// commands): text in, variables and line-numbered warnings out.
//
// Why a parser and not `sh -c '. FILE; printf %s "$ETRN_HOSTS"'`: the Solaris
// start script sourced this file as root, but etrn may run as another user
// (an administrator, a timer, a NetworkManager hook), and sourcing would run
// whatever code the file holds with that user's rights. A parser runs nothing,
// gives the same answer on every host whatever the environment holds, and lets
// etrn refuse a malformed file before it sends anything. So it reads only
// assignments; what it cannot know without running code (command
// substitution, `${X:-y}` and other expansions, positional parameters) is
// refused with the file and line, and any other command is reported and
// skipped.
import { ConfigError } from '../errors.js';
import { cutMark } from '../escape.js';
import type { Diagnostic } from './diagnostic.js';

/** One variable's final value and the line of the assignment that set it. */
export interface ShellVariable {
  readonly value: string;
  readonly line: number;
}

export interface ShellAssignments {
  /** Variables in the order they were first assigned; a later assignment overrides the value and line. */
  readonly vars: Map<string, ShellVariable>;
  readonly warnings: Diagnostic[];
}

/** A piece of a word: literal text, `$NAME`/`${NAME}`, or a parameter we refuse to expand. */
type Part =
  | { readonly kind: 'text'; text: string; readonly quoted: boolean }
  | { readonly kind: 'var'; readonly name: string }
  | { readonly kind: 'special'; readonly text: string; readonly line: number };

interface Word {
  readonly parts: Part[];
  readonly line: number;
}

interface Command {
  readonly words: Word[];
  /** The first control operator (`|`, `&`, `(`, `)`), if any. */
  readonly operator: string | null;
  /** Redirections (`>/dev/null`, `2>&1`): performed by the shell, no effect on the variables. */
  readonly redirections: number;
  readonly line: number;
  readonly start: number;
  readonly end: number;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const UNDECIDABLE = 'the value could depend on it, and etrn cannot decide it as /bin/sh would (this file is parsed, not run)';
/**
 * Command words that make the value depend on running something: compound
 * commands and their reserved words (XCU §2.9.4), functions, and the
 * built-ins that run code, read input, or stop reading the file.
 */
const DECIDING_WORDS: Record<string, string> = Object.fromEntries([
  ...['if', 'then', 'else', 'elif', 'fi', 'case', 'esac', 'for', 'select', 'while', 'until', 'do', 'done', '{', '}', '!', '[[', 'function'].map(
    (w) => [w, `"${w}" is part of a compound command`],
  ),
  ['eval', '"eval" runs text as commands'],
  ['.', '"." reads another file'],
  ['source', '"source" reads another file'],
  ['read', '"read" sets variables from input'],
  ['declare', '"declare" sets variables (bash)'],
  ['typeset', '"typeset" sets variables'],
  ['local', '"local" sets variables in a function'],
  ['exit', '"exit" stops the file before the lines after it'],
  ['return', '"return" stops the file before the lines after it'],
  ['exec', '"exec" replaces the shell'],
]);
const ASSIGNMENT = /^([A-Za-z_][A-Za-z0-9_]*)=/;
const NAME_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9_]/;
const SPECIAL_PARAMETER = /[0-9@*#?$!-]/;
/** Characters that end an unquoted word (blanks, newline and the shell's operator characters). */
const WORD_END = new Set([' ', '\t', '\n', ';', '|', '&', '<', '>', '(', ')']);
const OPERATOR = new Set(['|', '&', '(', ')']);
/** Redirection operators, longest first (XCU §2.7); "<<" (a here-document) is refused. */
const REDIRECTION = /^(?:>>|>\||>&|<&|<>|>|<)/;
/** Why the outcome of a file with this operator cannot be known without running it. */
const DECIDING_OPERATORS: Record<string, string> = {
  '&&': 'runs what follows only if a command succeeds',
  '||': 'runs what follows only if a command fails',
};

/** The tokenizer: splits the text into commands of words, tracking line numbers. */
class Lexer {
  private pos = 0;
  private line = 1;

  constructor(
    private readonly text: string,
    private readonly file: string,
  ) {}

  done(): boolean {
    return this.pos >= this.text.length;
  }

  private fail(message: string, line = this.line): never {
    throw new ConfigError(message, this.file, line);
  }

  /** Reads one command: words up to an unquoted newline or ";". */
  command(): Command {
    const words: Word[] = [];
    let operator: string | null = null;
    let redirections = 0;
    let line: number | null = null;
    let start = -1;
    let end = this.pos;
    const text = this.text;
    while (this.pos < text.length) {
      const c = text[this.pos]!;
      if (c === ' ' || c === '\t') {
        this.pos++;
      } else if (c === '\\' && text[this.pos + 1] === '\n') {
        this.pos += 2;
        this.line++;
      } else if (c === '\n') {
        this.pos++;
        this.line++;
        break;
      } else if (c === ';') {
        this.pos++;
        break;
      } else if (c === '#') {
        // A "#" at the start of a word starts a comment up to the end of the line.
        const newline = text.indexOf('\n', this.pos);
        this.pos = newline < 0 ? text.length : newline;
      } else {
        if (start < 0) start = this.pos;
        line ??= this.line;
        const two = text.slice(this.pos, this.pos + 2);
        if (two in DECIDING_OPERATORS) {
          this.fail(`"${two}" ${DECIDING_OPERATORS[two]}: ${UNDECIDABLE}`);
        } else if (c === '<' || c === '>') {
          this.redirection();
          redirections++;
        } else if (c === '(' && words.length > 0 && /^\(\s*\)/.test(text.slice(this.pos))) {
          this.fail(`a function definition: ${UNDECIDABLE}`);
        } else if (OPERATOR.has(c)) {
          operator ??= c;
          this.pos++;
        } else {
          const word = this.word();
          const next = text[this.pos];
          // Digits right before "<" or ">" are the redirection's file descriptor (2>/dev/null).
          if ((next === '<' || next === '>') && /^\d+$/.test(literal(word) ?? '')) {
            this.redirection();
            redirections++;
          } else words.push(word);
        }
        end = this.pos;
      }
    }
    return { words, operator, redirections, line: line ?? this.line, start: start < 0 ? end : start, end };
  }

  /** A redirection operator and its target word, which are skipped (they set no variable). */
  private redirection(): void {
    const rest = this.text.slice(this.pos, this.pos + 3);
    if (rest.startsWith('<<')) {
      this.fail('a here-document ("<<") is not supported: its lines would be read as commands (this file is parsed, not run)');
    }
    const op = REDIRECTION.exec(rest)![0];
    this.pos += op.length;
    while (this.text[this.pos] === ' ' || this.text[this.pos] === '\t') this.pos++;
    const next = this.text[this.pos];
    if (next === undefined || WORD_END.has(next)) this.fail(`redirection "${op}" without a file`);
    this.word();
  }

  /** The source text of a command, for messages: its first line, shortened. */
  excerpt(command: Command): string {
    const first = this.text.slice(command.start, command.end).split('\n')[0]!.trim();
    return first.length > 60 ? `${first.slice(0, 57)}${cutMark(first.length - 57)}` : first;
  }

  private word(): Word {
    const parts: Part[] = [];
    const line = this.line;
    const add = (text: string, quoted: boolean): void => {
      const last = parts[parts.length - 1];
      if (last?.kind === 'text' && last.quoted === quoted) last.text += text;
      else parts.push({ kind: 'text', text, quoted });
    };
    const text = this.text;
    while (this.pos < text.length) {
      const c = text[this.pos]!;
      if (WORD_END.has(c)) break;
      if (c === '\\') {
        const next = text[this.pos + 1];
        if (next === undefined) {
          add('\\', true);
          this.pos++;
        } else if (next === '\n') {
          this.pos += 2;
          this.line++;
        } else {
          add(next, true);
          this.pos += 2;
        }
      } else if (c === "'") {
        add(this.singleQuoted(), true);
      } else if (c === '"') {
        this.doubleQuoted(parts, add);
      } else if (c === '`') {
        this.fail('command substitution with backquotes is not supported (this file is parsed, not run)');
      } else if (c === '$') {
        const part = this.dollar(false);
        if (part.kind === 'text') add(part.text, part.quoted);
        else parts.push(part);
      } else {
        add(c, false);
        this.pos++;
      }
    }
    return { parts, line };
  }

  /** '...': everything up to the next single quote, literally. */
  private singleQuoted(): string {
    const open = this.line;
    const close = this.text.indexOf("'", this.pos + 1);
    if (close < 0) this.fail('unterminated single quote', open);
    const body = this.text.slice(this.pos + 1, close);
    this.line += countNewlines(body);
    this.pos = close + 1;
    return body;
  }

  /** "...": backslash escapes only \" \\ \$ \` and newline; $NAME and ${NAME} expand. */
  private doubleQuoted(parts: Part[], add: (text: string, quoted: boolean) => void): void {
    const open = this.line;
    const text = this.text;
    this.pos++;
    // An empty "" still makes a (quoted, empty) part, so A="" is an assignment of "".
    add('', true);
    for (;;) {
      if (this.pos >= text.length) this.fail('unterminated double quote', open);
      const c = text[this.pos]!;
      if (c === '"') {
        this.pos++;
        return;
      }
      if (c === '\\') {
        const next = text[this.pos + 1];
        if (next === '\n') {
          this.pos += 2;
          this.line++;
        } else if (next === '"' || next === '\\' || next === '$' || next === '`') {
          add(next, true);
          this.pos += 2;
        } else {
          add('\\', true);
          this.pos++;
        }
      } else if (c === '`') {
        this.fail('command substitution with backquotes is not supported (this file is parsed, not run)');
      } else if (c === '$') {
        const part = this.dollar(true);
        if (part.kind === 'text') add(part.text, true);
        else parts.push(part);
      } else {
        if (c === '\n') this.line++;
        add(c, true);
        this.pos++;
      }
    }
  }

  /** A "$" and what follows it. */
  private dollar(inDoubleQuotes: boolean): Part {
    const text = this.text;
    const next = text[this.pos + 1];
    if (next === '(') {
      this.fail(
        text[this.pos + 2] === '('
          ? 'arithmetic expansion $((...)) is not supported (this file is parsed, not run)'
          : 'command substitution $(...) is not supported (this file is parsed, not run)',
      );
    }
    if (next === '{') {
      const close = text.indexOf('}', this.pos + 2);
      const inner = close < 0 ? '' : text.slice(this.pos + 2, close);
      if (close < 0 || inner.includes('\n')) this.fail('unterminated "${"');
      if (!NAME.test(inner)) {
        this.fail(`only \${NAME} expansions are supported, not \${${inner}} (this file is parsed, not run)`);
      }
      this.pos = close + 1;
      return { kind: 'var', name: inner };
    }
    if (next !== undefined && NAME_START.test(next)) {
      let end = this.pos + 2;
      while (end < text.length && NAME_CHAR.test(text[end]!)) end++;
      const name = text.slice(this.pos + 1, end);
      this.pos = end;
      return { kind: 'var', name };
    }
    if (next !== undefined && SPECIAL_PARAMETER.test(next)) {
      this.pos += 2;
      return { kind: 'special', text: `$${next}`, line: this.line };
    }
    if (!inDoubleQuotes && (next === "'" || next === '"')) {
      // bash reads $'...' as C-style escapes and $"..." as a translation; dash
      // reads both as a "$" and a quoted string. Refuse rather than guess.
      this.fail(`$${next}...${next} quoting is not supported (shells disagree on its meaning)`);
    }
    // A "$" followed by anything else (blank, "/", end of input...) is literal.
    this.pos++;
    return { kind: 'text', text: '$', quoted: inDoubleQuotes };
  }
}

function countNewlines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/**
 * The text as the lexer reads it. A byte-order mark at the start and CRLF
 * line ends (a file saved on Windows) are accepted, each with one warning:
 * /bin/sh would read the mark as part of the first word and keep every CR in
 * the values, so etrn's reading is the one the author meant, not the shell's.
 */
function plainText(text: string, file: string, warnings: Diagnostic[]): string {
  let plain = text;
  if (plain.startsWith('\uFEFF')) {
    plain = plain.slice(1);
    warnings.push({ file, line: 1, message: 'byte-order mark at the start of the file, ignored (/bin/sh would not ignore it)' });
  }
  const crlf = plain.indexOf('\r\n');
  if (crlf >= 0) {
    plain = plain.replace(/\r\n/g, '\n');
    const line = countNewlines(text.slice(0, crlf)) + 1;
    warnings.push({ file, line, message: 'CRLF (DOS) line ends, read as LF (/bin/sh would keep each CR in the values)' });
  }
  return plain;
}

/** Throws ConfigError for a command whose effect on the variables etrn cannot know without running it. */
function refuseDeciding(command: Command, file: string): void {
  // The command name is the first word that is not an assignment (`A=1 eval ...`).
  const word = command.words.find((w) => asAssignment(w) === null);
  const name = word === undefined ? null : literal(word);
  if (name !== null && Object.hasOwn(DECIDING_WORDS, name)) {
    throw new ConfigError(`${DECIDING_WORDS[name]}: ${UNDECIDABLE}`, file, command.line);
  }
}

/** The name and value parts of `NAME=value`, or null if the word is not an assignment. */
function asAssignment(word: Word): { name: string; value: Part[] } | null {
  const first = word.parts[0];
  if (first?.kind !== 'text' || first.quoted) return null;
  const match = ASSIGNMENT.exec(first.text);
  if (!match) return null;
  const rest = first.text.slice(match[0].length);
  const value: Part[] = rest === '' ? [] : [{ kind: 'text', text: rest, quoted: false }];
  return { name: match[1]!, value: [...value, ...word.parts.slice(1)] };
}

/** The word's text when it has no expansions at all (e.g. a command name), else null. */
function literal(word: Word): string | null {
  let text = '';
  for (const part of word.parts) {
    if (part.kind !== 'text') return null;
    text += part.text;
  }
  return text;
}

/** True for the given bare, unquoted word, such as `export`. */
function isBareWord(word: Word, text: string): boolean {
  const only = word.parts[0];
  return word.parts.length === 1 && only?.kind === 'text' && !only.quoted && only.text === text;
}

/**
 * Reads the variable assignments of a shell file that would be sourced:
 * `NAME=value`, `export NAME=value`, `export NAME` (no effect here),
 * `unset NAME`, several on a line separated by blanks or ";". Values are
 * expanded as the shell would (quote removal, `$NAME`/`${NAME}` from
 * assignments earlier in the same file, unset meaning ""), without field
 * splitting or pathname expansion, which do not apply to assignments. The process environment is never consulted.
 * Commands other than assignments are skipped with a warning. Throws
 * ConfigError naming the file and line for text whose value cannot be known
 * without running it, and for unterminated quotes (at the line they open).
 */
export function parseShellAssignments(text: string, file: string): ShellAssignments {
  const warnings: Diagnostic[] = [];
  const lexer = new Lexer(plainText(text, file, warnings), file);
  const reader = new Assignments(file, warnings);
  while (!lexer.done()) {
    const command = lexer.command();
    if (command.words.length === 0 && command.operator === null && command.redirections === 0) continue;
    refuseDeciding(command, file);
    const why = reader.take(command);
    if (why !== null) warnings.push({ file, line: command.line, message: `${why}, ignored: ${lexer.excerpt(command)}` });
  }
  return { vars: reader.vars, warnings };
}

/** The variables as the file's commands set them, one command at a time. */
class Assignments {
  readonly vars = new Map<string, ShellVariable>();

  constructor(
    private readonly file: string,
    private readonly warnings: Diagnostic[],
  ) {}

  /** Applies one command; returns why it was not taken (a warning), or null. */
  take(command: Command): string | null {
    const { words } = command;
    if (command.operator !== null) return `not a variable assignment (has "${command.operator}")`;
    if (words.length === 0) return 'a redirection alone sets no variable';
    const first = words[0]!;
    // `readonly NAME=value` assigns as `export NAME=value` does.
    if (isBareWord(first, 'export') || isBareWord(first, 'readonly')) return this.export(words.slice(1));
    if (isBareWord(first, 'unset')) return this.unset(words.slice(1));
    const assignments = words.map(asAssignment);
    if (assignments.every((a) => a !== null)) {
      // Left to right, so B in `A=1 B=$A` sees the new A, as in sh and bash.
      // With a redirection too (`A=x >/dev/null`) the shell still assigns in
      // the current shell (XCU §2.9.1: no command name); so does etrn.
      // Each is set after expanding, so A=$A:x sees the previous value of A.
      assignments.forEach((a, i) => this.vars.set(a!.name, this.value(words[i]!, a!.name, a!.value)));
      return null;
    }
    if (assignments[0] !== null) return "assignments before a command only set the command's environment (quote a value that has blanks)";
    return 'not a variable assignment';
  }

  /** `export`/`readonly` arguments: all expanded before any is set (`export A=1 B=$A` gives B the old A). */
  private export(args: readonly Word[]): string | null {
    const staged = new Map<string, ShellVariable>();
    let bad = false;
    for (const word of args) {
      const assignment = asAssignment(word);
      if (assignment) staged.set(assignment.name, this.value(word, assignment.name, assignment.value));
      else if (!NAME.test(literal(word) ?? '')) bad = true;
      // `export NAME` only marks NAME for child processes: nothing to do here.
    }
    for (const [name, variable] of staged) this.vars.set(name, variable);
    return bad ? 'export of something that is not a variable name' : null;
  }

  private unset(args: readonly Word[]): string | null {
    const names = args.map(literal);
    if (names[0] === '-v') names.shift();
    if (!names.every((n): n is string => n !== null && NAME.test(n))) return 'unset of something that is not a variable name';
    for (const n of names) this.vars.delete(n);
    return null;
  }

  /** The assigned value, expanded as the shell would, with its line. */
  private value(word: Word, name: string, parts: readonly Part[]): ShellVariable {
    const first = parts[0];
    if (first?.kind === 'text' && !first.quoted && first.text.startsWith('~')) {
      this.warnings.push({ file: this.file, line: word.line, message: `${name}: "~" is not expanded to a home directory` });
    }
    let value = '';
    for (const part of parts) {
      if (part.kind === 'text') value += part.text;
      else if (part.kind === 'var') value += this.vars.get(part.name)?.value ?? '';
      else {
        throw new ConfigError(
          `"${part.text}" is a positional or special parameter; only variables assigned earlier in this file are expanded`,
          this.file,
          part.line,
        );
      }
    }
    return { value, line: word.line };
  }
}
