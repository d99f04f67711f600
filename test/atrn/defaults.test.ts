// Start-up and link-up for ATRN (RFC 2645): `etrn --atrn --defaults FILE`
// reads the providers from ATRN_HOSTS in FILE (the ETRN_HOSTS syntax), waits
// for the local MTA (the boot check, on the --relay-to target), and gets the
// mail. Every wait is bounded (-t, --boot-wait, the child's kill timer).
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runEtrn } from '../helpers/cli.js';
import { startOdmrProvider, testMessage } from '../helpers/odmr-provider.js';
import { tempDir } from '../helpers/tmp.js';
import { type Sink, startSink } from '../lab/sink.js';

let sink: Sink | undefined;
before(async () => {
  sink = await startSink();
});
after(async () => {
  await sink?.close();
});

function defaultsFile(text: string): string {
  const file = join(tempDir('atrn-defaults'), 'etrn');
  writeFileSync(file, text);
  return file;
}

const common = ['--atrn', '--auth-user', 'customer', '--auth-cleartext', '--helo', 'site.test', '-t', '5', '--boot-wait', '5'];

test('--atrn --defaults FILE runs the ATRN_HOSTS groups and ignores ETRN_HOSTS', async () => {
  const p = await startOdmrProvider({
    queue: { 'client.test': [testMessage('d-1', 'a@x.test', ['u@client.test'])], 'second.test': [testMessage('d-2', 'b@x.test', ['v@second.test'])] },
    timeoutMs: 20_000,
  });
  try {
    const start = sink!.messages.length;
    const file = defaultsFile(
      '# site defaults\nETRN_HOSTS="192.0.2.1:never.test"\nATRN_HOSTS="127.0.0.1:client.test,second.test"\n',
    );
    const run = await runEtrn([...common, '--json', '-p', String(p.port), '--relay-to', `127.0.0.1:${sink!.port}`, '--defaults', file], {
      env: { ETRN_PASSWORD: 'secret' },
      killAfterMs: 60_000,
    });
    assert.equal(run.code, 0, run.stderr);
    const json = JSON.parse(run.stdout) as { sessions: { server: string; atrn: { domains: string[]; messages: { accepted: number } } }[] };
    assert.equal(json.sessions.length, 1);
    assert.deepEqual(json.sessions[0]!.atrn.domains, ['client.test', 'second.test']);
    assert.equal(json.sessions[0]!.atrn.messages.accepted, 2);
    assert.deepEqual(p.held(), { 'client.test': [], 'second.test': [] });
    assert.ok(p.transcript.includes('C: ATRN client.test,second.test'));
    await sink!.waitFor(start + 2, 20_000);
  } finally {
    await p.close();
  }
});

test('a malformed ATRN_HOSTS is a configuration error naming ATRN_HOSTS and its line: exit 78, nothing contacted', async () => {
  const file = defaultsFile('\n\nATRN_HOSTS="provider.test:bad_name!"\n');
  const run = await runEtrn([...common, '--relay-to', `127.0.0.1:${sink!.port}`, '--defaults', file], {
    env: { ETRN_PASSWORD: 'secret' },
    killAfterMs: 60_000,
  });
  assert.equal(run.code, 78, run.stderr);
  assert.match(run.stderr, /:3: .*ATRN_HOSTS/);
});

test('a defaults file without ATRN_HOSTS has nothing to do under --atrn: exit 0', async () => {
  const file = defaultsFile('ETRN_HOSTS="192.0.2.1:never.test"\n');
  const run = await runEtrn([...common, '--relay-to', `127.0.0.1:${sink!.port}`, '--defaults', file], {
    env: { ETRN_PASSWORD: 'secret' },
    killAfterMs: 60_000,
  });
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /no groups in ATRN_HOSTS/);
});

test('the boot check waits for the --relay-to MTA and, when it never greets, names that host: exit 75, no ATRN', async () => {
  const p = await startOdmrProvider({ queue: { 'client.test': [testMessage('d-3', 'a@x.test', ['u@client.test'])] }, timeoutMs: 20_000 });
  try {
    const file = defaultsFile('ATRN_HOSTS="127.0.0.1:client.test"\n');
    // 127.0.0.3: a loopback address nothing listens on (the provider is on 127.0.0.1).
    const run = await runEtrn([...common, '--boot-wait', '0.3', // the last --boot-wait wins
       '-p', String(p.port), '--relay-to', `127.0.0.3:${sink!.port}`, '--defaults', file], {
      env: { ETRN_PASSWORD: 'secret' },
      killAfterMs: 60_000,
    });
    assert.equal(run.code, 75, run.stderr);
    assert.match(run.stderr, new RegExp(`local MTA on 127\\.0\\.0\\.3:${sink!.port} did not answer with 220`));
    assert.ok(!p.transcript.some((l) => l.startsWith('C: ATRN')), 'no ATRN was sent');
    assert.deepEqual(p.held(), { 'client.test': [p.held()['client.test']![0]] });
  } finally {
    await p.close();
  }
});
