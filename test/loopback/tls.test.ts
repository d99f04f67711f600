// STARTTLS and implicit TLS against scripted loopback servers with a test CA:
// opportunistic, required, verification, downgrade, injection, and the
// reconnect in clear after a failed opportunistic handshake.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { runEtrn } from '../helpers/cli.js';
import { makeCerts } from '../helpers/certs.js';
import { type TlsLab, type TlsServerOptions, startTlsServer } from '../helpers/tls-server.js';

const labs: TlsLab[] = [];
after(async () => {
  await Promise.all(labs.map((l) => l.close()));
});

async function tlsServer(o: TlsServerOptions): Promise<TlsLab> {
  const lab = await startTlsServer(o);
  labs.push(lab);
  return lab;
}

const args = (lab: TlsLab, ...extra: string[]): string[] => ['--json', '--helo', 'client.example', '-t', '3', ...extra, `127.0.0.1:${lab.port}`, 'a.example'];

test('opportunistic: STARTTLS when offered, EHLO again, ETRN over TLS, reported unverified', async () => {
  const lab = await tlsServer({});
  const run = await runEtrn(args(lab));
  assert.equal(run.code, 0, run.stderr);
  const doc = JSON.parse(run.stdout);
  assert.equal(doc.sessions[0].tls.version, 'TLSv1.3');
  assert.equal(typeof doc.sessions[0].tls.cipher, 'string');
  assert.equal(doc.sessions[0].tls.verified, false);
  assert.deepEqual(lab.sessions[0], [
    { line: 'EHLO client.example', tls: false },
    { line: 'STARTTLS', tls: false },
    { line: 'EHLO client.example', tls: true },
    { line: 'ETRN a.example', tls: true },
    { line: 'QUIT', tls: true },
  ]);
});

test('opportunistic with the CA: the certificate is reported verified', async () => {
  const lab = await tlsServer({});
  const run = await runEtrn(args(lab, '--tls-ca', makeCerts().caFile));
  assert.equal(run.code, 0, run.stderr);
  assert.equal(JSON.parse(run.stdout).sessions[0].tls.verified, true);
});

test('--tls off never sends STARTTLS', async () => {
  const lab = await tlsServer({});
  const run = await runEtrn(args(lab, '--tls', 'off'));
  assert.equal(run.code, 0, run.stderr);
  assert.equal(JSON.parse(run.stdout).sessions[0].tls, null);
  assert.ok(!lab.sessions[0]!.some((l) => l.line === 'STARTTLS'));
});

test('required without trust in the certificate: exit 69, no ETRN sent', async () => {
  const lab = await tlsServer({});
  const run = await runEtrn(args(lab, '--tls', 'required'));
  assert.equal(run.code, 69);
  const doc = JSON.parse(run.stdout);
  assert.equal(doc.sessions[0].error.kind, 'tls');
  assert.match(doc.sessions[0].error.message, /certificate/i);
  assert.ok(lab.sessions.every((s) => !s.some((l) => l.line.startsWith('ETRN'))));
});

test('required with --tls-ca: verified, exit 0', async () => {
  const lab = await tlsServer({});
  const run = await runEtrn(args(lab, '--tls', 'required', '--tls-ca', makeCerts().caFile));
  assert.equal(run.code, 0, run.stderr);
  assert.equal(JSON.parse(run.stdout).sessions[0].tls.verified, true);
});

test('required with a server name the certificate does not carry: exit 69', async () => {
  const lab = await tlsServer({});
  const run = await runEtrn(args(lab, '--tls', 'required', '--tls-ca', makeCerts().caFile, '--tls-servername', 'other.test'));
  assert.equal(run.code, 69);
  assert.equal(JSON.parse(run.stdout).sessions[0].error.kind, 'tls');
});

test('required, STARTTLS not offered (downgrade): exit 69, no ETRN', async () => {
  const lab = await tlsServer({ offerStarttls: false });
  const run = await runEtrn(args(lab, '--tls', 'required'));
  assert.equal(run.code, 69);
  assert.match(JSON.parse(run.stdout).sessions[0].error.message, /does not offer STARTTLS/);
  assert.ok(!lab.sessions[0]!.some((l) => l.line.startsWith('ETRN')));
});

test('opportunistic, STARTTLS refused with 454: carries on in clear', async () => {
  const lab = await tlsServer({ starttlsReply: '454 4.7.0 TLS not available' });
  const run = await runEtrn(args(lab));
  assert.equal(run.code, 0, run.stderr);
  assert.equal(JSON.parse(run.stdout).sessions[0].tls, null);
});

test('opportunistic, garbage instead of a handshake: says so, reconnects once in clear', async () => {
  const lab = await tlsServer({ afterStarttls: 'garbage' });
  const run = await runEtrn(['-v', ...args(lab)]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /TLS handshake failed/);
  assert.match(run.stderr, /reconnecting without TLS/);
  assert.equal(lab.sessions.length, 2);
  assert.deepEqual(lab.sessions[1]!.map((l) => l.line), ['EHLO client.example', 'ETRN a.example', 'QUIT']);
});

test('required, garbage instead of a handshake: exit 69', async () => {
  const lab = await tlsServer({ afterStarttls: 'garbage' });
  const run = await runEtrn(args(lab, '--tls', 'required'));
  assert.equal(run.code, 69);
  assert.equal(lab.sessions.length, 1);
});

test('plaintext injected after the 220 to STARTTLS is a protocol error: exit 76', async () => {
  const lab = await tlsServer({ afterStarttls: 'inject' });
  const run = await runEtrn(args(lab));
  assert.equal(run.code, 76);
  assert.match(JSON.parse(run.stdout).sessions[0].error.message, /after its 220 to STARTTLS/);
  assert.ok(!lab.sessions[0]!.some((l) => l.line.startsWith('ETRN')));
});

test('implicit TLS from the first byte, verified with the CA', async () => {
  const lab = await tlsServer({ implicit: true });
  const run = await runEtrn(args(lab, '--tls', 'implicit', '--tls-ca', makeCerts().caFile));
  assert.equal(run.code, 0, run.stderr);
  const doc = JSON.parse(run.stdout);
  assert.equal(doc.sessions[0].tls.verified, true);
  assert.deepEqual(lab.sessions[0]!.map((l) => l.line), ['EHLO client.example', 'ETRN a.example', 'QUIT']);
});

test('implicit TLS against a plaintext server fails with exit 69', async () => {
  const lab = await tlsServer({});
  const run = await runEtrn(args(lab, '--tls', 'implicit', '-t', '1'));
  assert.equal(run.code, 69, run.stdout + run.stderr);
  assert.equal(JSON.parse(run.stdout).sessions[0].error.kind, 'tls');
});

test('a TLS failure names OpenSSL\'s reason ("wrong version number"), not a function name', async () => {
  const lab = await tlsServer({});
  const run = await runEtrn(['--tls', 'implicit', '-t', '2', '--helo', 'client.example', `127.0.0.1:${lab.port}`, 'a.example']);
  assert.equal(run.code, 69);
  assert.match(run.stderr, /TLS handshake failed: wrong version number \(while performing the TLS handshake\)/);
});
