// Validates the scripted ODMR provider with a real ODMR client nobody here
// wrote: fetchmail's `--protocol ODMR` (Debian's fetchmail, unpacked by
// lab/install-fetchmail.sh). Two providers hold the same mail; fetchmail
// drains one and `etrn --atrn` the other, both into the same real Postfix,
// which delivers to the sink. Both must deliver the same messages to the same
// recipients with the same content, and leave the same things behind (a
// recipient Postfix refuses is bounced by the provider in both runs).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { repoRoot, runEtrn } from '../helpers/cli.js';
import { type OdmrProvider, type QueuedMessage, startOdmrProvider, testMessage } from '../helpers/odmr-provider.js';
import { tempDir } from '../helpers/tmp.js';
import { type PostfixLab, startPostfix } from '../lab/postfix.js';
import { type Sink, type SinkMessage, startSink } from '../lab/sink.js';

const fetchmailBin = resolve(process.env.ETRN_LAB_CACHE ?? join(repoRoot, '.cache/lab'), 'fetchmail/root/usr/bin/fetchmail');

let lab: PostfixLab | undefined;
let sink: Sink | undefined;

before(async () => {
  assert.ok(existsSync(fetchmailBin), `fetchmail not installed at ${fetchmailBin}: run \`sudo lab/install-fetchmail.sh\``);
  sink = await startSink();
  lab = await startPostfix({ sinkPort: sink.port, recipientAccess: { 'nobody@client.test': 'REJECT no such user' } });
});

after(async () => {
  await lab?.stop();
  await sink?.close();
});

function mail(): Record<string, QueuedMessage[]> {
  return {
    'client.test': [
      testMessage('x-1', 'a@x.test', ['u1@client.test']),
      testMessage('x-2', 'b@x.test', ['u2@client.test', 'nobody@client.test', 'u3@client.test'], 'line one\r\n..two dots\r\nlast'),
    ],
    'other.test': [testMessage('x-3', 'c@x.test', ['u4@other.test'])],
  };
}

/** Runs fetchmail's ODMR mode once against `provider`, relaying to Postfix. */
function fetchmail(provider: OdmrProvider, smtpPort: number): Promise<{ code: number | null; output: string }> {
  const dir = tempDir('fetchmail');
  const rc = join(dir, 'fetchmailrc');
  writeFileSync(
    rc,
    `poll 127.0.0.1 protocol ODMR service ${provider.port} auth password user "customer" password "secret"` +
      ` fetchdomains client.test,other.test smtphost 127.0.0.1/${smtpPort}\n`,
  );
  chmodSync(rc, 0o600);
  return new Promise((resolvePromise, reject) => {
    const child = spawn(fetchmailBin, ['-v', '--nodetach', '-f', rc, '--pidfile', join(dir, 'pid'), '--idfile', join(dir, 'ids')], {
      env: { PATH: process.env.PATH, HOME: dir, FETCHMAILHOME: dir, LANG: 'C' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(killer);
      resolvePromise({ code, output });
    });
  });
}

/** What a delivered message is, without what each relay path adds (Received: lines, queue ids). */
function essence(m: SinkMessage): string {
  const split = m.data.indexOf('\r\n\r\n');
  const body = split < 0 ? m.data : m.data.slice(split + 4);
  const id = /^Message-ID: (.*)$/im.exec(m.data)?.[1] ?? '?';
  return JSON.stringify({ id, from: m.from, to: [...m.to].sort(), body });
}

async function arrivals(from: number, count: number): Promise<string[]> {
  const all = await sink!.waitFor(from + count, 30_000);
  return all.slice(from).map(essence).sort();
}

test('fetchmail --protocol ODMR and etrn --atrn deliver the same messages from the scripted provider to the same Postfix', async () => {
  assert.ok(lab && sink, 'lab did not start');
  const viaFetchmail = await startOdmrProvider({ queue: mail(), timeoutMs: 20_000 });
  const viaEtrn = await startOdmrProvider({ queue: mail(), timeoutMs: 20_000 });
  try {
    let start = sink.messages.length;
    const fm = await fetchmail(viaFetchmail, lab.port);
    assert.equal(fm.code, 0, `fetchmail exit status; output:\n${fm.output}`);
    const fetchmailGot = await arrivals(start, 3);

    start = sink.messages.length;
    const run = await runEtrn(
      ['--atrn', '--auth-user', 'customer', '--auth-cleartext', '--helo', 'site.test', '--relay-to', `127.0.0.1:${lab.port}`, `127.0.0.1:${viaEtrn.port}`, 'client.test', 'other.test'],
      { env: { ETRN_PASSWORD: 'secret' }, killAfterMs: 60_000 },
    );
    assert.equal(run.code, 0, `etrn exit status; stderr:\n${run.stderr}`);
    const etrnGot = await arrivals(start, 3);

    assert.deepEqual(etrnGot, fetchmailGot, 'the same messages, recipients and bodies at the sink');
    assert.deepEqual(viaEtrn.delivered, viaFetchmail.delivered);
    assert.deepEqual(viaEtrn.held(), viaFetchmail.held());
    assert.deepEqual(viaEtrn.held(), { 'client.test': [], 'other.test': [] });
    const bounces = (p: OdmrProvider) => p.bounced.map((b) => `${b.id} ${b.rcpt} ${b.reply.slice(0, 3)}`);
    assert.deepEqual(bounces(viaEtrn), bounces(viaFetchmail));
    assert.deepEqual(bounces(viaEtrn), ['x-2 nobody@client.test 554']);
    assert.match(fm.output, /ATRN client\.test,other\.test/, 'fetchmail spoke ATRN to the provider');
  } finally {
    await viaFetchmail.close();
    await viaEtrn.close();
  }
});
