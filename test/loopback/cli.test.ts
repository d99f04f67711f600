// The etrn command against scripted loopback servers: each reply code, the
// EHLO/HELO paths, 421, timeouts, refused connections, the boot check, JSON
// and dry-run output.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { runEtrn } from '../helpers/cli.js';
import { type ScriptServer, closeAll, deadPort, responder, serve } from '../helpers/script-server.js';

after(closeAll);

const base = (s: ScriptServer): string[] => ['--helo', 'client.example', '-t', '2', `${s.host}:${s.port}`];

test('each node gets one ETRN in order, duplicates removed, then QUIT, and exit 0', async () => {
  const s = await serve(responder());
  const run = await runEtrn([...base(s), 'a.example', 'B.example', 'b.example', 'c.example.']);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(s.received, ['EHLO client.example', 'ETRN a.example', 'ETRN B.example', 'ETRN c.example', 'QUIT']);
  assert.match(run.stdout, /a\.example: accepted: 250 2\.0\.0 Queuing for node a\.example started/);
  assert.equal(run.stdout.trim().split('\n').length, 3);
  assert.equal(run.stderr, '');
});

for (const code of [250, 251, 252, 253]) {
  test(`ETRN reply ${code} counts as accepted`, async () => {
    const s = await serve(responder({ etrn: () => [`${code} ok`] }));
    const run = await runEtrn(['--json', ...base(s), 'a.example']);
    assert.equal(run.code, 0);
    const doc = JSON.parse(run.stdout);
    assert.equal(doc.sessions[0].nodes[0].code, code);
    assert.equal(doc.sessions[0].nodes[0].ok, true);
  });
}

for (const [code, exit] of [
  [458, 75],
  [450, 75],
  [459, 69],
  [500, 69],
  [501, 69],
  [502, 69],
  [504, 69],
  [550, 69],
] as const) {
  test(`ETRN reply ${code} gives exit ${exit} and the next node is still asked`, async () => {
    const s = await serve(responder({ etrn: (arg) => (arg === 'bad.example' ? [`${code} 4.0.0 no ${arg}`] : ['250 OK']) }));
    const run = await runEtrn(['--json', ...base(s), 'bad.example', 'good.example']);
    assert.equal(run.code, exit);
    const doc = JSON.parse(run.stdout);
    assert.equal(doc.ok, false);
    assert.equal(doc.exitCode, exit);
    assert.deepEqual(
      doc.sessions[0].nodes.map((n: { node: string; code: number; ok: boolean }) => [n.node, n.code, n.ok]),
      [
        ['bad.example', code, false],
        ['good.example', 250, true],
      ],
    );
    assert.ok(s.received.includes('ETRN good.example'));
  });
}

test('a refused node is one line on stderr naming server, node and reply', async () => {
  const s = await serve(responder({ etrn: (arg) => [`459 4.7.1 <${arg}>: service unavailable`] }));
  const run = await runEtrn([...base(s), 'a.example']);
  assert.equal(run.code, 69);
  assert.equal(run.stderr, `etrn: 127.0.0.1:${s.port}: ETRN a.example refused: 459 4.7.1 <a.example>: service unavailable\n`);
});

test('a server whose EHLO reply does not list ETRN gets no ETRN: exit 69', async () => {
  const s = await serve(responder({ ehlo: ['250-mx.test', '250 PIPELINING'] }));
  const run = await runEtrn([...base(s), 'a.example']);
  assert.equal(run.code, 69);
  assert.ok(!s.received.some((l) => l.startsWith('ETRN')));
  assert.ok(s.received.includes('QUIT'));
  assert.match(run.stderr, /does not offer ETRN/);
  assert.match(run.stderr, /a\.example: not sent/);
});

test('--force sends ETRN to a server that does not advertise it', async () => {
  const s = await serve(responder({ ehlo: ['250 mx.test'] }));
  const run = await runEtrn(['--force', '--json', ...base(s), 'a.example']);
  assert.equal(run.code, 0, run.stderr);
  const doc = JSON.parse(run.stdout);
  assert.equal(doc.sessions[0].etrnAdvertised, false);
  assert.equal(doc.sessions[0].nodes[0].ok, true);
});

test('EHLO refused: HELO is tried, and ETRN is reported unavailable without --force', async () => {
  const s = await serve(responder({ ehlo: ['500 5.5.1 unrecognized'] }));
  const run = await runEtrn([...base(s), 'a.example']);
  assert.equal(run.code, 69);
  assert.deepEqual(s.received, ['EHLO client.example', 'HELO client.example', 'QUIT']);
  assert.match(run.stderr, /refused EHLO/);
});

test('EHLO refused with --force: HELO, then ETRN', async () => {
  const s = await serve(responder({ ehlo: ['502 5.5.2 no'] }));
  const run = await runEtrn(['--force', ...base(s), 'a.example']);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(s.received, ['EHLO client.example', 'HELO client.example', 'ETRN a.example', 'QUIT']);
});

test('421 after the first ETRN: the first success is reported, the rest not sent, exit 75', async () => {
  const s = await serve(responder({ etrn: (_arg, n) => (n === 1 ? ['250 OK'] : ['421 4.3.2 shutting down']) }));
  const run = await runEtrn(['--json', ...base(s), 'a.example', 'b.example', 'c.example']);
  assert.equal(run.code, 75);
  const doc = JSON.parse(run.stdout);
  const [a, b, c] = doc.sessions[0].nodes;
  assert.deepEqual([a.ok, a.code], [true, 250]);
  assert.deepEqual([b.ok, b.code], [false, 421]);
  assert.deepEqual(c, { node: 'c.example', ok: false, sent: false });
  assert.equal(doc.sessions[0].error.kind, 'refused');
  assert.ok(!s.received.includes('ETRN c.example'));
});

test('a 554 greeting is exit 69 and etrn says QUIT', async () => {
  const s = await serve(responder({ greeting: ['554 5.3.2 no service'] }));
  const run = await runEtrn([...base(s), 'a.example']);
  assert.equal(run.code, 69);
  assert.deepEqual(s.received, ['QUIT']);
  assert.match(run.stderr, /554 5\.3\.2 no service.*initial server greeting/);
});

test('a 421 greeting is a temporary failure: exit 75', async () => {
  const s = await serve(responder({ greeting: ['421 4.3.2 busy'] }));
  const run = await runEtrn([...base(s), 'a.example']);
  assert.equal(run.code, 75);
  assert.match(run.stderr, /421 4\.3\.2 busy/);
});

test('a server that never greets times out within the deadline: exit 75', async () => {
  const s = await serve(async (conn) => {
    await conn.closed();
  });
  const run = await runEtrn(['--helo', 'client.example', '-t', '0.5', `127.0.0.1:${s.port}`, 'a.example']);
  assert.equal(run.code, 75);
  assert.match(run.stderr, /no complete reply within 0\.5 s \(while receiving the initial server greeting\)/);
  assert.ok(run.elapsedMs < 5000, `took ${run.elapsedMs} ms`);
});

test('connection refused is exit 75 with one line naming the server', async () => {
  const port = await deadPort();
  const run = await runEtrn(['--helo', 'client.example', `127.0.0.1:${port}`, 'a.example']);
  assert.equal(run.code, 75);
  assert.match(run.stderr, new RegExp(`^etrn: 127\\.0\\.0\\.1:${port}: connection refused \\(while connecting\\)$`, 'm'));
  assert.doesNotMatch(run.stderr, /\n\s+at /);
});

test('an IPv6 server in brackets with a port', async () => {
  const s = await serve(responder(), '::1');
  const run = await runEtrn(['--json', '--helo', 'client.example', `[::1]:${s.port}`, 'a.example']);
  assert.equal(run.code, 0, run.stderr);
  const doc = JSON.parse(run.stdout);
  assert.equal(doc.sessions[0].address, '::1');
  assert.equal(doc.sessions[0].port, s.port);
});

test('-p gives the port; a :port in server-host wins over it', async () => {
  const s = await serve(responder());
  const viaP = await runEtrn(['--helo', 'c.example', '-p', String(s.port), '127.0.0.1', 'a.example']);
  assert.equal(viaP.code, 0, viaP.stderr);
  const dead = await deadPort();
  const both = await runEtrn(['--helo', 'c.example', '-p', String(dead), `127.0.0.1:${s.port}`, 'a.example']);
  assert.equal(both.code, 0, both.stderr);
});

test('-v shows the dialogue with <-, -> and == prefixes on stderr', async () => {
  const s = await serve(responder());
  const run = await runEtrn(['-v', ...base(s), 'a.example']);
  assert.equal(run.code, 0);
  const lines = run.stderr.split('\n');
  assert.ok(lines.includes('<- 220 mx.test ESMTP scripted'), run.stderr);
  assert.ok(lines.includes('-> EHLO client.example'));
  assert.ok(lines.includes('<- 250-mx.test'));
  assert.ok(lines.includes('-> ETRN a.example'));
  assert.ok(lines.includes('-> QUIT'));
  assert.ok(lines.some((l) => l.startsWith('== connected to 127.0.0.1:')));
});

test('-q prints nothing on success', async () => {
  const s = await serve(responder());
  const run = await runEtrn(['-q', ...base(s), 'a.example']);
  assert.equal(run.code, 0);
  assert.equal(run.stdout + run.stderr, '');
});

test('an invalid client-host is exit 64 and nothing is sent', async () => {
  const s = await serve(responder());
  for (const bad of ['a\r\nQUIT', 'a b.example', 'a\u0007b', '\u001b[31mred.example', '-bad.example', 'a..b', 'x'.repeat(64) + '.example']) {
    const run = await runEtrn(['--helo', 'client.example', '--', `127.0.0.1:${s.port}`, 'good.example', bad]);
    assert.equal(run.code, 64, `${JSON.stringify(bad)}: ${run.stderr}`);
    assert.match(run.stderr, /^etrn: invalid name /);
  }
  assert.equal(s.connections.length, 0);
});

test('bad command lines are exit 64 with a hint', async () => {
  for (const args of [[], ['--no-such-option', 'x'], ['-p', 'x', 'mx'], ['-p', '70000', 'mx'], ['-t', '0', 'mx'], ['-4', '-6', 'mx'], ['mx:0', 'a']]) {
    const run = await runEtrn(args);
    assert.equal(run.code, 64, `${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, /^etrn: /);
  }
});

test('--help and --version exit 0', async () => {
  const help = await runEtrn(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: etrn /);
  const version = await runEtrn(['-V']);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^etrn \d+\.\d+\.\d+\n$/);
});

test('--dry-run lists the sessions and touches no network', async () => {
  const s = await serve(responder());
  const run = await runEtrn(['-n', '--per-session', '2', ...base(s), 'a.example', 'b.example', 'c.example']);
  assert.equal(run.code, 0);
  assert.equal(s.connections.length, 0);
  assert.equal(
    run.stdout,
    `session 1: 127.0.0.1:${s.port}: EHLO client.example\n  ETRN a.example\n  ETRN b.example\n` +
      `session 2: 127.0.0.1:${s.port}: EHLO client.example\n  ETRN c.example\n`,
  );
});

test('--dry-run --json has ok null and no reply fields', async () => {
  const run = await runEtrn(['-n', '--json', '--helo', 'c.example', 'mx.example.net', 'a.example']);
  assert.equal(run.code, 0);
  assert.deepEqual(JSON.parse(run.stdout), {
    schemaVersion: 1,
    ok: true,
    exitCode: 0,
    error: null,
    sessions: [
      {
        server: 'mx.example.net',
        port: 25,
        address: null,
        tls: null,
        authenticated: false,
        etrnAdvertised: null,
        error: null,
        nodes: [{ node: 'a.example', sent: false, ok: null }],
      },
    ],
  });
});

test('--json reports the session exactly in the spec schema', async () => {
  const s = await serve(responder({ ehlo: ['250-mx.test', '250 ETRN'], etrn: (a) => [`250 2.0.0 Queuing for node ${a} started`] }));
  const run = await runEtrn(['--json', ...base(s), 'example.org']);
  assert.equal(run.code, 0);
  assert.deepEqual(JSON.parse(run.stdout), {
    schemaVersion: 1,
    ok: true,
    exitCode: 0,
    error: null,
    sessions: [
      {
        server: '127.0.0.1',
        port: s.port,
        address: '127.0.0.1',
        tls: null,
        authenticated: false,
        etrnAdvertised: true,
        error: null,
        nodes: [{ node: 'example.org', sent: true, code: 250, enhanced: '2.0.0', text: 'Queuing for node example.org started', ok: true }],
      },
    ],
  });
});

test('--per-session splits nodes over several sessions to the same server', async () => {
  const s = await serve(responder());
  const nodes = Array.from({ length: 5 }, (_, i) => `n${i}.example`);
  const run = await runEtrn(['--per-session', '2', ...base(s), ...nodes]);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(s.connections.length, 3);
  assert.deepEqual(
    s.connections.map((c) => c.filter((l) => l.startsWith('ETRN')).length).sort(),
    [1, 2, 2],
  );
});

test('-b waits for the local MTA, then contacts the server', async () => {
  const local = await serve(responder());
  const s = await serve(responder());
  const run = await runEtrn(['-bv', '--local-port', String(local.port), ...base(s), 'a.example']);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(local.received, ['QUIT']);
  assert.match(run.stderr, /local MTA on localhost:\d+ is up/);
  assert.deepEqual(s.received, ['EHLO client.example', 'ETRN a.example', 'QUIT']);
});

test('-b with no local MTA gives up after --boot-wait: exit 75, server not contacted', async () => {
  const s = await serve(responder());
  const port = await deadPort();
  const run = await runEtrn(['-b', '--local-port', String(port), '--boot-wait', '0.6', ...base(s), 'a.example']);
  assert.equal(run.code, 75);
  assert.equal(s.connections.length, 0);
  assert.match(run.stderr, /local MTA on localhost:\d+ did not answer with 220 within 0\.6 s/);
  assert.ok(run.elapsedMs < 5000);
});

test('-b proceeds when the local MTA comes up during the wait', async () => {
  const s = await serve(responder());
  const port = await deadPort();
  let local: ScriptServer | undefined;
  const started = setTimeout(async () => {
    local = await serve(responder(), '127.0.0.1', port);
  }, 300);
  const run = await runEtrn(['-b', '--local-port', String(port), '--boot-wait', '10', ...base(s), 'a.example']);
  clearTimeout(started);
  assert.equal(run.code, 0, run.stderr);
  assert.ok(local, 'local MTA started');
  assert.deepEqual(s.received, ['EHLO client.example', 'ETRN a.example', 'QUIT']);
});

test('--delay pauses between ETRN commands', async () => {
  const s = await serve(responder());
  const run = await runEtrn(['--delay', '0.2', ...base(s), 'a.example', 'b.example', 'c.example']);
  assert.equal(run.code, 0);
  assert.ok(run.elapsedMs >= 400, `elapsed ${run.elapsedMs}`);
});

test('--retries retries only the nodes not yet accepted after a temporary failure', async () => {
  const s = await serve(responder({ etrn: (arg) => (arg === 'b.example' && s.connections.length === 1 ? ['458 busy'] : ['250 OK']) }));
  const run = await runEtrn(['--retries', '1', '--json', ...base(s), 'a.example', 'b.example']);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(s.connections.length, 2);
  assert.deepEqual(s.connections[1]!.filter((l) => l.startsWith('ETRN')), ['ETRN b.example']);
});

test('a name under .invalid does not resolve: exit 68', async () => {
  const run = await runEtrn(['--helo', 'c.example', 'mx.example.invalid', 'a.example']);
  assert.equal(run.code, 68);
  assert.match(run.stderr, /mx\.example\.invalid: host not found/);
});

test('--deadline ends the whole run even while each reply is within -t', async () => {
  const s = await serve(responder({ delayMs: 400 }));
  const nodes = Array.from({ length: 8 }, (_, i) => `n${i}.example`);
  const run = await runEtrn(['--json', '--deadline', '1', ...base(s), ...nodes]);
  assert.equal(run.code, 75);
  const doc = JSON.parse(run.stdout);
  assert.equal(doc.sessions[0].error.kind, 'timeout');
  assert.match(doc.sessions[0].error.message, /whole-run deadline of 1 s reached/);
  assert.equal(doc.sessions[0].nodes.length, 8);
  assert.ok(run.elapsedMs < 3000, `took ${run.elapsedMs} ms`);
});

test('nodes are spread evenly over the sessions --per-session makes necessary (10 at 8: 5 + 5)', async () => {
  const nodes = Array.from({ length: 10 }, (_, i) => `n${i}.example`);
  const run = await runEtrn(['-n', '--json', '--helo', 'me.example', 'mx.example', ...nodes]);
  assert.equal(run.code, 0);
  const doc = JSON.parse(run.stdout);
  assert.deepEqual(doc.sessions.map((s: { nodes: unknown[] }) => s.nodes.length), [5, 5]);
  assert.deepEqual(doc.sessions.flatMap((s: { nodes: { node: string }[] }) => s.nodes.map((n) => n.node)), nodes);
  const twenty = await runEtrn(['-n', '--json', '--helo', 'me.example', 'mx.example', ...nodes, ...nodes.map((n) => `x${n}`)]);
  assert.deepEqual(JSON.parse(twenty.stdout).sessions.map((s: { nodes: unknown[] }) => s.nodes.length), [7, 6, 7]);
});
