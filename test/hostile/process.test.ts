// The etrn process under outside pressure while a server stalls or a reader
// goes away: SIGINT and SIGTERM must end the run promptly with 130 / 143,
// say QUIT and still report what was learnt; a closed stdout must not crash
// it; and a server that dies for some sessions must not hide the others.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { etrnBin, repoRoot } from '../helpers/cli.js';
import { type ScriptServer, responder } from '../helpers/script-server.js';
import { assertNoStackTrace, closeAll, etrnCli, eventually, parseDoc, serve } from './harness.js';

after(closeAll);

const NODES = ['a.example', 'b.example', 'c.example'];

/** Answers the first ETRN, then holds the second unanswered for ever (until the client leaves). */
async function stallingServer(): Promise<{ server: ScriptServer; stalled: Promise<void> }> {
  let reached!: () => void;
  const stalled = new Promise<void>((r) => (reached = r));
  const server = await serve(async (conn) => {
    conn.send('220 mx.test ESMTP');
    for (;;) {
      const line = await conn.readLine();
      if (line === null) return;
      if (line.startsWith('EHLO')) conn.send('250-mx.test', '250 ETRN');
      else if (line === 'ETRN a.example') conn.send('250 2.0.0 Queuing for node a.example started');
      else if (line.startsWith('ETRN')) reached(); // and never answer
      else if (line === 'QUIT') {
        conn.send('221 2.0.0 Bye');
        conn.socket.end();
        return;
      }
    }
  });
  return { server, stalled };
}

describe('signals while the server stalls on ETRN', { concurrency: true }, () => {
  for (const [signal, status] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    for (const json of [false, true]) {
      test(`${signal}${json ? ' with --json' : ''}: exit ${status} promptly, QUIT sent, partial results reported`, async () => {
        const { server, stalled } = await stallingServer();
        let child: ChildProcess | undefined;
        let signalledAt = 0;
        const running = etrnCli([...(json ? ['--json'] : []), '--helo', 'client.example', '-t', '20', `127.0.0.1:${server.port}`, ...NODES], {
          killAfterMs: 15_000,
          onSpawn: (c) => (child = c),
        });
        await stalled;
        signalledAt = performance.now();
        child!.kill(signal);
        const run = await running;
        const afterSignal = performance.now() - signalledAt;

        assert.equal(run.signal, null, `killed by ${run.signal}`);
        assert.equal(run.code, status, run.stderr);
        assert.ok(afterSignal < 10_000, `exited ${Math.round(afterSignal)} ms after ${signal}`);
        assertNoStackTrace(run.stderr);
        await eventually(() => server.received.includes('QUIT'), 2000, 'QUIT at the server');
        assert.deepEqual(server.received, ['EHLO client.example', 'ETRN a.example', 'ETRN b.example', 'QUIT']);
        if (json) {
          const doc = parseDoc(run.stdout, status, NODES);
          const [a, b, c] = doc.sessions[0]!.nodes;
          assert.deepEqual([a!.code, a!.ok], [250, true]);
          assert.deepEqual(b, { node: 'b.example', ok: false, sent: true }, 'b.example was written, never answered');
          assert.deepEqual(c, { node: 'c.example', ok: false, sent: false });
          assert.equal(doc.sessions[0]!.error?.kind, 'interrupted');
        } else {
          assert.match(run.stdout, /a\.example: accepted: 250 2\.0\.0 Queuing for node a\.example started/);
          assert.match(run.stderr, /^etrn: 127\.0\.0\.1:\d+: interrupted/m);
          assert.match(run.stderr, /b\.example: sent, no reply/);
        }
      });
    }
  }

  test('SIGTERM while the greeting never comes: exit 143 well before the deadline', async () => {
    let connected!: () => void;
    const reached = new Promise<void>((r) => (connected = r));
    const server = await serve(async (conn) => {
      connected();
      await conn.closed();
    });
    let child: ChildProcess | undefined;
    const running = etrnCli(['--json', '--helo', 'client.example', '-t', '20', `127.0.0.1:${server.port}`, 'a.example'], {
      killAfterMs: 15_000,
      onSpawn: (c) => (child = c),
    });
    await reached;
    await new Promise((r) => setTimeout(r, 100));
    child!.kill('SIGTERM');
    const run = await running;
    assert.equal(run.code, 143, run.stderr);
    assert.ok(run.elapsedMs < 15_000, `took ${Math.round(run.elapsedMs)} ms (-t 20)`);
    assertNoStackTrace(run.stderr);
    const doc = parseDoc(run.stdout, 143, ['a.example']);
    assert.equal(doc.sessions[0]!.error?.kind, 'interrupted');
  });
});

/** Runs a shell pipeline from the repository root; resolves with etrn's own status (PIPESTATUS[0]) and stderr. */
function pipeline(command: string): Promise<{ status: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, ETRN_BIN: etrnBin };
    delete env.NODE_EXTRA_CA_CERTS;
    const child = spawn('bash', ['-c', `${command}; echo "etrn-status=\${PIPESTATUS[0]}" >&2`], {
      cwd: repoRoot,
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(killer);
      const m = /etrn-status=(\d+)\n$/.exec(stderr);
      if (!m) return reject(new Error(`no status in ${JSON.stringify(stderr)}`));
      resolve({ status: Number(m[1]), stderr: stderr.slice(0, m.index) });
    });
  });
}

const many = (n: number): string[] => Array.from({ length: n }, (_, i) => `n${i}.example`);

describe('a reader that goes away', { concurrency: true }, () => {
  test('etrn ... | head -c 1 with 40 nodes in 5 sessions: every ETRN sent, exit 0, no EPIPE', async () => {
    const s = await serve(responder());
    const nodes = many(40);
    const run = await pipeline(`node "$ETRN_BIN" --helo client.example -t 5 127.0.0.1:${s.port} ${nodes.join(' ')} | head -c 1`);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stderr, '');
    assert.equal(s.received.filter((l) => l.startsWith('ETRN')).length, 40);
    assert.equal(s.connections.length, 5);
  });

  test('etrn --json ... | true (reader gone before the first byte): exit 0, nothing on stderr', async () => {
    const s = await serve(responder());
    const run = await pipeline(`node "$ETRN_BIN" --json --helo client.example -t 5 127.0.0.1:${s.port} ${many(12).join(' ')} | true`);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stderr, '');
    assert.equal(s.received.filter((l) => l.startsWith('ETRN')).length, 12);
  });

  test('a --dry-run --json document far larger than a pipe buffer into head -c 1: exit 0, no EPIPE', async () => {
    // 900 nodes (under the limit of 1000 per server) of 60 octets: over 100 KB of JSON.
    const nodes = Array.from({ length: 900 }, (_, i) => `n${i}.${'x'.repeat(45)}.example`);
    const run = await pipeline(`node "$ETRN_BIN" -n --json --helo client.example mx.example.net ${nodes.join(' ')} | head -c 1`);
    assert.equal(run.status, 0, run.stderr);
    assertNoStackTrace(run.stderr);
    assert.doesNotMatch(run.stderr, /EPIPE/);
  });

  test('stdout and stderr pipes destroyed by the parent while refusals are reported: no crash', async () => {
    const s = await serve(responder({ etrn: (arg) => [`550 5.7.1 no ${arg}`] }));
    const run = await etrnCli(['--helo', 'client.example', '-t', '5', `127.0.0.1:${s.port}`, ...many(10)], {
      onSpawn: (child) => {
        child.stdout!.destroy();
        child.stderr!.destroy();
      },
    });
    assert.equal(run.signal, null);
    assert.equal(run.code, 69, 'the refusals still decide the status');
    assert.equal(s.received.filter((l) => l.startsWith('ETRN')).length, 10);
  });
});

describe('some sessions of a server die', () => {
  test('--per-session 1: the second connection is reset, every node still reported once', async () => {
    const good = responder();
    const s = await serve((conn, index) => {
      if (index !== 1) return good(conn, index);
      conn.socket.resetAndDestroy();
    });
    const run = await etrnCli(['--json', '-j', '1', '--per-session', '1', '--helo', 'client.example', '-t', '2', `127.0.0.1:${s.port}`, ...NODES]);
    assert.equal(run.code, 75, run.stderr);
    assertNoStackTrace(run.stderr);
    const doc = parseDoc(run.stdout, 75, NODES);
    assert.equal(doc.sessions.length, 3);
    assert.deepEqual(
      doc.sessions.map((x) => [x.nodes[0]!.node, x.nodes[0]!.ok, x.error?.kind ?? null]),
      [
        ['a.example', true, null],
        ['b.example', false, 'refused'],
        ['c.example', true, null],
      ],
    );
  });
});
