// ATRN end to end (RFC 2645): the scripted provider (test/helpers/odmr-provider.ts)
// holds mail for client.test; `etrn --atrn` authenticates, asks, and relays
// the turned connection to a real Postfix (test/lab/postfix.ts), which
// delivers to the sink. Faults: a recipient Postfix refuses, a recipient it
// defers, the provider dropping the connection in the middle of DATA.
// For each, what the provider still holds and what arrived at the sink.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { runEtrn, type CliRun } from '../helpers/cli.js';
import { type OdmrProviderOptions, startOdmrProvider, testMessage } from '../helpers/odmr-provider.js';
import { type PostfixLab, startPostfix } from '../lab/postfix.js';
import { type Sink, startSink } from '../lab/sink.js';

let lab: PostfixLab | undefined;
let sink: Sink | undefined;

before(async () => {
  sink = await startSink();
  lab = await startPostfix({
    sinkPort: sink.port,
    recipientAccess: { 'nobody@client.test': 'REJECT no such user', 'later@client.test': '450 4.2.0 mailbox busy, try later' },
  });
});

after(async () => {
  await lab?.stop();
  await sink?.close();
});

function theLab(): PostfixLab {
  assert.ok(lab, 'the Postfix lab did not start (see the before hook)');
  return lab;
}

async function withLog<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (e) {
    if (e instanceof Error && lab) e.message += `\n--- postfix maillog (${lab.dir}) ---\n${await lab.logText()}`;
    throw e;
  }
}

interface AtrnRun {
  readonly run: CliRun;
  readonly json: {
    exitCode: number;
    sessions: { error: { kind: string; phase: string } | null; atrn: { messages: Record<string, number>; recipientsRefused: number; turned: boolean } }[];
  };
}

async function atrn(providerPort: number, extra: readonly string[] = []): Promise<AtrnRun> {
  const args = ['--json', '-v', '--atrn', '--auth-user', 'customer', '--auth-cleartext', '--helo', 'site.test'];
  args.push('--relay-to', `127.0.0.1:${theLab().port}`, ...extra, `127.0.0.1:${providerPort}`, 'client.test');
  const run = await runEtrn(args, { env: { ETRN_PASSWORD: 'secret' }, killAfterMs: 60_000 });
  return { run, json: JSON.parse(run.stdout) as AtrnRun['json'] };
}

async function provider(options: Partial<OdmrProviderOptions> & Pick<OdmrProviderOptions, 'queue'>) {
  return startOdmrProvider({ timeoutMs: 20_000, ...options });
}

const ids = (messages: readonly { data: string }[]): string[] =>
  messages.map((m) => /Subject: (\S+)/.exec(m.data)?.[1] ?? '?').sort();

test('ATRN relays every queued message to Postfix, which delivers them; the provider holds nothing after', async () => {
  const start = sink!.messages.length;
  const p = await provider({
    queue: {
      'client.test': [testMessage('ok-1', 'a@x.test', ['u1@client.test']), testMessage('ok-2', 'b@x.test', ['u2@client.test', 'u3@client.test'])],
    },
  });
  try {
    const { run, json } = await atrn(p.port);
    assert.equal(run.code, 0, `exit code; stderr:\n${run.stderr}`);
    assert.deepEqual(json.sessions[0]!.atrn.messages, { offered: 2, accepted: 2, refused: 0, deferred: 0 });
    assert.deepEqual(p.held(), { 'client.test': [] });
    assert.deepEqual(p.delivered, ['ok-1', 'ok-2']);
    const arrived = await withLog(sink!.waitFor(start + 2, 20_000));
    assert.deepEqual(ids(arrived.slice(start)), ['ok-1', 'ok-2']);
    assert.match(run.stderr, /<- MAIL FROM:<a@x\.test>/, '-v shows the relayed commands');
    assert.match(run.stderr, /-> 250 2\.0\.0 Ok: queued as/, '-v shows the local MTA replies');
    assert.doesNotMatch(run.stderr, /This is ok-1/, '-v does not show message bodies');
    assert.ok(!p.transcript.some((l) => /CHUNKING/.test(l)), 'Postfix offers CHUNKING; the provider must not see it (BDAT is not relayed)');
  } finally {
    await p.close();
  }
});

test('a recipient Postfix refuses gets its 5xx at the provider, which bounces it; the rest is delivered; exit 0', async () => {
  const start = sink!.messages.length;
  const p = await provider({ queue: { 'client.test': [testMessage('rej-1', 'a@x.test', ['nobody@client.test', 'u4@client.test'])] } });
  try {
    const { run, json } = await atrn(p.port);
    assert.equal(run.code, 0, `exit code; stderr:\n${run.stderr}`);
    assert.equal(json.sessions[0]!.atrn.recipientsRefused, 1);
    assert.deepEqual(json.sessions[0]!.atrn.messages, { offered: 1, accepted: 1, refused: 0, deferred: 0 });
    assert.deepEqual(p.bounced.map((b) => [b.id, b.rcpt, b.reply.slice(0, 3)]), [['rej-1', 'nobody@client.test', '554']]);
    assert.deepEqual(p.held(), { 'client.test': [] });
    const arrived = await withLog(sink!.waitFor(start + 1, 20_000));
    assert.deepEqual(arrived.slice(start).map((m) => m.to), [['<u4@client.test>']]);
  } finally {
    await p.close();
  }
});

test('a message Postfix defers (450 for its only recipient) stays with the provider; exit 75', async () => {
  const start = sink!.messages.length;
  const p = await provider({ queue: { 'client.test': [testMessage('def-1', 'a@x.test', ['later@client.test'])] } });
  try {
    const { run, json } = await atrn(p.port);
    assert.equal(run.code, 75, `exit code; stderr:\n${run.stderr}`);
    assert.deepEqual(json.sessions[0]!.atrn.messages, { offered: 1, accepted: 0, refused: 0, deferred: 1 });
    assert.deepEqual(p.held(), { 'client.test': ['def-1'] });
    assert.deepEqual(p.bounced, []);
    assert.equal(sink!.messages.length, start, 'nothing arrived at the sink');
  } finally {
    await p.close();
  }
});

test('the provider dropping the connection in the middle of DATA: it keeps the message, Postfix delivers nothing; exit 75', async () => {
  const start = sink!.messages.length;
  const p = await provider({
    queue: { 'client.test': [{ id: 'drop-1', from: 'a@x.test', to: ['u5@client.test'], body: { generatedBytes: 200_000 } }] },
    dropMidDataAfter: 50_000,
  });
  try {
    const { run, json } = await atrn(p.port);
    assert.equal(run.code, 75, `exit code; stderr:\n${run.stderr}`);
    assert.equal(json.sessions[0]!.error?.phase, 'relay');
    assert.deepEqual(json.sessions[0]!.atrn.messages, { offered: 1, accepted: 0, refused: 0, deferred: 1 });
    assert.deepEqual(p.held(), { 'client.test': ['drop-1'] });
    // Postfix drops the half message: its queue stays empty and nothing reaches the sink.
    const lab = theLab();
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline && (await lab.queueIds()).length > 0) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(await lab.queueIds(), []);
    assert.match(await lab.logText(), /lost connection after DATA|disconnect from/);
    assert.equal(sink!.messages.length, start, 'nothing arrived at the sink');
  } finally {
    await p.close();
  }
});
