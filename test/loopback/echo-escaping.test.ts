// What etrn echoes is bounded and safe (src/escape.ts), through the real
// command: a character of each class that can rewrite a terminal or hide text
// (C0/C1 controls, DEL, bidi overrides and isolates, zero-width characters,
// the byte-order mark, line separators, non-ASCII spaces), put in a
// client-host, an ETRN_HOSTS group, a defaults file, a server reply, the -v
// transcript and a certificate name, is never printed raw; quoted input and
// every printed line are cut with a mark; --json keeps the text and escapes it.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { once } from 'node:events';
import { MAX_LINE, hasUnsafe } from '../../src/escape.js';
import { type CliRun, runEtrn } from '../helpers/cli.js';
import { closeAll, responder, serve } from '../helpers/script-server.js';
import { tempDir } from '../helpers/tmp.js';

after(closeAll);

/** One character of each class, and how etrn shows it. */
const CLASSES: ReadonlyArray<readonly [string, string, string]> = [
  ['ESC (C0)', '\u001b', '\\x1B'],
  ['DEL', '\u007f', '\\x7F'],
  ['CSI (C1)', '\u009b', '\\x9B'],
  ['right-to-left override', '\u202e', '\\u{202E}'],
  ['right-to-left isolate', '\u2067', '\\u{2067}'],
  ['zero-width space', '\u200b', '\\u{200B}'],
  ['byte-order mark', '\ufeff', '\\u{FEFF}'],
  ['line separator', '\u2028', '\\u{2028}'],
  ['no-break space', '\u00a0', '\\xA0'],
];

/** Every stderr and stdout line is at most MAX_LINE characters and holds no raw unsafe character. */
function assertSafeOutput(run: CliRun): void {
  for (const [stream, text] of [['stderr', run.stderr], ['stdout', run.stdout]] as const) {
    for (const line of text.split('\n')) {
      assert.ok(Array.from(line).length <= MAX_LINE, `${stream} line of ${Array.from(line).length} characters: ${line.slice(0, 80)}`);
      assert.equal(hasUnsafe(line), false, `raw unsafe character on ${stream}: ${JSON.stringify(line)}`);
    }
  }
}

const HELO = ['--helo', 'me.example'];

describe('a client-host with a character of each class is refused (64), shown escaped, nothing sent', () => {
  for (const [what, char, shown] of CLASSES) {
    test(what, async () => {
      const s = await serve(responder());
      const run = await runEtrn([...HELO, `127.0.0.1:${s.port}`, `a${char}b.example`]);
      assert.equal(run.code, 64, run.stderr);
      assert.ok(run.stderr.includes(`"a${shown}b.example"`), run.stderr);
      assertSafeOutput(run);
      assert.equal(s.connections.length, 0, 'no connection is made');
    });
  }
});

describe('an ETRN_HOSTS group with a character of each class: 64 (--etrn-hosts), 78 (--defaults), escaped', () => {
  const dir = tempDir('echo-defaults');
  for (const [what, char, shown] of CLASSES) {
    test(what, async () => {
      const s = await serve(responder());
      const spec = `127.0.0.1:c${char}.example`;
      const inline = await runEtrn([...HELO, '-p', String(s.port), '--etrn-hosts', spec]);
      assert.equal(inline.code, 64, inline.stderr);
      assert.ok(inline.stderr.includes(shown), inline.stderr);
      assertSafeOutput(inline);
      const file = join(dir, `defaults-${what.replace(/\W/g, '')}`);
      writeFileSync(file, `# test\nETRN_HOSTS="${spec}"\n`);
      const fromFile = await runEtrn([...HELO, '-p', String(s.port), '--defaults', file]);
      assert.equal(fromFile.code, 78, fromFile.stderr);
      assert.ok(fromFile.stderr.includes(`${file}:2: `), fromFile.stderr);
      assert.ok(fromFile.stderr.includes(shown), fromFile.stderr);
      assertSafeOutput(fromFile);
      assert.equal(s.connections.length, 0, 'no connection is made');
    });
  }
});

describe('server replies and the -v transcript', () => {
  const nodes = CLASSES.map((_, i) => `n${i}.example`);
  const replyFor = (arg: string): string => {
    const [, char] = CLASSES[Number(/^n(\d+)/.exec(arg)![1])]!;
    return `459 4.7.1 <${arg}>: not${char}here`;
  };

  test('each class in a refusal is escaped on stderr and in the transcript (both directions)', async () => {
    const s = await serve(responder({ etrn: (arg) => [replyFor(arg)], greeting: ['220 mx.test\u202e\u001b[2J ESMTP'] }));
    const run = await runEtrn(['-v', '--per-session', '100', ...HELO, `127.0.0.1:${s.port}`, ...nodes]);
    assert.equal(run.code, 69, run.stderr);
    assertSafeOutput(run);
    CLASSES.forEach(([what, , shown], i) => {
      // C0 and C1 controls in replies are cleaned to "?" by the reply parser; the rest are escaped.
      const expected = /^\\x(?:[0189]|7F)/.test(shown) ? '?' : shown;
      assert.ok(run.stderr.includes(`ETRN n${i}.example refused: 459 4.7.1 <n${i}.example>: not${expected}here`), `${what}: ${run.stderr}`);
      assert.ok(run.stderr.includes(`<- 459 4.7.1 <n${i}.example>: not${expected}here`), `${what} in the transcript`);
    });
    assert.match(run.stderr, /<- 220 mx\.test\\u\{202E\}\?\[2J ESMTP/);
    assert.match(run.stderr, /-> ETRN n0\.example/);
  });

  test('--json keeps the reply text (JSON escapes it) and the document shows nothing raw', async () => {
    const s = await serve(responder({ etrn: (arg) => [replyFor(arg)] }));
    const run = await runEtrn(['--json', '--per-session', '100', ...HELO, `127.0.0.1:${s.port}`, ...nodes]);
    assert.equal(run.code, 69, run.stderr);
    assertSafeOutput({ ...run, stdout: '' });
    assert.equal(hasUnsafe(run.stdout.replace(/\n/g, '')), false, 'no raw unsafe character in the document');
    const doc = JSON.parse(run.stdout) as { sessions: { nodes: { node: string; text: string }[] }[] };
    const texts = doc.sessions[0]!.nodes.map((n) => n.text);
    assert.equal(texts[3], '<n3.example>: not\u202ehere', 'the parsed text is the text received');
    assert.equal(texts[5], '<n5.example>: not\u200bhere');
  });

  test('a 2000-character reply line: the error line and the transcript line are cut with a mark', async () => {
    const long = `459 4.7.1 ${'x'.repeat(2000)}`;
    const s = await serve(responder({ etrn: () => [long] }));
    const run = await runEtrn(['-v', ...HELO, `127.0.0.1:${s.port}`, 'a.example']);
    assert.equal(run.code, 69, run.stderr);
    assertSafeOutput(run);
    const lines = run.stderr.split('\n');
    assert.ok(lines.some((l) => /^etrn: .*ETRN a\.example refused: 459 4\.7\.1 x+\.\.\. \(\+\d+ more\)$/.test(l)), run.stderr);
    assert.ok(lines.some((l) => /^<- 459 4\.7\.1 x+\.\.\. \(\+\d+ more\)$/.test(l)), run.stderr);
  });
});

describe('long input is quoted short, with a mark', () => {
  test('a 5000-character client-host is quoted at 64 characters and the line stays short', async () => {
    const s = await serve(responder());
    const run = await runEtrn([...HELO, `127.0.0.1:${s.port}`, `${'a'.repeat(5000)}\u202e`]);
    assert.equal(run.code, 64, run.stderr);
    assertSafeOutput(run);
    assert.ok(run.stderr.includes(`"${'a'.repeat(64)}"... (+4937 more)`), run.stderr);
    assert.equal(s.connections.length, 0);
  });

  test('a 3000-character ETRN_HOSTS group is quoted short', async () => {
    const spec = `127.0.0.1:${Array.from({ length: 300 }, (_, i) => `c${i}.example`).join(',')},bad!`;
    const run = await runEtrn([...HELO, '--etrn-hosts', spec]);
    assert.equal(run.code, 64, run.stderr);
    assertSafeOutput(run);
    assert.match(run.stderr, /ETRN_HOSTS group "127\.0\.0\.1:c0\.example,[^"]*"\.\.\. \(\+\d+ more\)/);
  });
});

test('a certificate name with ESC and a bidi override is escaped in the TLS error', async () => {
  const dir = tempDir('echo-cert');
  const f = (n: string): string => join(dir, n);
  writeFileSync(f('req.cnf'), '[req]\ndistinguished_name=dn\nprompt=no\nutf8=yes\nstring_mask=utf8only\n[dn]\nCN=evil\u202emoc.test\u001b[2J\n');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('k.pem'), '-out', f('c.pem'), '-days', '2', '-config', f('req.cnf')], { stdio: 'pipe' });
  const { readFileSync } = await import('node:fs');
  const server = createTlsServer({ key: readFileSync(f('k.pem')), cert: readFileSync(f('c.pem')) }, (socket) => {
    socket.on('error', () => undefined);
    socket.end('220 mx.test ESMTP\r\n');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const { port } = server.address() as { port: number };
    const run = await runEtrn(['-v', ...HELO, '--tls', 'implicit', '--tls-ca', f('c.pem'), '--tls-servername', 'mx.test', `127.0.0.1:${port}`, 'a.example']);
    assert.equal(run.code, 69, run.stderr);
    assertSafeOutput(run);
    assert.ok(run.stderr.includes('evil\\u{202E}moc.test\\x1B[2J'), run.stderr);
  } finally {
    server.close();
  }
});
