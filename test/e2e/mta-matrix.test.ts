// End-to-end: the etrn CLI against real MTAs from Debian's packages (Sendmail
// 8.17, Exim 4.96, OpenSMTPD 6.8), each unpacked by lab/install-<mta>.sh and
// run privately on 127.0.0.1 (test/lab/<mta>.ts). Mail for client.test is
// queued while the test sink is down and must stay queued until etrn asks
// for it; then it must arrive at the sink and leave the queue.
//
// A missing lab makes these tests fail (with the install command to run),
// never skip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runEtrn, type CliRun } from '../helpers/cli.js';
import { startSink, type Sink } from '../lab/sink.js';
import { reservePort, sleep, type MtaLab, type MtaLabOptions } from '../lab/mta-common.js';
import { startSendmail } from '../lab/sendmail.js';
import { startExim } from '../lab/exim.js';
import { startOpensmtpd } from '../lab/opensmtpd.js';

const TEST_TIMEOUT = 90_000;

interface Setup {
  lab: MtaLab;
  sinkPort: number;
  /** Starts the sink (the MTA's next hop for client.test) on sinkPort. */
  sinkUp(): Promise<Sink>;
}

/** Reserves a sink port, starts the MTA, and stops both when the test ends. */
async function setup(t: { after(fn: () => Promise<void>): void }, start: (o: MtaLabOptions) => Promise<MtaLab>): Promise<Setup> {
  const sinkPort = await reservePort();
  const lab = await start({ sinkPort });
  let sink: Sink | undefined;
  t.after(async () => {
    await sink?.close();
    await lab.stop();
  });
  return {
    lab,
    sinkPort,
    async sinkUp() {
      sink = await startSink(sinkPort);
      return sink;
    },
  };
}

function etrn(lab: MtaLab, ...nodes: string[]): Promise<CliRun> {
  return runEtrn(['-v', '-p', String(lab.port), '--helo', 'etrn.test', lab.host, ...nodes]);
}

function describeRun(lab: MtaLab, r: CliRun): string {
  return `${lab.name} ${lab.version} on ${lab.host}:${lab.port} (${lab.dir}): etrn exit ${r.code} signal ${r.signal} after ${Math.round(r.elapsedMs)} ms\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;
}

/** Waits until the MTA's queue is empty (the last queue file goes a moment after the sink's 250). */
async function queueEmpty(lab: MtaLab, timeoutMs = 15_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  let ids = await lab.queueIds();
  while (ids.length > 0 && Date.now() < deadline) {
    await sleep(100);
    ids = await lab.queueIds();
  }
  return ids;
}

/** Queues a@ and b@client.test, checks they stay queued, brings the sink up, sends ETRN nodeArg, checks delivery. */
async function flushTwo(t: { after(fn: () => Promise<void>): void }, start: (o: MtaLabOptions) => Promise<MtaLab>, nodeArg: string): Promise<void> {
  const { lab, sinkUp } = await setup(t, start);
  await lab.queueMessage('a@client.test');
  await lab.queueMessage('b@client.test');
  await sleep(1_000);
  assert.equal((await lab.queueIds()).length, 2, `${lab.name}: both messages stay queued before ETRN`);

  const sink = await sinkUp();
  await sleep(1_000);
  assert.equal(sink.messages.length, 0, `${lab.name}: nothing is delivered before ETRN, even with the sink up`);

  const r = await etrn(lab, nodeArg);
  assert.equal(r.code, 0, describeRun(lab, r));
  await sink.waitFor(2, 20_000).catch((e: Error) => assert.fail(`${e.message}\n${describeRun(lab, r)}`));
  const rcpts = sink.messages.flatMap((m) => m.to).sort();
  assert.deepEqual(rcpts, ['<a@client.test>', '<b@client.test>']);
  assert.deepEqual(await queueEmpty(lab), [], `${lab.name}: queue empty after ETRN ${nodeArg}`);
}

test('sendmail: ETRN client.test flushes the two messages queued for it', { timeout: TEST_TIMEOUT }, async (t) => {
  await flushTwo(t, startSendmail, 'client.test');
});

test('sendmail: 21 nodes with the default --per-session 8 finish in seconds', { timeout: TEST_TIMEOUT }, async (t) => {
  // Sendmail delays every ETRN after the 8th in one session by seconds (more
  // each time): 21 ETRNs in one session would take well over a minute.
  const { lab } = await setup(t, startSendmail);
  const nodes = [...Array.from({ length: 20 }, (_, i) => `n${i + 1}.client.test`), 'client.test'];
  const r = await etrn(lab, ...nodes);
  assert.equal(r.code, 0, describeRun(lab, r));
  assert.ok(r.elapsedMs < 30_000, `21 nodes took ${Math.round(r.elapsedMs)} ms\n${describeRun(lab, r)}`);
  for (const node of nodes) {
    assert.match(r.stderr + r.stdout, new RegExp(`Queuing for node ${node.replace(/\./g, '\\.')} started`), `no reply for ${node}`);
  }
  t.diagnostic(`sendmail: 21 nodes in ${Math.round(r.elapsedMs)} ms`);
});

test('sendmail: @client.test flushes user@sub.client.test (client.test does not)', { timeout: TEST_TIMEOUT }, async (t) => {
  const { lab, sinkUp } = await setup(t, startSendmail);
  await lab.queueMessage('user@sub.client.test');
  const sink = await sinkUp();

  const plain = await etrn(lab, 'client.test');
  assert.equal(plain.code, 0, describeRun(lab, plain));
  await sleep(2_000);
  assert.equal(sink.messages.length, 0, 'ETRN client.test must not flush user@sub.client.test');
  assert.equal((await lab.queueIds()).length, 1);

  const at = await etrn(lab, '@client.test');
  assert.equal(at.code, 0, describeRun(lab, at));
  await sink.waitFor(1, 20_000).catch((e: Error) => assert.fail(`${e.message}\n${describeRun(lab, at)}`));
  assert.deepEqual(sink.messages.flatMap((m) => m.to), ['<user@sub.client.test>']);
  assert.deepEqual(await queueEmpty(lab), []);
});

test('exim: ETRN client.test flushes the two messages queued for it', { timeout: TEST_TIMEOUT }, async (t) => {
  await flushTwo(t, startExim, 'client.test');
});

test("exim: ETRN #client.test (Exim's own syntax) flushes them too", { timeout: TEST_TIMEOUT }, async (t) => {
  await flushTwo(t, startExim, '#client.test');
});

test('exim: a node it does not relay for is refused (459), etrn exits 69', { timeout: TEST_TIMEOUT }, async (t) => {
  const { lab } = await setup(t, startExim);
  const r = await etrn(lab, 'other.test');
  assert.equal(r.code, 69, describeRun(lab, r));
  assert.match(r.stderr, /459 Node other\.test not allowed/, describeRun(lab, r));
});

test('exim: a repeat while the first queue run goes on gets 458 (temporary, 75); --retries gets through', { timeout: TEST_TIMEOUT }, async (t) => {
  const sinkPort = await reservePort();
  const lab = await startExim({ sinkPort });
  // A slow delivery host keeps Exim's first queue run (and its ETRN serialisation) going.
  const sink = await startSink(sinkPort, '127.0.0.1', { dataDelayMs: 2_500 });
  t.after(async () => {
    await sink.close();
    await lab.stop();
  });
  await lab.queueMessage('a@client.test');
  await lab.queueMessage('b@client.test');
  const first = await etrn(lab, 'client.test');
  assert.equal(first.code, 0, describeRun(lab, first));
  const repeat = await runEtrn(['--json', '-p', String(lab.port), '--helo', 'etrn.test', lab.host, 'client.test']);
  assert.equal(repeat.code, 75, describeRun(lab, repeat));
  const node = JSON.parse(repeat.stdout).sessions[0].nodes[0];
  assert.equal(node.code, 458);
  assert.match(node.text, /Already processing client\.test/);
  // Retried with back-off (1 s, 2 s, 4 s, 8 s) until the first run has finished.
  const retried = await runEtrn(['-v', '--retries', '4', '-p', String(lab.port), '--helo', 'etrn.test', lab.host, 'client.test']);
  assert.equal(retried.code, 0, describeRun(lab, retried));
  assert.match(retried.stderr, /<- 458 Already processing client\.test/);
  assert.match(retried.stderr, /retrying 1 node\(s\)/);
  await sink.waitFor(2, 20_000);
});

test('opensmtpd: no ETRN offered, so etrn exits 69 and says so', { timeout: TEST_TIMEOUT }, async (t) => {
  const { lab } = await setup(t, startOpensmtpd);
  const r = await etrn(lab, 'client.test');
  assert.equal(r.code, 69, describeRun(lab, r));
  assert.match(r.stderr, /does not (offer|advertise|support) ETRN/i, describeRun(lab, r));
});
