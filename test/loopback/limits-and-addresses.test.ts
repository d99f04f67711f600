// Limits at the edge and one past it, and how etrn picks addresses: every
// address of a name in turn, -4/-6, --source.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { etrn, plan, MAX_NODES_PER_SERVER, MAX_SERVERS, UsageError } from '../../src/index.js';
import { EtrnSession, MAX_AUTH_STEPS } from '../../src/protocol/session.js';
import type { Reply } from '../../src/protocol/reply.js';
import { runEtrn } from '../helpers/cli.js';
import { closeAll, deadPort, responder, serve } from '../helpers/script-server.js';

after(closeAll);

const names = (n: number): string[] => Array.from({ length: n }, (_, i) => `n${i}.example`);

test(`${MAX_NODES_PER_SERVER} client-hosts for one server are accepted; one more is refused`, async () => {
  const ok = await plan({ server: 'mx.example', nodes: names(MAX_NODES_PER_SERVER), fqdn: 'me.example' });
  assert.equal(ok.sessions.reduce((n, s) => n + s.nodes.length, 0), MAX_NODES_PER_SERVER);
  await assert.rejects(plan({ server: 'mx.example', nodes: names(MAX_NODES_PER_SERVER + 1), fqdn: 'me.example' }), UsageError);
});

test(`${MAX_SERVERS} servers in one run are accepted; one more is refused`, async () => {
  const targets = (n: number) => Array.from({ length: n }, (_, i) => ({ server: `mx${i}.example`, nodes: ['a.example'] }));
  assert.equal((await plan({ targets: targets(MAX_SERVERS), fqdn: 'me.example' })).sessions.length, MAX_SERVERS);
  await assert.rejects(plan({ targets: targets(MAX_SERVERS + 1), fqdn: 'me.example' }), /too many servers/);
});

test('AUTH LOGIN answers its two challenges; a third is a protocol error (never more than MAX_AUTH_STEPS)', () => {
  const r = (code: number, ...lines: string[]): Reply => ({ code, enhanced: null, lines });
  const session = (): EtrnSession => {
    const s = new EtrnSession({ heloName: 'me.example', nodes: ['a.example'], tls: 'off', auth: { user: 'u', password: 'p', allowCleartext: true } });
    s.receive(r(220, 'hi'));
    s.receive(r(250, 'mx', 'ETRN', 'AUTH LOGIN'));
    return s;
  };
  const s = session();
  let steps = 0;
  let action = s.receive(r(334, Buffer.from('Username:').toString('base64')));
  while (action.type === 'send' && steps < 20) {
    steps += 1;
    action = s.receive(r(334, Buffer.from('More:').toString('base64')));
  }
  assert.equal(s.error?.kind, 'protocol');
  assert.match(s.error?.message ?? '', /more AUTH LOGIN challenges/);
  assert.equal(steps, 2, 'the username and the password challenge were answered');
});

test('no mechanism answers MAX_AUTH_STEPS challenges: an endless run of 334s ends in a protocol error for each (issue 11 item 10)', () => {
  const r = (code: number, ...lines: string[]): Reply => ({ code, enhanced: null, lines });
  // How many challenges each mechanism answers before it refuses the next.
  const expected: Record<string, number> = { PLAIN: 0, LOGIN: 2, 'CRAM-MD5': 1 };
  for (const [mechanism, answers] of Object.entries(expected)) {
    const s = new EtrnSession({ heloName: 'me.example', nodes: ['a.example'], tls: 'off', auth: { user: 'u', password: 'p', allowCleartext: true } });
    s.receive(r(220, 'hi'));
    assert.equal(s.receive(r(250, 'mx', 'ETRN', `AUTH ${mechanism}`)).type, 'send');
    let steps = 0;
    for (let i = 0; i < MAX_AUTH_STEPS + 2 && s.error === null; i++) {
      const action = s.receive(r(334, Buffer.from(`<${i}@mx.example>`).toString('base64')));
      if (action.type === 'send' && s.error === null) steps += 1;
    }
    assert.equal(s.error?.kind, 'protocol', `${mechanism}: ${JSON.stringify(s.error)}`);
    assert.equal(steps, answers, `${mechanism} answered ${steps} challenges`);
    assert.ok(steps < MAX_AUTH_STEPS, `${mechanism} stops on its own, before the session's bound of ${MAX_AUTH_STEPS}`);
  }
});

test('every address of a name is tried in turn: a dead first address does not stop etrn', async () => {
  const good = await serve(responder());
  const dead = await deadPort();
  const trace: string[] = [];
  const result = await etrn({
    server: 'mx.example',
    port: good.port,
    nodes: ['a.example'],
    fqdn: 'me.example',
    resolver: async () => [
      { address: '::1', family: 6 },
      { address: '127.0.0.1', family: 4 },
    ],
    // ::1 is dead on this port: make it so by sending it to a dead port.
    connector: async (target) => {
      const { tcpConnector } = await import('../../src/transport/connect.js');
      return tcpConnector(target.host === '::1' ? { ...target, host: '127.0.0.1', port: dead } : target);
    },
    onTrace: (e) => trace.push(`${e.direction} ${e.text}`),
  });
  assert.equal(result.exitCode, 0);
  assert.equal(result.sessions[0]!.address, '127.0.0.1');
  assert.ok(trace.some((l) => /\[::1\]:\d+: connection refused/.test(l)), trace.join('\n'));
});

test('when every address fails, the error says how many were tried', async () => {
  const dead = await deadPort();
  const result = await etrn({
    server: 'mx.example',
    port: dead,
    nodes: ['a.example'],
    fqdn: 'me.example',
    resolver: async () => [
      { address: '127.0.0.1', family: 4 },
      { address: '127.0.0.2', family: 4 },
    ],
  });
  assert.equal(result.exitCode, 75);
  assert.match(result.sessions[0]!.error!.message, /all 2 addresses tried/);
});

test('the connection deadline is --timeout: a connect that never completes gives 75 in time', async () => {
  const started = performance.now();
  const result = await etrn({
    server: '127.0.0.1',
    nodes: ['a.example'],
    fqdn: 'me.example',
    timeoutMs: 300,
    connector: ({ timeoutMs }) =>
      new Promise((_, reject) =>
        setTimeout(async () => {
          const { ConnectError } = await import('../../src/transport/connect.js');
          reject(new ConnectError('timeout', `connection timed out after ${timeoutMs / 1000} s`));
        }, timeoutMs),
      ),
  });
  assert.equal(result.exitCode, 75);
  assert.equal(result.sessions[0]!.error!.kind, 'timeout');
  assert.ok(performance.now() - started < 2000);
});

test('-6 with an IPv4 literal does not resolve (68); -4 with it works', async () => {
  const s = await serve(responder());
  const six = await runEtrn(['-6', '--helo', 'me.example', `127.0.0.1:${s.port}`, 'a.example']);
  assert.equal(six.code, 68);
  assert.match(six.stderr, /is an IPv4 address, but -6 was given/);
  const four = await runEtrn(['-4', '--helo', 'me.example', `127.0.0.1:${s.port}`, 'a.example']);
  assert.equal(four.code, 0, four.stderr);
});

test('--source binds the local address the server sees', async () => {
  let seen = '';
  const s = await serve(async (conn, i) => {
    seen = conn.socket.remoteAddress ?? '';
    await responder()(conn, i);
  });
  const run = await runEtrn(['--source', '127.0.0.7', '--helo', 'me.example', `127.0.0.1:${s.port}`, 'a.example']);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(seen, '127.0.0.7');
});
