// End to end against a real Postfix (test/lab/postfix.ts, installed by
// lab/install-postfix.sh): mail for client.test waits in Postfix's deferred
// queue because its next hop (a test sink) is down; once the sink is up,
// `etrn` asks Postfix to flush client.test and the mail arrives.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { runEtrn } from '../helpers/cli.js';
import { reservePort, startPostfix, type PostfixLab } from '../lab/postfix.js';
import { startSink, type Sink } from '../lab/sink.js';

let lab: PostfixLab | undefined;
let sink: Sink | undefined;
let sinkPort = 0;

function theLab(): PostfixLab {
  assert.ok(lab, 'the Postfix lab did not start (see the before hook)');
  return lab;
}

/** Adds Postfix's log to a failure, which is where a lab problem shows. */
async function withLog<T>(lab: PostfixLab, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (e) {
    const log = await lab.logText();
    if (e instanceof Error) e.message += `\n--- postfix maillog (${lab.dir}) ---\n${log}`;
    throw e;
  }
}

async function waitForEmptyQueue(lab: PostfixLab, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let ids = await lab.queueIds();
  while (ids.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    ids = await lab.queueIds();
  }
  assert.deepEqual(ids, [], 'Postfix queue not empty after the flush');
}

before(async () => {
  // The sink's port is chosen now but the sink starts only after ETRN is
  // due, so the first delivery attempts fail and the mail is deferred.
  sinkPort = await reservePort();
  lab = await startPostfix({ sinkPort });
  await withLog(lab, lab.queueMessage('a@client.test'));
  await withLog(lab, lab.queueMessage('b@client.test'));
});

after(async () => {
  await sink?.close();
  await lab?.stop();
});

test('ETRN client.test makes Postfix deliver its deferred mail', async () => {
  const lab = theLab();
  assert.equal((await lab.queueIds()).length, 2, 'both messages wait in the queue after failed delivery');

  sink = await startSink(sinkPort);
  const run = await runEtrn(['-v', '-p', String(lab.port), '--helo', 'etrn.test', '127.0.0.1', 'client.test']);
  assert.equal(run.code, 0, `exit code; stderr:\n${run.stderr}\nstdout:\n${run.stdout}`);
  assert.match(run.stderr, /-> ETRN client\.test\b/);
  assert.match(run.stderr, /<- 250\b/);

  const messages = await withLog(lab, sink.waitFor(2, 20_000));
  const recipients = messages.flatMap((m) => m.to).sort();
  assert.deepEqual(recipients, ['<a@client.test>', '<b@client.test>']);
  await withLog(lab, waitForEmptyQueue(lab));
});

test('ETRN for a domain Postfix does not fast-flush fails with 459 and exit 69', async () => {
  const lab = theLab();
  const run = await runEtrn(['--json', '-p', String(lab.port), '--helo', 'etrn.test', '127.0.0.1', 'other.test']);
  assert.equal(run.code, 69, `exit code; stderr:\n${run.stderr}\nstdout:\n${run.stdout}`);
  const report = JSON.parse(run.stdout) as { sessions: { nodes: { code: number; ok: boolean }[] }[] };
  const node = report.sessions[0]?.nodes[0];
  assert.ok(node, `no sessions[0].nodes[0] in ${run.stdout}`);
  assert.equal(node.code, 459);
  assert.equal(node.ok, false);
});

test('a trailing dot on the domain is dropped (Postfix would answer 501 to it)', async () => {
  const lab = theLab();
  const run = await runEtrn(['-p', String(lab.port), '--helo', 'etrn.test', '127.0.0.1', 'client.test.']);
  assert.equal(run.code, 0, `exit code; stderr:\n${run.stderr}\nstdout:\n${run.stdout}`);
});
