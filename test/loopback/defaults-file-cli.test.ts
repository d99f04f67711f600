// The defaults file is never silently misread, through the real command:
// every line the parser does not take is a warning on stderr naming file and
// line (not under -q); a compound command, &&, ||, eval, "." or a function
// that could change the value is exit 78 naming the line, with no connection
// made to a listening server; an assignment with a redirection is taken.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runEtrn } from '../helpers/cli.js';
import { closeAll, responder, serve, type ScriptServer } from '../helpers/script-server.js';
import { tempDir } from '../helpers/tmp.js';

after(closeAll);

const dir = tempDir('defaults-cli');
let counter = 0;

function defaultsFile(text: string): string {
  const path = join(dir, `sendmail-${counter++}`);
  writeFileSync(path, text);
  return path;
}

/** etrn --defaults FILE against `s`, which also answers the boot check. */
function runDefaults(s: ScriptServer, file: string, ...extra: string[]) {
  return runEtrn(['-p', String(s.port), '--local-port', String(s.port), '--helo', 'me.example', ...extra, '--defaults', file]);
}

const etrns = (s: ScriptServer): string[] => s.received.filter((l) => l.startsWith('ETRN'));

describe('lines the parser does not take are printed as warnings', () => {
  const text = '\uFEFF# defaults\r\nMODE=daemon\r\necho hi\r\nX=1 ls /tmp\r\nETRN_HOSTS="127.0.0.1:a.example"\r\n';

  test('byte-order mark, CRLF, a command and an assignment prefix: one warning each, file and line; the run goes on', async () => {
    const s = await serve(responder());
    const file = defaultsFile(text);
    const run = await runDefaults(s, file);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(etrns(s), ['ETRN a.example']);
    const warnings = run.stderr.split('\n').filter((l) => l.startsWith('etrn: warning: '));
    assert.deepEqual(
      warnings.map((l) => /^etrn: warning: (.*?):(\d+): /.exec(l)?.slice(1)),
      [
        [file, '1'],
        [file, '1'],
        [file, '3'],
        [file, '4'],
      ],
      run.stderr,
    );
    assert.match(warnings[0]!, /byte-order mark/);
    assert.match(warnings[1]!, /CRLF \(DOS\) line ends, read as LF/);
    assert.match(warnings[2]!, /not a variable assignment, ignored: echo hi/);
    assert.match(warnings[3]!, /assignments before a command only set the command's environment/);
  });

  test('-q hides the warnings (they still go to syslog with --syslog)', async () => {
    const s = await serve(responder());
    const run = await runDefaults(s, defaultsFile(text), '-q');
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, '');
    assert.deepEqual(etrns(s), ['ETRN a.example']);
  });

  test('with --json the warnings are still on stderr (the document has no warnings field)', async () => {
    const s = await serve(responder());
    const run = await runDefaults(s, defaultsFile(text), '--json');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /etrn: warning: .*:3: not a variable assignment, ignored: echo hi/);
    assert.equal((JSON.parse(run.stdout) as { ok: boolean }).ok, true);
  });
});

describe('a construct whose outcome could change the value: 78 naming the line, no connection', () => {
  const cases: ReadonlyArray<[string, string, number]> = [
    ['if', 'ETRN_HOSTS=127.0.0.1:a.example\nif [ -r /etc/x ]; then\n  ETRN_HOSTS=127.0.0.1:b.example\nfi\n', 2],
    ['case', 'case "$X" in\n  *) ETRN_HOSTS=127.0.0.1:a.example ;;\nesac\n', 1],
    ['for', 'for h in 127.0.0.1; do ETRN_HOSTS=$h:a.example; done\n', 1],
    ['while', 'ETRN_HOSTS=127.0.0.1:a.example\nwhile false; do ETRN_HOSTS=; done\n', 2],
    ['until', 'until true; do ETRN_HOSTS=; done\nETRN_HOSTS=127.0.0.1:a.example\n', 1],
    ['a function', 'set_hosts() { ETRN_HOSTS=127.0.0.1:b.example; }\nETRN_HOSTS=127.0.0.1:a.example\nset_hosts\n', 1],
    ['&&', 'ETRN_HOSTS=127.0.0.1:a.example\n[ -r /etc/default/local ] && . /etc/default/local\n', 2],
    ['||', 'ETRN_HOSTS=127.0.0.1:a.example\n\n\ntest -n "$X" || ETRN_HOSTS=\n', 4],
    ['eval', 'eval ETRN_HOSTS=127.0.0.1:a.example\n', 1],
    ['"."', 'ETRN_HOSTS=127.0.0.1:a.example\n. /etc/default/sendmail.local\n', 2],
    ['source', 'source /etc/default/sendmail.local\nETRN_HOSTS=127.0.0.1:a.example\n', 1],
  ];
  for (const [what, text, line] of cases) {
    test(what, async () => {
      const s = await serve(responder());
      const file = defaultsFile(text);
      const run = await runDefaults(s, file);
      assert.equal(run.code, 78, run.stderr);
      assert.match(run.stderr, new RegExp(`^etrn: ${file}:${line}: .*etrn cannot decide it as /bin/sh would`, 'm'));
      assert.equal(s.connections.length, 0, 'no connection: neither the boot check nor the server');
    });
  }

  test('--json: one document with a config error', async () => {
    const s = await serve(responder());
    const run = await runDefaults(s, defaultsFile('if true; then ETRN_HOSTS=127.0.0.1:a.example; fi\n'), '--json');
    assert.equal(run.code, 78, run.stderr);
    const doc = JSON.parse(run.stdout) as { error: { kind: string; message: string }; sessions: unknown[] };
    assert.equal(doc.error.kind, 'config');
    assert.match(doc.error.message, /:1: "if" is part of a compound command/);
    assert.deepEqual(doc.sessions, []);
    assert.equal(s.connections.length, 0);
  });
});

test('an assignment with a redirection is taken, as the shell takes it', async () => {
  const s = await serve(responder());
  const run = await runDefaults(s, defaultsFile('ETRN_HOSTS=127.0.0.1:a.example >/dev/null 2>&1\n'));
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stderr, '');
  assert.deepEqual(etrns(s), ['ETRN a.example']);
});
