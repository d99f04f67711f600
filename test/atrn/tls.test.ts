// ATRN over STARTTLS with a verified certificate (RFC 3207, and AUTH only
// over verified TLS): the turned connection is then a TLS socket, and the
// relay runs over it. Without --tls-ca the test CA is not trusted, so AUTH
// (and so ATRN) is never sent.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { makeCerts } from '../helpers/certs.js';
import { runEtrn } from '../helpers/cli.js';
import { startOdmrProvider, testMessage } from '../helpers/odmr-provider.js';
import { type Sink, startSink } from '../lab/sink.js';

let sink: Sink | undefined;
before(async () => {
  sink = await startSink();
});
after(async () => {
  await sink?.close();
});

function provider() {
  const certs = makeCerts();
  return startOdmrProvider({
    queue: { 'client.test': [testMessage('t-1', 'a@x.test', ['u@client.test'])] },
    tls: { key: certs.key, cert: certs.cert },
    timeoutMs: 20_000,
  });
}

test('ATRN after STARTTLS with a verified certificate: AUTH, turn and relay over TLS', async () => {
  const p = await provider();
  try {
    const start = sink!.messages.length;
    const run = await runEtrn(
      ['--json', '--atrn', '--auth-user', 'customer', '--tls', 'required', '--tls-ca', makeCerts().caFile, '--helo', 'site.test',
        '--relay-to', `127.0.0.1:${sink!.port}`, `127.0.0.1:${p.port}`, 'client.test'],
      { env: { ETRN_PASSWORD: 'secret' }, killAfterMs: 60_000 },
    );
    assert.equal(run.code, 0, run.stderr);
    const json = JSON.parse(run.stdout) as { sessions: { tls: { verified: boolean } | null; atrn: { messages: Record<string, number> } }[] };
    assert.equal(json.sessions[0]!.tls?.verified, true);
    assert.deepEqual(json.sessions[0]!.atrn.messages, { offered: 1, accepted: 1, refused: 0, deferred: 0 });
    assert.ok(p.transcript.includes('-- TLS established'));
    assert.deepEqual(p.held(), { 'client.test': [] });
    await sink!.waitFor(start + 1, 20_000);
  } finally {
    await p.close();
  }
});

test('an unverified certificate: no AUTH and no ATRN are sent, exit 77, the provider keeps its mail', async () => {
  const p = await provider();
  try {
    const run = await runEtrn(
      ['--json', '--atrn', '--auth-user', 'customer', '--helo', 'site.test', '--relay-to', `127.0.0.1:${sink!.port}`, `127.0.0.1:${p.port}`, 'client.test'],
      { env: { ETRN_PASSWORD: 'secret' }, killAfterMs: 60_000 },
    );
    assert.equal(run.code, 77, run.stderr);
    assert.equal(p.atrnSeen(), false);
    assert.equal(p.transcript.some((l) => l.startsWith('C: AUTH')), false);
    assert.deepEqual(p.held(), { 'client.test': ['t-1'] });
  } finally {
    await p.close();
  }
});
