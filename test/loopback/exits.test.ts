// Every way the etrn command ends, through the real binary: with --json one
// document on every exit (usage 64, configuration 78, an interrupt before
// any session), exit 74 when stdout cannot be written (issue 11 item 9);
// what the boot check saw on every address (item 7); "sent" means written,
// and the deadline during implicit TLS is a timeout (item 8).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { etrnBin, runEtrn } from '../helpers/cli.js';
import { closeAll, deadPort, responder, serve } from '../helpers/script-server.js';

after(closeAll);
const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

interface Doc {
  schemaVersion: number;
  ok: boolean;
  exitCode: number;
  error: { kind: string; message: string } | null;
  sessions: {
    error: { kind: string; message: string; phase: string; reply: unknown } | null;
    nodes: { node: string; ok: boolean; sent: boolean; code?: number }[];
  }[];
}

function failedStartDoc(stdout: string, exitCode: number, kind: string): Doc {
  const doc = JSON.parse(stdout) as Doc;
  assert.deepEqual(Object.keys(doc).sort(), ['error', 'exitCode', 'ok', 'schemaVersion', 'sessions']);
  assert.equal(doc.schemaVersion, 1);
  assert.equal(doc.ok, false);
  assert.equal(doc.exitCode, exitCode);
  assert.deepEqual(doc.sessions, []);
  assert.equal(doc.error?.kind, kind);
  assert.equal(typeof doc.error?.message, 'string');
  return doc;
}

describe('--json on every exit (issue 11 item 9)', () => {
  test('an unknown option: exit 64, one document with error.kind usage', async () => {
    const run = await runEtrn(['--json', '--no-such-option', 'mx.example', 'a.example']);
    assert.equal(run.code, 64);
    const doc = failedStartDoc(run.stdout, 64, 'usage');
    assert.match(doc.error!.message, /no-such-option/);
    assert.match(run.stderr, /^etrn: .*no-such-option/m, 'the message is on stderr too');
  });

  test('no server-host: exit 64, one document', async () => {
    const run = await runEtrn(['--json']);
    assert.equal(run.code, 64);
    failedStartDoc(run.stdout, 64, 'usage');
  });

  test('an invalid client-host: exit 64, one document, nothing sent', async () => {
    const s = await serve(responder());
    const run = await runEtrn(['--json', '--helo', 'client.example', `127.0.0.1:${s.port}`, 'bad_name!']);
    assert.equal(run.code, 64);
    const doc = failedStartDoc(run.stdout, 64, 'usage');
    assert.match(doc.error!.message, /bad_name!/);
    assert.equal(s.connections.length, 0);
  });

  test('a missing sendmail.cf for discovery: exit 78, one document with error.kind config', async () => {
    const run = await runEtrn(['--json', '--helo', 'client.example', '--sendmail-cf', '/nonexistent/sendmail.cf', '--boot-wait', '0', 'mx.example']);
    assert.equal(run.code, 78, run.stderr);
    const doc = failedStartDoc(run.stdout, 78, 'config');
    assert.match(doc.error!.message, /\/nonexistent\/sendmail\.cf/);
  });

  test('SIGINT while discovery waits for postconf: exit 130, one document with error.kind interrupted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'etrn-exits-'));
    dirs.push(dir);
    const marker = join(dir, 'started');
    writeFileSync(join(dir, 'postconf'), `#!/bin/sh\ntouch '${marker}'\nexec sleep 2\n`);
    chmodSync(join(dir, 'postconf'), 0o755);
    const s = await serve(responder());
    let child: import('node:child_process').ChildProcess | undefined;
    const running = runEtrn(['--json', '--mta', 'postfix', '--helo', 'client.example', '--boot-wait', '0', `127.0.0.1:${s.port}`], {
      env: { PATH: `${dir}:${process.env.PATH ?? ''}` },
      onSpawn: (c) => (child = c),
      killAfterMs: 30_000,
    });
    const deadline = Date.now() + 20_000;
    while (!existsSync(marker) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(existsSync(marker), 'postconf was started');
    child!.kill('SIGINT');
    const run = await running;
    assert.equal(run.code, 130, run.stderr);
    failedStartDoc(run.stdout, 130, 'interrupted');
    assert.equal(s.connections.length, 0, 'no session was started');
  });

  test('stdout that cannot be written (/dev/full): exit 74 with a message on stderr, never 0', { skip: !existsSync('/dev/full') && 'no /dev/full' }, async () => {
    const s = await serve(responder());
    const full = openSync('/dev/full', 'w');
    try {
      const child = spawn(process.execPath, [etrnBin, '--json', '--helo', 'client.example', `127.0.0.1:${s.port}`, 'a.example'], {
        stdio: ['ignore', full, 'pipe'],
      });
      let stderr = '';
      child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      assert.equal(code, 74, stderr);
      assert.match(stderr, /^etrn: cannot write to stdout: ENOSPC$/m);
      assert.deepEqual(s.received, ['EHLO client.example', 'ETRN a.example', 'QUIT'], 'the run itself happened');
    } finally {
      closeSync(full);
    }
  });
});

describe('the boot check reports what the local MTA did on every address (issue 11 item 7)', () => {
  const cases: [string, Parameters<typeof serve>[0], RegExp][] = [
    ['a 554 greeting', (c) => c.send('554 5.3.2 no service here'), /greeted with 554 5\.3\.2 no service here/],
    ['garbage', (c) => c.send('HTTP/1.1 400 Bad Request'), /not an SMTP reply: "HTTP\/1\.1 400 Bad Request"/],
    ['silence', async (c) => void (await c.closed()), /no greeting within [\d.]+ s/],
  ];
  for (const [what, script, reason] of cases) {
    test(`${what}: exit 75, the reason for 127.0.0.1 and for ::1 in the message`, async () => {
      const local = await serve(script);
      const s = await serve(responder());
      const run = await runEtrn(['-b', '-t', '0.3', '--boot-wait', '0.5', '--local-port', String(local.port), '--helo', 'client.example', `127.0.0.1:${s.port}`, 'a.example']);
      assert.equal(run.code, 75, run.stderr);
      assert.equal(s.connections.length, 0, 'server not contacted');
      const line = run.stderr.split('\n').find((l) => /did not answer with 220/.test(l)) ?? '';
      assert.match(line, new RegExp(`127\\.0\\.0\\.1:${local.port}: ${reason.source}`));
      assert.match(line, new RegExp(`\\[::1\\]:${local.port}: `), 'the IPv6 loopback attempt is reported too');
    });
  }
});

describe('"sent" means written; the deadline is a timeout everywhere (issue 11 item 8)', () => {
  test('the deadline during a --delay pause: the next node is "not sent", exit 75', async () => {
    const s = await serve(responder());
    for (const json of [false, true]) {
      const run = await runEtrn([...(json ? ['--json'] : []), '--delay', '5', '--deadline', '1', '--helo', 'client.example', `127.0.0.1:${s.port}`, 'a.example', 'b.example']);
      assert.equal(run.code, 75, run.stderr);
      if (json) {
        const doc = JSON.parse(run.stdout) as Doc;
        const [a, b] = doc.sessions[0]!.nodes;
        assert.deepEqual([a!.ok, a!.sent, b!.ok, b!.sent], [true, true, false, false]);
        assert.equal(doc.sessions[0]!.error?.kind, 'timeout');
        assert.equal(doc.sessions[0]!.error?.phase, 'etrn');
      } else {
        assert.match(run.stderr, /b\.example: not sent/);
        assert.doesNotMatch(run.stderr, /sent, no reply/);
        assert.match(run.stderr, /whole-run deadline of 1 s reached \(while waiting to send the next ETRN \(--delay\)\)/);
      }
    }
    assert.ok(!s.received.includes('ETRN b.example'));
  });

  test('--tls implicit cut short by the deadline is a timeout (75) in phase tls, not a TLS failure (69)', async () => {
    // Accepts and never starts the handshake.
    const s = await serve(async (c) => void (await c.closed()));
    const run = await runEtrn(['--json', '--tls', 'implicit', '--deadline', '1', '-t', '20', '--helo', 'client.example', `127.0.0.1:${s.port}`, 'a.example'], { killAfterMs: 30_000 });
    assert.equal(run.code, 75, run.stderr);
    const doc = JSON.parse(run.stdout) as Doc;
    assert.equal(doc.sessions[0]!.error?.kind, 'timeout');
    assert.equal(doc.sessions[0]!.error?.phase, 'tls');
    assert.match(doc.sessions[0]!.error!.message, /whole-run deadline of 1 s reached/);
    assert.ok(run.elapsedMs < 15_000, 'the deadline, not -t 20, ended it');
  });

  test('a connection refused on the only address is phase connect', async () => {
    const port = await deadPort();
    const run = await runEtrn(['--json', '--helo', 'client.example', `127.0.0.1:${port}`, 'a.example']);
    assert.equal(run.code, 75);
    const doc = JSON.parse(run.stdout) as Doc;
    assert.deepEqual(
      { ...doc.sessions[0]!.error, message: undefined },
      { kind: 'refused', message: undefined, phase: 'connect', reply: null },
    );
  });
});
