// Command injection: a client-host, a server-host, the --helo name or a class
// w entry that tries to smuggle CR, LF, NUL or a second SMTP command must
// never put an extra line on the wire. From the command line such input is
// exit 64 with no connection made; from a class file it is skipped with a
// warning, and the other names still go out one ETRN each.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidNameError, etrn } from '../../src/index.js';
import { type ScriptServer, responder } from '../helpers/script-server.js';
import { TERMINAL_UNSAFE, assertNoStackTrace, closeAll, etrnCli, serve } from './harness.js';
import { quote } from '../../src/errors.js';

const dirs: string[] = [];
after(async () => {
  await closeAll();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** What an honest dialogue may contain: one EHLO/HELO, ETRNs with one safe argument each, one QUIT at the end. */
function assertNoSmuggledLine(s: ScriptServer): void {
  for (const line of s.received) {
    assert.match(line, /^(EHLO|HELO) [A-Za-z0-9.-]+$|^ETRN [@#]?[A-Za-z0-9._-]+$|^QUIT$/, `unexpected line ${JSON.stringify(line)}`);
  }
  for (const c of s.connections) {
    assert.equal(c.filter((l) => l === 'QUIT').length, 1, 'one QUIT per connection');
    assert.equal(c.at(-1), 'QUIT', 'QUIT comes last');
    assert.equal(c.filter((l) => /^(EHLO|HELO) /.test(l)).length, 1, 'one greeting command per connection');
  }
}

/** JSON-quoted, with C1 controls and line separators escaped too (for test names). */
const shown = quote;

const SMUGGLED = [
  'a.example\r\nQUIT',
  'a.example\nETRN evil.example',
  'a.example\rRSET',
  'a.example\r\n',
  'a.example QUIT',
  'a.example\tQUIT',
  '@a.example\r\nQUIT',
  '#queue\r\nQUIT',
  '#queue QUIT',
  'a.example\u2028QUIT',
  'a.example\u0085QUIT',
  '\u001b[2Ja.example',
];

describe('smuggling from the command line: exit 64, no connection', { concurrency: 4 }, () => {
  for (const bad of SMUGGLED) {
    test(`client-host ${shown(bad)}`, async () => {
      const s = await serve(responder());
      const run = await etrnCli(['--helo', 'client.example', '--', `127.0.0.1:${s.port}`, 'good.example', bad]);
      assert.equal(run.code, 64, run.stderr);
      assert.match(run.stderr, /^etrn: invalid name "/);
      assert.ok(run.stderr.includes(quote(bad)), `the message names the input: ${run.stderr}`);
      assert.doesNotMatch(run.stderr, TERMINAL_UNSAFE, 'the bad input is shown escaped');
      assertNoStackTrace(run.stderr);
      assert.equal(s.connections.length, 0, 'nothing was sent');
    });
  }

  for (const [label, server] of [
    ['port then CRLF QUIT', (p: number) => `127.0.0.1:${p}\r\nQUIT`],
    ['CRLF QUIT in the host', (p: number) => `mx.example\r\nQUIT:${p}`],
    ['LF before the port', (p: number) => `127.0.0.1\n:${p}`],
    ['space and a command', (p: number) => `127.0.0.1:${p} QUIT`],
  ] as const) {
    test(`server-host with ${label}`, async () => {
      const s = await serve(responder());
      const run = await etrnCli(['--helo', 'client.example', '--', server(s.port), 'a.example']);
      assert.equal(run.code, 64, run.stderr);
      assert.match(run.stderr, /^etrn: invalid name "/);
      assert.doesNotMatch(run.stderr, TERMINAL_UNSAFE);
      assertNoStackTrace(run.stderr);
      assert.equal(s.connections.length, 0, 'nothing was sent');
    });
  }

  for (const helo of ['client.example\r\nETRN evil.example', 'client.example\nQUIT', 'client.example ETRN x', 'client\texample', 'client.example\r']) {
    test(`--helo ${shown(helo)}`, async () => {
      const s = await serve(responder());
      const run = await etrnCli(['--helo', helo, `127.0.0.1:${s.port}`, 'a.example']);
      assert.equal(run.code, 64, run.stderr);
      assert.ok(run.stderr.includes(quote(helo)), `the message names the input: ${run.stderr}`);
      assert.doesNotMatch(run.stderr, TERMINAL_UNSAFE);
      assertNoStackTrace(run.stderr);
      assert.equal(s.connections.length, 0, 'nothing was sent');
    });
  }
});

describe('smuggling a NUL through the library (argv cannot carry one)', { concurrency: true }, () => {
  for (const [label, options] of [
    ['a node', { nodes: ['a.example\u0000QUIT'] }],
    ['the EHLO name', { heloName: 'client.example\u0000QUIT' }],
    ['a server-host', { server: 'mx.example\u0000QUIT' }],
    ['a node of one target among several', { targets: [{ server: 'mx.example', nodes: ['ok.example'] }, { server: 'mx2.example', nodes: ['b.example\u0000'] }] }],
  ] as const) {
    test(`a NUL in ${label} is refused before anything is sent`, async () => {
      const s = await serve(responder());
      const base = { heloName: 'client.example', bootCheck: false, timeoutMs: 1000, server: `127.0.0.1:${s.port}`, nodes: ['a.example'] };
      const run = etrn({ ...base, ...options });
      await assert.rejects(run, (error: unknown) => {
        assert.ok(error instanceof InvalidNameError, String(error));
        assert.match(error.message, /\\x00/, 'the NUL is shown escaped');
        return true;
      });
      assert.equal(s.connections.length, 0, 'nothing was sent');
    });
  }
});

describe('smuggling through sendmail class w', () => {
  test('CR, LF, NUL and a second command in a class file and on a Cw line: no extra line on the wire', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'etrn-hostile-'));
    dirs.push(dir);
    const classFile = join(dir, 'x');
    await writeFile(
      classFile,
      Buffer.from(
        [
          'a.example\r\nQUIT\r\n',
          'b.example\rETRN evil.example\r\n',
          'c.example\u0000QUIT\n',
          'd.example\u0007\n',
          'e.example\r\n\r\nDATA\r\n',
        ].join(''),
        'latin1',
      ),
    );
    const cf = join(dir, 'sendmail.cf');
    await writeFile(cf, `# hostile class w\nCw f.example\rQUIT g.example\u0000RSET\nFw${classFile}\n`, 'latin1');
    const local = await serve(responder());
    const s = await serve(responder());
    const run = await etrnCli([
      '--json',
      '--helo',
      'client.example',
      '--local-port',
      String(local.port),
      '--per-session',
      '100',
      '--sendmail-cf',
      cf,
      '-t',
      '2',
      `127.0.0.1:${s.port}`,
    ]);
    assertNoStackTrace(run.stderr);
    assert.equal(run.code, 0, run.stderr);
    assert.doesNotMatch(run.stderr, TERMINAL_UNSAFE, 'warnings show bad names escaped');
    assertNoSmuggledLine(s);
    assert.equal(s.connections.length, 1);
    const etrns = s.received.filter((l) => l.startsWith('ETRN ')).map((l) => l.slice(5));
    // The local host name comes first; then class w in file order.
    assert.ok(etrns.includes('a.example') && etrns.includes('e.example'), JSON.stringify(etrns));
    for (const smuggled of ['c.example\u0000QUIT', 'd.example\u0007', 'g.example\u0000RSET']) {
      assert.ok(!etrns.includes(smuggled), `${JSON.stringify(smuggled)} must not be sent`);
    }
    assert.ok(!s.received.some((l) => /^(RSET|DATA)$/.test(l)), 'no second command');
    assert.match(run.stderr, /warning: .*c\.example\\x00QUIT/, 'the skipped name is reported, escaped');
  });
});
