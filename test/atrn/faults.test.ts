// ATRN faults before and after the turn, with the scripted provider and a
// loopback local MTA (the test sink, or a local MTA that dies mid-message):
// every reply RFC 2645 gives to ATRN, a provider without ATRN or AUTH, the
// local MTA down before ATRN (no ATRN sent), the provider hanging after the
// turn (bounded by -t), the local MTA going away in the middle of a body.
// Each case says what the provider still holds and the exit status.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type AddressInfo, createServer } from 'node:net';
import { after, before, test } from 'node:test';
import { runEtrn, type CliRun } from '../helpers/cli.js';
import { type OdmrProviderOptions, startOdmrProvider, testMessage } from '../helpers/odmr-provider.js';
import { reservePort } from '../lab/mta-common.js';
import { type Sink, startSink } from '../lab/sink.js';

let sink: Sink | undefined;
before(async () => {
  sink = await startSink();
});
after(async () => {
  await sink?.close();
});

const queue = (): OdmrProviderOptions['queue'] => ({ 'client.test': [testMessage('f-1', 'a@x.test', ['u@client.test'])] });

interface Json {
  exitCode: number;
  sessions: {
    error: { kind: string; phase: string; message: string; reply: { code: number } | null } | null;
    atrn: { sent: boolean; noMail: boolean; turned: boolean; messages: Record<string, number> };
  }[];
}

async function atrn(providerPort: number, localPort: number, extra: readonly string[] = []): Promise<{ run: CliRun; json: Json }> {
  const args = ['--json', '--atrn', '--auth-user', 'customer', '--auth-cleartext', '--helo', 'site.test'];
  args.push('--relay-to', `127.0.0.1:${localPort}`, ...extra, `127.0.0.1:${providerPort}`, 'client.test');
  const run = await runEtrn(args, { env: { ETRN_PASSWORD: 'secret' }, killAfterMs: 60_000 });
  return { run, json: JSON.parse(run.stdout) as Json };
}

async function withProvider(options: Partial<OdmrProviderOptions>, body: (p: Awaited<ReturnType<typeof startOdmrProvider>>) => Promise<void>) {
  const p = await startOdmrProvider({ queue: queue(), timeoutMs: 20_000, ...options });
  try {
    await body(p);
  } finally {
    await p.close();
  }
}

test('453 "You have no mail" is a success with nothing delivered: exit 0', async () => {
  await withProvider({ queue: {} }, async (p) => {
    const { run, json } = await atrn(p.port, sink!.port);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(json.sessions[0]!.atrn.noMail, true);
    assert.equal(json.sessions[0]!.atrn.turned, false);
    assert.deepEqual(json.sessions[0]!.atrn.messages, { offered: 0, accepted: 0, refused: 0, deferred: 0 });
  });
});

test('450 "ATRN request refused" is a temporary refusal: exit 75, the provider keeps its mail', async () => {
  await withProvider({ atrnReply: '450 ATRN request refused' }, async (p) => {
    const { run, json } = await atrn(p.port, sink!.port);
    assert.equal(run.code, 75, run.stderr);
    assert.equal(json.sessions[0]!.error?.phase, 'atrn');
    assert.equal(json.sessions[0]!.error?.reply?.code, 450);
    assert.deepEqual(p.held(), { 'client.test': ['f-1'] });
  });
});

test('451 "unable to process ATRN request now": exit 75', async () => {
  await withProvider({ atrnReply: '451 Unable to process ATRN request now' }, async (p) => {
    const { run } = await atrn(p.port, sink!.port);
    assert.equal(run.code, 75, run.stderr);
  });
});

test('a 5xx refusal of ATRN (502): one clear line, exit 69', async () => {
  await withProvider({ atrnReply: '502 5.5.1 Command not implemented' }, async (p) => {
    const { run, json } = await atrn(p.port, sink!.port);
    assert.equal(run.code, 69, run.stderr);
    assert.equal(json.sessions[0]!.error?.kind, 'unavailable');
    const human = await runEtrn(
      ['--atrn', '--auth-user', 'customer', '--auth-cleartext', '--helo', 'site.test', '--relay-to', `127.0.0.1:${sink!.port}`, `127.0.0.1:${p.port}`, 'client.test'],
      { env: { ETRN_PASSWORD: 'secret' }, killAfterMs: 60_000 },
    );
    assert.equal(human.code, 69);
    assert.equal(human.stderr.trim().split('\n').length, 1, human.stderr);
    assert.match(human.stderr, /^etrn: 127\.0\.0\.1:\d+: ATRN refused: 502 5\.5\.1 Command not implemented \(while receiving the ATRN reply\)$/m);
  });
});

test('530 "authentication required" to ATRN: exit 77', async () => {
  await withProvider({ atrnReply: '530 5.7.0 Authentication required' }, async (p) => {
    const { run, json } = await atrn(p.port, sink!.port);
    assert.equal(run.code, 77, run.stderr);
    assert.equal(json.sessions[0]!.error?.kind, 'auth');
  });
});

test('a provider whose EHLO does not list ATRN: no AUTH, no ATRN, exit 69', async () => {
  await withProvider({ noAtrn: true }, async (p) => {
    const { run, json } = await atrn(p.port, sink!.port);
    assert.equal(run.code, 69, run.stderr);
    assert.match(json.sessions[0]!.error!.message, /does not offer ATRN/);
    assert.equal(p.atrnSeen(), false);
    assert.equal(p.transcript.some((l) => l.startsWith('C: AUTH')), false, 'no secret sent to a server without ATRN');
  });
});

test('a provider that offers no AUTH: exit 77, no ATRN sent', async () => {
  await withProvider({ noAuth: true }, async (p) => {
    const { run, json } = await atrn(p.port, sink!.port);
    assert.equal(run.code, 77, run.stderr);
    assert.equal(json.sessions[0]!.error?.kind, 'auth');
    assert.equal(p.atrnSeen(), false);
  });
});

test('--atrn without --auth-user is a usage error: nothing is contacted, exit 64', async () => {
  await withProvider({}, async (p) => {
    const run = await runEtrn(['--atrn', '--relay-to', `127.0.0.1:${sink!.port}`, `127.0.0.1:${p.port}`, 'client.test'], { killAfterMs: 60_000 });
    assert.equal(run.code, 64, run.stderr);
    assert.match(run.stderr, /--atrn needs --auth-user/);
    assert.equal(p.transcript.length, 0);
  });
});

test('the local MTA down before ATRN: the provider is not contacted, exit 75', async () => {
  const nothing = await reservePort();
  await withProvider({}, async (p) => {
    const { run, json } = await atrn(p.port, nothing);
    assert.equal(run.code, 75, run.stderr);
    assert.match(json.sessions[0]!.error!.message, /local MTA 127\.0\.0\.1:\d+: .*provider not contacted/);
    assert.equal(json.sessions[0]!.atrn.sent, false);
    assert.equal(p.atrnSeen(), false);
    assert.equal(p.transcript.length, 0);
    assert.deepEqual(p.held(), { 'client.test': ['f-1'] });
  });
});

test('a provider that turns and then hangs is cut off after -t: exit 75, it keeps its mail', async () => {
  await withProvider({ hangAfterTurn: true }, async (p) => {
    const started = performance.now();
    const { run, json } = await atrn(p.port, sink!.port, ['-t', '1']);
    assert.equal(run.code, 75, run.stderr);
    assert.equal(json.sessions[0]!.error?.kind, 'timeout');
    assert.equal(json.sessions[0]!.error?.phase, 'relay');
    assert.ok(performance.now() - started < 30_000, 'bounded by -t (generous bound)');
    assert.deepEqual(p.held(), { 'client.test': ['f-1'] });
  });
});

test('the local MTA dying in the middle of a body: the provider hears 421 and keeps the message; exit 75', async () => {
  // A local MTA that accepts up to DATA and closes after the first body bytes.
  const server = createServer((socket) => {
    socket.on('error', () => undefined);
    socket.write('220 dying.test ESMTP\r\n');
    let inData = false;
    socket.on('data', (chunk: Buffer) => {
      if (inData) return void socket.destroy();
      for (const line of chunk.toString('latin1').split('\r\n').filter((l) => l !== '')) {
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO') socket.write('250-dying.test\r\n250 8BITMIME\r\n');
        else if (verb === 'DATA') {
          inData = true;
          socket.write('354 go ahead\r\n');
        } else socket.write('250 ok\r\n');
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    await withProvider({ queue: { 'client.test': [{ id: 'big-1', from: 'a@x.test', to: ['u@client.test'], body: { generatedBytes: 1_000_000 } }] } }, async (p) => {
      const { run, json } = await atrn(p.port, (server.address() as AddressInfo).port);
      assert.equal(run.code, 75, run.stderr);
      assert.equal(json.sessions[0]!.error?.phase, 'relay');
      assert.deepEqual(json.sessions[0]!.atrn.messages, { offered: 1, accepted: 0, refused: 0, deferred: 1 });
      await p.sessionsEnded(1, 20_000);
      assert.deepEqual(p.held(), { 'client.test': ['big-1'] });
      assert.deepEqual(p.delivered, []);
    });
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
});

test('the local MTA resetting the connection after its greeting, while the provider is asked: exit 75, no crash, the provider keeps its mail', async () => {
  // It greets, then resets the connection a moment later: usually while etrn
  // is still in EHLO/AUTH/ATRN with the provider, where no relay listens yet.
  const server = createServer((socket) => {
    socket.on('error', () => undefined);
    socket.write('220 flaky.test ESMTP\r\n');
    setTimeout(() => socket.resetAndDestroy(), 20);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    await withProvider({}, async (p) => {
      const { run, json } = await atrn(p.port, (server.address() as AddressInfo).port);
      assert.equal(run.code, 75, run.stderr);
      assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
      assert.equal(json.sessions[0]!.error?.kind, 'refused');
      await p.sessionsEnded(1, 20_000);
      assert.deepEqual(p.held(), { 'client.test': ['f-1'] });
    });
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
});

test('the whole-run --deadline also bounds the relay: exit 75, the provider keeps its mail', async () => {
  await withProvider({ hangAfterTurn: true }, async (p) => {
    const { run, json } = await atrn(p.port, sink!.port, ['-t', '60', '--deadline', '1']);
    assert.equal(run.code, 75, run.stderr);
    assert.equal(json.sessions[0]!.error?.kind, 'timeout');
    assert.equal(json.sessions[0]!.error?.phase, 'relay');
    assert.ok(run.elapsedMs < 30_000, 'bounded by --deadline, not -t (generous bound)');
    assert.deepEqual(p.held(), { 'client.test': ['f-1'] });
  });
});
