// Unit tests for the shell assignment file parser (src/config/shell-assign.ts).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseShellAssignments } from '../../src/config/shell-assign.js';
import { ConfigError } from '../../src/errors.js';

const FILE = '/etc/default/sendmail';
const parse = (...lines: string[]) => parseShellAssignments(lines.join('\n'), FILE);
/** The variables of `lines` as a plain object of values. */
const values = (...lines: string[]): Record<string, string> =>
  Object.fromEntries([...parse(...lines).vars].map(([name, v]) => [name, v.value]));
const value = (name: string, ...lines: string[]): string | undefined => parse(...lines).vars.get(name)?.value;

/** Asserts that parsing `text` throws ConfigError at `line`, with a message matching `pattern`. */
function assertRefused(text: string, line: number, pattern: RegExp): void {
  assert.throws(
    () => parseShellAssignments(text, FILE),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
      assert.equal(error.code, 'ERR_CONFIG');
      assert.equal(error.file, FILE);
      assert.equal(error.line, line);
      assert.ok(error.message.startsWith(`${FILE}:${line}: `), error.message);
      assert.match(error.message, pattern);
      return true;
    },
  );
}

describe('parseShellAssignments: assignments', () => {
  test('NAME=value gives the value and its line number', () => {
    const got = parse('# comment', '', 'ETRN_HOSTS=s1:c1');
    assert.deepEqual([...got.vars], [['ETRN_HOSTS', { value: 's1:c1', line: 3 }]]);
    assert.deepEqual(got.warnings, []);
  });

  test('an empty value, "" and \'\' all give the empty string', () => {
    assert.deepEqual(values('A=', 'B=""', "C=''"), { A: '', B: '', C: '' });
  });

  test('export NAME=value assigns; export NAME alone changes nothing and warns about nothing', () => {
    const got = parse('export A=1', 'export B', 'export C=3 D E=5');
    assert.deepEqual(Object.fromEntries([...got.vars].map(([k, v]) => [k, v.value])), { A: '1', C: '3', E: '5' });
    assert.equal(got.vars.has('B'), false);
    assert.deepEqual(got.warnings, []);
  });

  test('several assignments on one line, separated by blanks or ";"', () => {
    assert.deepEqual(values('A=1 B=2\tC=3', 'D=4;E=5 ; F=6;'), { A: '1', B: '2', C: '3', D: '4', E: '5', F: '6' });
  });

  test('Debian-style lines ending in ";" are read', () => {
    assert.deepEqual(values('DAEMON_MODE="Daemon";', 'QUEUE_MODE="${DAEMON_MODE}";'), {
      DAEMON_MODE: 'Daemon',
      QUEUE_MODE: 'Daemon',
    });
  });

  test('a later assignment overrides an earlier one, value and line', () => {
    const got = parse('A=first', 'B=x', 'A=second');
    assert.deepEqual(got.vars.get('A'), { value: 'second', line: 3 });
  });

  test('unset removes a variable; later expansions see it as empty', () => {
    assert.deepEqual(values('A=1 B=2', 'unset A', 'C="[$A]"'), { B: '2', C: '[]' });
    assert.deepEqual(values('A=1', 'unset -v A'), {});
  });

  test('a name must start with a letter or "_"; "1A=x" is a command, not an assignment', () => {
    const got = parse('_A1=x', '1A=x');
    assert.deepEqual([...got.vars.keys()], ['_A1']);
    assert.equal(got.warnings.length, 1);
    assert.equal(got.warnings[0]?.line, 2);
  });

  test('a quoted or escaped name is not an assignment', () => {
    const got = parse('"A"=1', '\\B=2');
    assert.equal(got.vars.size, 0);
    assert.deepEqual(got.warnings.map((w) => w.line), [1, 2]);
  });
});

describe('parseShellAssignments: comments and blank lines', () => {
  test('full-line, indented and trailing comments are skipped; line numbers still count them', () => {
    const got = parse('# header', '   # indented', '', '\t', 'A=1 # trailing', '#B=2', 'C=3');
    assert.deepEqual([...got.vars], [
      ['A', { value: '1', line: 5 }],
      ['C', { value: '3', line: 7 }],
    ]);
    assert.deepEqual(got.warnings, []);
  });

  test('"#" inside a word or inside quotes is not a comment', () => {
    assert.deepEqual(values('A=x#y', 'B="#not" C=\'#no\' D=\\#esc'), { A: 'x#y', B: '#not', C: '#no', D: '#esc' });
  });

  test('a backslash at the end of a comment does not continue it', () => {
    assert.deepEqual(values('# comment \\', 'A=1'), { A: '1' });
  });

  test('CRLF line endings and a byte-order mark are accepted', () => {
    const got = parseShellAssignments('\uFEFFA=1\r\nB="x y"\r\n', FILE);
    assert.deepEqual([...got.vars], [
      ['A', { value: '1', line: 1 }],
      ['B', { value: 'x y', line: 2 }],
    ]);
  });
});

describe('parseShellAssignments: unquoted values', () => {
  test('a backslash quotes the next character', () => {
    assert.equal(value('A', 'A=a\\ b\\$c\\"d\\\\e\\\'f'), 'a b$c"d\\e\'f');
  });

  test('backslash-newline joins lines inside a value', () => {
    const got = parse('A=ab\\', 'cd', 'B=2');
    assert.deepEqual(got.vars.get('A'), { value: 'abcd', line: 1 });
    assert.deepEqual(got.vars.get('B'), { value: '2', line: 3 });
  });

  test('backslash-newline between assignments continues the command', () => {
    const got = parse('A=1 \\', '  B=2');
    assert.deepEqual(got.vars.get('A'), { value: '1', line: 1 });
    assert.deepEqual(got.vars.get('B'), { value: '2', line: 2 });
    assert.deepEqual(got.warnings, []);
  });

  test('no pathname expansion or field splitting in assignments', () => {
    assert.deepEqual(values('A=*', 'B="x  y"', 'C=$B', 'D=[a]?'), { A: '*', B: 'x  y', C: 'x  y', D: '[a]?' });
  });

  test('a "$" not followed by a name is literal', () => {
    assert.deepEqual(values('A=$', 'B=a$/b', 'C="cost $ 5"', 'D=x$'), { A: '$', B: 'a$/b', C: 'cost $ 5', D: 'x$' });
  });

  test('a leading "~" is kept literally, with a warning', () => {
    const got = parse('A=1', 'HOMEDIR=~/mail');
    assert.equal(got.vars.get('HOMEDIR')?.value, '~/mail');
    assert.equal(got.warnings.length, 1);
    assert.equal(got.warnings[0]?.line, 2);
    assert.match(got.warnings[0]?.message ?? '', /HOMEDIR: "~" is not expanded/);
    assert.deepEqual(parse('A="~/x"').warnings, []);
  });
});

describe('parseShellAssignments: single quotes', () => {
  test('everything between single quotes is literal', () => {
    assert.equal(value('A', "A='$B \\n \"x\" ${C} $(date) `date` \\'"), '$B \\n "x" ${C} $(date) `date` \\');
  });

  test('a single-quoted value may span lines; the line is where it starts', () => {
    const got = parse("A='one", 'two', "three'", 'B=4');
    assert.deepEqual(got.vars.get('A'), { value: 'one\ntwo\nthree', line: 1 });
    assert.deepEqual(got.vars.get('B'), { value: '4', line: 4 });
  });
});

describe('parseShellAssignments: double quotes', () => {
  test('\\" \\\\ \\$ and \\` are escapes; other backslashes stay', () => {
    assert.equal(value('A', 'A="a\\"b\\\\c\\$d\\`e\\xf\\n"'), 'a"b\\c$d`e\\xf\\n');
  });

  test('backslash-newline inside double quotes is removed', () => {
    const got = parse('A="one \\', 'two"', 'B=3');
    assert.deepEqual(got.vars.get('A'), { value: 'one two', line: 1 });
    assert.deepEqual(got.vars.get('B'), { value: '3', line: 3 });
  });

  test('a double-quoted value may span lines, keeping the newlines', () => {
    const got = parse('ETRN_HOSTS="s1:c1', '  s2:c2"', 'X=1');
    assert.deepEqual(got.vars.get('ETRN_HOSTS'), { value: 's1:c1\n  s2:c2', line: 1 });
    assert.deepEqual(got.vars.get('X'), { value: '1', line: 3 });
  });

  test('single quotes inside double quotes are literal', () => {
    assert.equal(value('A', 'B=1', 'A="it\'s $B"'), "it's 1");
  });
});

describe('parseShellAssignments: concatenation', () => {
  test('A="x"\'y\'z gives xyz', () => {
    assert.equal(value('A', 'A="x"\'y\'z'), 'xyz');
  });

  test('quoted, unquoted and expanded parts join into one value', () => {
    assert.equal(value('A', 'B=1', 'A=p"$B"\'$B\'\\$B${B}q$B'), 'p1$B$B1q1');
  });
});

describe('parseShellAssignments: expansion', () => {
  test('$NAME and ${NAME} expand from earlier assignments, unquoted and in double quotes', () => {
    assert.deepEqual(values('H=mx.example.net', 'A=$H B=${H} C="$H" D="${H}"'), {
      H: 'mx.example.net',
      A: 'mx.example.net',
      B: 'mx.example.net',
      C: 'mx.example.net',
      D: 'mx.example.net',
    });
  });

  test('${NAME} delimits the name; $NAMEsuffix is another variable', () => {
    assert.deepEqual(values('N=x', 'A=${N}suffix', 'B=$Nsuffix', 'C=$N.d'), { N: 'x', A: 'xsuffix', B: '', C: 'x.d' });
  });

  test('an unset variable expands to the empty string', () => {
    assert.equal(value('A', 'A="[$NOPE][${NOPE}]"'), '[][]');
  });

  test('only variables assigned EARLIER count', () => {
    assert.equal(value('A', 'A=$B', 'B=1'), '');
  });

  test('the process environment is never consulted', () => {
    process.env.ETRN_TEST_SHELL_ASSIGN = 'leaked';
    try {
      assert.deepEqual(values('A=$ETRN_TEST_SHELL_ASSIGN', 'B="$HOME${PATH}"'), { A: '', B: '' });
    } finally {
      delete process.env.ETRN_TEST_SHELL_ASSIGN;
    }
  });

  test('A=$A:more sees the previous value of A', () => {
    assert.equal(value('A', 'A=one', 'A=$A:two', 'A="$A:three"'), 'one:two:three');
  });

  test('in one command, assignments take effect left to right', () => {
    assert.deepEqual(values('A=1 B=$A A=2 C=$A'), { A: '2', B: '1', C: '2' });
  });

  test('export NAME=value expands like a plain assignment', () => {
    assert.equal(value('B', 'A=x', 'export B="$A y"'), 'x y');
  });
});

describe('parseShellAssignments: refused with the file and line', () => {
  test('an unterminated single quote, at the line where it opened', () => {
    assertRefused("A=1\nB=2\nC='abc\nD=4\nE=5\n", 3, /unterminated single quote/);
  });

  test('an unterminated double quote, at the line where it opened', () => {
    assertRefused('A=1\n\nETRN_HOSTS="s1:c1\n s2:c2\n', 3, /unterminated double quote/);
  });

  test('command substitution $(...), unquoted and in double quotes', () => {
    assertRefused('A=1\nB=$(hostname)', 2, /command substitution \$\(\.\.\.\)/);
    assertRefused('# x\n\nB="x $(id -u)"', 3, /command substitution/);
  });

  test('command substitution with backquotes, unquoted and in double quotes', () => {
    assertRefused('B=`hostname`', 1, /backquotes/);
    assertRefused('A=1\nB="`hostname`"', 2, /backquotes/);
  });

  test('command substitution is refused even on a line that is not an assignment', () => {
    assertRefused('A=1\necho $(touch /tmp/x)', 2, /command substitution/);
  });

  test('arithmetic expansion $((...))', () => {
    assertRefused('A=$((1+2))', 1, /arithmetic expansion/);
  });

  test('${...} forms other than ${NAME}', () => {
    assertRefused('A=1\nB=${X:-y}', 2, /only \$\{NAME\} expansions are supported, not \$\{X:-y\}/);
    assertRefused('B="${#A}"', 1, /not \$\{#A\}/);
    assertRefused('B=${A%.*}', 1, /not \$\{A%\.\*\}/);
    assertRefused('B=${}', 1, /not \$\{\}/);
    assertRefused('B=${1}', 1, /not \$\{1\}/);
  });

  test('an unterminated ${', () => {
    assertRefused('A=1\nB=${A\nC=2}', 2, /unterminated "\$\{"/);
  });

  test('positional and special parameters', () => {
    assertRefused('A=1\nB=$1', 2, /"\$1" is a positional or special parameter/);
    assertRefused('B="$@"', 1, /"\$@"/);
    assertRefused('B=$$', 1, /"\$\$"/);
  });

  test("bash's $'...' and $\"...\" quoting", () => {
    assertRefused("A=$'x\\ty'", 1, /\$'\.\.\.' quoting is not supported/);
    assertRefused('A=$"x"', 1, /quoting is not supported/);
  });

  test('a refused construct inside single quotes or a comment is harmless', () => {
    assert.deepEqual(values("A='$(x) `y` ${z:-w} $1'", '# B=$(date) `x` ${y:-z}'), { A: '$(x) `y` ${z:-w} $1' });
  });
});

describe('parseShellAssignments: other commands are warnings', () => {
  test('a command is reported with its line and skipped', () => {
    const got = parse('A=1', 'echo hi', 'B=2');
    assert.deepEqual(values('A=1', 'echo hi', 'B=2'), { A: '1', B: '2' });
    assert.equal(got.warnings.length, 1);
    assert.equal(got.warnings[0]?.file, FILE);
    assert.equal(got.warnings[0]?.line, 2);
    assert.match(got.warnings[0]?.message ?? '', /not a variable assignment, ignored: echo hi/);
  });


  test('an unquoted value with a blank is a command with an assignment prefix: nothing is set', () => {
    const got = parse('ETRN_HOSTS=s1:c1 s2:c2');
    assert.equal(got.vars.has('ETRN_HOSTS'), false);
    assert.equal(got.warnings.length, 1);
    assert.match(got.warnings[0]?.message ?? '', /quote a value that has blanks/);
  });

  test('a pipeline or a background command is skipped whole (it runs in a subshell)', () => {
    const got = parse('A=1 | cat', 'B=2 &', '( C=3 )', 'D=4');
    assert.deepEqual([...got.vars.keys()], ['D']);
    assert.deepEqual(got.warnings.map((w) => w.line), [1, 2, 3]);
    assert.match(got.warnings[0]?.message ?? '', /has "\|"/);
    assert.match(got.warnings[1]?.message ?? '', /has "&"/);
  });

  test('a redirection alone is reported', () => {
    const got = parse('>/tmp/x', 'A=1');
    assert.deepEqual(got.warnings.map((w) => w.line), [1]);
    assert.match(got.warnings[0]?.message ?? '', /a redirection alone sets no variable/);
  });

  test('"export" of something that is not a name is reported', () => {
    const got = parse('export 1x A=1');
    assert.equal(got.vars.get('A')?.value, '1');
    assert.equal(got.warnings.length, 1);
    assert.match(got.warnings[0]?.message ?? '', /export of something that is not a variable name/);
  });

  test('a long command is shortened in the warning', () => {
    const got = parse(`echo ${'x'.repeat(200)}`);
    assert.ok((got.warnings[0]?.message.length ?? 0) < 120, got.warnings[0]?.message);
    assert.match(got.warnings[0]?.message ?? '', /\.\.\. \(\+\d+ more\)$/);
  });
});

describe('parseShellAssignments: what could change the value is a configuration error', () => {
  const cases: ReadonlyArray<[string, string, number, RegExp]> = [
    ['if', 'A=1\nif [ -f /etc/x ]; then\n  ETRN_HOSTS=s:c\nfi', 2, /"if" is part of a compound command/],
    ['case', 'case $A in\n x) ETRN_HOSTS=s;;\nesac', 1, /"case" is part of a compound command/],
    ['for', 'for h in a b; do ETRN_HOSTS=$h; done', 1, /"for"/],
    ['while', 'while false; do A=1; done', 1, /"while"/],
    ['until', 'until true; do A=1; done', 1, /"until"/],
    ['a brace group', 'A=0\n{ A=1; }', 2, /"\{" is part of a compound command/],
    ['"!"', '! A=1', 1, /"!"/],
    ['a function definition', 'A=1\nf() { A=2; }\nf', 2, /a function definition/],
    ['a function definition with a blank', 'f () { A=2; }', 1, /a function definition/],
    ['the function keyword', 'function f { A=2; }', 1, /"function"/],
    ['&&', 'A=1\n\ntrue && ETRN_HOSTS=s', 3, /"&&" runs what follows only if a command succeeds/],
    ['||', 'test -f /x || ETRN_HOSTS=s', 1, /"\|\|" runs what follows only if a command fails/],
    ['&& after an assignment', 'A=1 && B=2', 1, /"&&"/],
    ['eval', 'eval "ETRN_HOSTS=s"', 1, /"eval" runs text as commands/],
    ['eval after an assignment prefix', 'X=1 eval B=2', 1, /"eval"/],
    ['"."', 'A=1\n. /etc/default/local', 2, /"\." reads another file/],
    ['source', 'source /etc/default/local', 1, /"source" reads another file/],
    ['read', 'read ETRN_HOSTS </etc/x', 1, /"read" sets variables from input/],
    ['exit', 'A=1\nexit 0\nETRN_HOSTS=s', 2, /"exit" stops the file/],
    ['return', 'return', 1, /"return"/],
    ['exec', 'exec /bin/true', 1, /"exec" replaces the shell/],
    ['declare', 'declare A=1', 1, /"declare"/],
    ['a here-document', 'A=1 <<EOF\nB=2\nEOF', 1, /here-document/],
    ['a redirection without a file', 'A=1 >', 1, /redirection ">" without a file/],
  ];
  for (const [what, text, line, pattern] of cases) {
    test(`${what}: refused at line ${line}`, () => assertRefused(text, line, pattern));
  }

  test('the same words quoted or as arguments are not commands', () => {
    assert.deepEqual(values('A=if B="eval" C=\'.\'', 'D="a && b" E=\'x || y\''), { A: 'if', B: 'eval', C: '.', D: 'a && b', E: 'x || y' });
    assert.deepEqual(parse('echo if then fi').warnings.map((w) => w.line), [1]);
  });
});

describe('parseShellAssignments: redirections, CRLF and a byte-order mark', () => {
  test('an assignment with a redirection is taken, as the shell takes it', () => {
    const got = parse('ETRN_HOSTS=x >/dev/null', 'B=2 2>&1', 'C=3 >>/tmp/log 2>/dev/null', 'D=4 </dev/null');
    assert.deepEqual(
      Object.fromEntries([...got.vars].map(([n, v]) => [n, v.value])),
      { ETRN_HOSTS: 'x', B: '2', C: '3', D: '4' },
    );
    assert.deepEqual(got.warnings, []);
  });

  test('CRLF line ends are read as LF, with one warning at the first', () => {
    const got = parseShellAssignments('# x\nA=1\r\nETRN_HOSTS="s:c"\r\n', FILE);
    assert.equal(got.vars.get('A')?.value, '1');
    assert.deepEqual(got.vars.get('ETRN_HOSTS'), { value: 's:c', line: 3 });
    assert.equal(got.warnings.length, 1);
    assert.equal(got.warnings[0]?.line, 2);
    assert.match(got.warnings[0]?.message ?? '', /CRLF \(DOS\) line ends, read as LF/);
  });

  test('a byte-order mark is dropped, with a warning at line 1', () => {
    const got = parseShellAssignments('\uFEFFETRN_HOSTS=s:c\n', FILE);
    assert.deepEqual(got.vars.get('ETRN_HOSTS'), { value: 's:c', line: 1 });
    assert.equal(got.warnings.length, 1);
    assert.equal(got.warnings[0]?.line, 1);
    assert.match(got.warnings[0]?.message ?? '', /byte-order mark/);
  });

  test('both, and no warning for a plain file', () => {
    assert.equal(parseShellAssignments('\uFEFFA=1\r\n', FILE).warnings.length, 2);
    assert.deepEqual(parseShellAssignments('A=1\n', FILE).warnings, []);
  });
});

describe('parseShellAssignments: real files', () => {
  test('a Solaris-style /etc/default/sendmail', () => {
    const text = [
      '#',
      '# Copyright 2004 Sun Microsystems, Inc.  All rights reserved.',
      '# Use is subject to license terms.',
      '#',
      '# The following variables are used to customize the running of sendmail',
      '# by the svc:/network/smtp:sendmail start method.',
      '#',
      'MODE=-bd',
      'QUEUEINTERVAL=15m',
      'QUEUEOPTION=p',
      'OPTIONS=',
      'CLIENTOPTIONS=',
      'CLIENTQUEUEINTERVAL=15m',
      '#',
      '# Ask our providers to flush the queues they hold for us (see etrn(1M)).',
      'ETRN_HOSTS="s1.domain.com:clnt.domain.com s2.domain.com:clnt.domain.com"',
      '',
    ].join('\n');
    const got = parseShellAssignments(text, FILE);
    assert.deepEqual(got.vars.get('ETRN_HOSTS'), { value: 's1.domain.com:clnt.domain.com s2.domain.com:clnt.domain.com', line: 16 });
    assert.equal(got.vars.get('MODE')?.value, '-bd');
    assert.equal(got.vars.get('OPTIONS')?.value, '');
    assert.deepEqual(got.warnings, []);
  });

  test('a Debian-like /etc/default/sendmail in the style of sendmail.conf', () => {
    const text = [
      '# /etc/default/sendmail',
      '#',
      '# Default settings for sendmail, read by /etc/init.d/sendmail and by',
      '# etrn --defaults. This file is sourced by /bin/sh: keep it to assignments.',
      '#------------------------------------------------------------',
      '# Daemon mode, one of Daemon, None, Inetd or Cron.',
      'DAEMON_NETMODE="Static";',
      'DAEMON_NETIF="eth0";',
      'DAEMON_MODE="Daemon";',
      'DAEMON_PARMS="";',
      '#------------------------------------------------------------',
      '# Queue mode (defaults to the daemon mode).',
      'QUEUE_MODE="${DAEMON_MODE}";',
      'QUEUE_INTERVAL="10m";',
      "QUEUE_PARMS='-O QueueSortOrder=host';",
      'MSP_PARMS="";',
      '#------------------------------------------------------------',
      '# Hosts to prod when we come up (etrn(8)):',
      '#   server[:client[,client...]] ...',
      '#ETRN_HOSTS="mx.provider.example"',
      'ETRN_CLIENT=client1.example.org',
      'ETRN_HOSTS="mx1.provider.example:${ETRN_CLIENT},@lists.example.org \\',
      '            mx2.provider.example:$ETRN_CLIENT"',
      'export ETRN_HOSTS',
      '',
      '# Local overrides.',
      '[ -r /etc/default/sendmail.local ] && . /etc/default/sendmail.local',
      'MISC_PARMS="";',
      '',
    ].join('\n');
    // The local file sourced at line 27 could set ETRN_HOSTS: that is decided by running, so refused.
    assertRefused(text, 27, /"&&" runs what follows only if a command succeeds/);
    const without = text.replace('[ -r /etc/default/sendmail.local ] && . /etc/default/sendmail.local', 'echo local');
    const got = parseShellAssignments(without, FILE);
    assert.deepEqual(got.vars.get('ETRN_HOSTS'), {
      value: 'mx1.provider.example:client1.example.org,@lists.example.org             mx2.provider.example:client1.example.org',
      line: 22,
    });
    assert.equal(got.vars.get('QUEUE_MODE')?.value, 'Daemon');
    assert.equal(got.vars.get('QUEUE_PARMS')?.value, '-O QueueSortOrder=host');
    assert.equal(got.vars.get('MISC_PARMS')?.value, '');
    assert.equal(got.warnings.length, 1);
    assert.equal(got.warnings[0]?.line, 27);
    assert.match(got.warnings[0]?.message ?? '', /not a variable assignment, ignored: echo local/);
  });
});

describe('parseShellAssignments: agrees with /bin/sh on what it accepts', () => {
  // Each sample is sourced by a real shell with an empty environment, and the
  // variables are compared: set or unset, and the value. The samples avoid
  // what the parser reports as a warning (it cannot know what a command does).
  const samples: readonly string[] = [
    'A=1 B=$A C="${B}x" D=\'$A\'',
    'A="x"\'y\'z\\ w',
    'A="multi\nline"\nB=2',
    'A=b\\\nc\nB=$A',
    'A=1; B=2 # c\nexport C=3 D\nexport E',
    'A="a\\"b\\\\c\\$d\\`e\\x\\n"',
    'A=1; unset A; B=$A',
    'A=x#y #z\nB="#q" C=\'#r\' D=\\#s',
    'A=a\\ b\\$c\\"d\\\\e\\\'f',
    "A='one\ntwo\nthree'\nB=4",
    'A="one \\\ntwo"\nB=3',
    'B=1\nA=p"$B"\'$B\'\\$B${B}q$B',
    'N=x\nA=${N}suffix\nB=$Nsuffix\nC=$N.d',
    'A=one\nA=$A:two\nA="$A:three"',
    'A=1 B=$A A=2 C=$A',
    'A=*\nB="x  y"\nC=$B\nD=[a]?',
    'A=$\nB=a$/b\nC="cost $ 5"\nD=x$',
    'A="[$NOPE][${NOPE}]"',
    'A=$B\nB=1',
    "A='$(x) `y` ${z:-w} $1'\n# B=$(date) `x` ${y:-z}",
    'DAEMON_MODE="Daemon";\nQUEUE_MODE="${DAEMON_MODE}";\nQUEUE_PARMS=\'-O QueueSortOrder=host\';',
    'ETRN_CLIENT=c1.example\nETRN_HOSTS="mx1.example:${ETRN_CLIENT},@l.example \\\n   mx2.example:$ETRN_CLIENT"\nexport ETRN_HOSTS',
    'A=\nB=""\nC=\'\'',
    'A=1 \\\n  B=2',
    'export A=1 B C=3',
    'A=1 >/dev/null\nB=2 2>/dev/null\nC=3 >>/dev/null 2>&1\nD=4 >| /dev/null',
    'A=x 1>&2\nB=$A </dev/null',
    'readonly R=1 S="$R 2"',
    'A=0\nexport A=1 B=$A',
  ];
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'etrn-shell-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** The values /bin/sh gives `names` after sourcing `text` (undefined: unset). */
  function sourced(text: string, names: readonly string[]): Map<string, string | undefined> {
    const path = join(dir, 'file');
    writeFileSync(path, text);
    const script = [
      'f=$1; shift',
      '. "$f" >/dev/null 2>&1',
      'for n in "$@"; do',
      '  eval "s=\\${$n+set} v=\\${$n-}"',
      "  printf '%s\\n%s\\n%s\\0' \"$n\" \"$s\" \"$v\"",
      'done',
    ].join('\n');
    const run = spawnSync('/bin/sh', ['-c', script, 'sh', path, ...names], { env: {}, encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const got = new Map<string, string | undefined>();
    for (const record of run.stdout.split('\0').slice(0, -1)) {
      const [n, isSet, ...rest] = record.split('\n');
      got.set(n!, isSet === 'set' ? rest.join('\n') : undefined);
    }
    return got;
  }

  for (const text of samples) {
    test(`same values as /bin/sh for ${JSON.stringify(text).slice(0, 60)}`, () => {
      const parsed = parseShellAssignments(text, FILE);
      assert.deepEqual(parsed.warnings, []);
      // Every name that appears before "=" anywhere, so variables the shell
      // sets and the parser does not (or the other way round) show up too.
      const names = [...new Set([...text.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=/g)].map((m) => m[1]!))];
      const shell = sourced(text, names);
      const ours = new Map(names.map((n) => [n, parsed.vars.get(n)?.value]));
      assert.deepEqual(ours, shell);
    });
  }
});
