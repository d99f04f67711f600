// ATRN into the other real MTAs of the lab (Sendmail 8.17, Exim 4.96): the
// scripted ODMR provider's mail, relayed by `etrn --atrn`, is accepted by the
// site's MTA (the provider deletes it only after the MTA's own 250 to the end
// of DATA) and then reaches the sink, after an ETRN where the MTA queues it.
// The messages are bounces (null sender): Sendmail refuses a sender domain
// it cannot resolve, and the lab has no DNS.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runEtrn } from '../helpers/cli.js';
import { startOdmrProvider, testMessage } from '../helpers/odmr-provider.js';
import { type MtaLab, type MtaLabOptions, reservePort } from '../lab/mta-common.js';
import { startExim } from '../lab/exim.js';
import { startSendmail } from '../lab/sendmail.js';
import { startSink } from '../lab/sink.js';

const TEST_TIMEOUT = 120_000;

async function relayInto(t: { after(fn: () => Promise<void>): void }, start: (o: MtaLabOptions) => Promise<MtaLab>): Promise<void> {
  const sinkPort = await reservePort();
  const sink = await startSink(sinkPort);
  const lab = await start({ sinkPort });
  const provider = await startOdmrProvider({
    queue: { 'client.test': [testMessage('mx-1', '', ['u1@client.test']), testMessage('mx-2', '', ['u2@client.test'])] },
    timeoutMs: 20_000,
  });
  t.after(async () => {
    await provider.close();
    await lab.stop();
    await sink.close();
  });
  const run = await runEtrn(
    ['--json', '-v', '--atrn', '--auth-user', 'customer', '--auth-cleartext', '--helo', 'site.test',
      '--relay-to', `127.0.0.1:${lab.port}`, `127.0.0.1:${provider.port}`, 'client.test'],
    { env: { ETRN_PASSWORD: 'secret' }, killAfterMs: 60_000 },
  );
  assert.equal(run.code, 0, `${lab.name}: exit code; stderr:\n${run.stderr}`);
  const json = JSON.parse(run.stdout) as { sessions: { atrn: { messages: Record<string, number> } }[] };
  assert.deepEqual(json.sessions[0]!.atrn.messages, { offered: 2, accepted: 2, refused: 0, deferred: 0 }, run.stderr);
  assert.deepEqual(provider.held(), { 'client.test': [] });
  assert.deepEqual(provider.delivered, ['mx-1', 'mx-2']);
  // Sendmail queues what arrives; ask for it (Exim may already have delivered).
  const flush = await runEtrn(['-p', String(lab.port), '--helo', 'site.test', lab.host, 'client.test'], { killAfterMs: 60_000 });
  assert.equal(flush.code, 0, `${lab.name}: ETRN after ATRN; stderr:\n${flush.stderr}`);
  const arrived = await sink.waitFor(2, 30_000);
  assert.deepEqual(arrived.map((m) => m.to[0]).sort(), ['<u1@client.test>', '<u2@client.test>']);
}

test('ATRN relays into a real Sendmail, which delivers to the sink', { timeout: TEST_TIMEOUT }, async (t) => {
  await relayInto(t, startSendmail);
});

test('ATRN relays into a real Exim, which delivers to the sink', { timeout: TEST_TIMEOUT }, async (t) => {
  await relayInto(t, startExim);
});
