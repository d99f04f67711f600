// SMTP AUTH (RFC 4954) against a scripted server: mechanism choice, AUTH
// only over TLS unless --auth-cleartext, wrong password (77), continuation
// abuse, and secrets never shown in transcripts or JSON.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { tempDir } from '../helpers/tmp.js';
import { join } from 'node:path';
import { runEtrn } from '../helpers/cli.js';
import { makeCerts } from '../helpers/certs.js';
import { type TlsLab, type TlsServerOptions, startTlsServer } from '../helpers/tls-server.js';

const SECRET = 'S3cr3t-pässword';
const labs: TlsLab[] = [];
after(async () => {
  await Promise.all(labs.map((l) => l.close()));
});

async function server(o: TlsServerOptions): Promise<TlsLab> {
  const lab = await startTlsServer(o);
  labs.push(lab);
  return lab;
}

const account = (mechanisms: string[], extra: Partial<NonNullable<TlsServerOptions['auth']>> = {}) => ({
  auth: { mechanisms, user: 'etrnuser', password: SECRET, onlyAfterTls: true, ...extra },
  etrnNeedsAuth: true,
});

const args = (lab: TlsLab, ...extra: string[]): string[] => [
  '-v',
  '--json',
  '--helo',
  'client.example',
  '-t',
  '3',
  '--auth-user',
  'etrnuser',
  // AUTH goes only over verified TLS: trust the test CA (auth-trust.test.ts has the rest).
  '--tls-ca',
  makeCerts().caFile,
  ...extra,
  `127.0.0.1:${lab.port}`,
  'a.example',
];
const env = { ETRN_PASSWORD: SECRET };

/** The secret must appear nowhere: plain, base64, or inside a base64 PLAIN/LOGIN payload. */
function assertNoSecret(text: string): void {
  const forms = [
    SECRET,
    Buffer.from(SECRET).toString('base64'),
    Buffer.from(`\0etrnuser\0${SECRET}`).toString('base64'),
  ];
  for (const form of forms) assert.ok(!text.includes(form), `secret leaked as ${form}`);
}

for (const mechanism of ['PLAIN', 'LOGIN', 'CRAM-MD5']) {
  test(`AUTH ${mechanism} over STARTTLS, then ETRN; the transcript masks the secret`, async () => {
    const lab = await server(account([mechanism]));
    const run = await runEtrn(args(lab), { env });
    assert.equal(run.code, 0, run.stderr);
    const doc = JSON.parse(run.stdout);
    assert.equal(doc.sessions[0].authenticated, true);
    assert.equal(doc.sessions[0].nodes[0].ok, true);
    assert.ok(lab.sessions[0]!.some((l) => l.line.startsWith(`AUTH ${mechanism}`) && l.tls));
    assert.match(run.stderr, /-> (AUTH \S+ )?\*{8}/);
    assertNoSecret(run.stdout + run.stderr);
  });
}

test('the strongest offered mechanism is used (CRAM-MD5 over PLAIN and LOGIN)', async () => {
  const lab = await server(account(['PLAIN', 'LOGIN', 'CRAM-MD5']));
  const run = await runEtrn(args(lab), { env });
  assert.equal(run.code, 0, run.stderr);
  assert.ok(lab.sessions[0]!.some((l) => l.line === 'AUTH CRAM-MD5'));
});

test('a wrong password gives exit 77 and no ETRN', async () => {
  const lab = await server(account(['PLAIN']));
  const run = await runEtrn(args(lab), { env: { ETRN_PASSWORD: 'wrong' } });
  assert.equal(run.code, 77);
  const doc = JSON.parse(run.stdout);
  assert.equal(doc.sessions[0].error.kind, 'auth');
  assert.match(doc.sessions[0].error.message, /535/);
  assert.ok(!lab.sessions[0]!.some((l) => l.line.startsWith('ETRN')));
});

test('without AUTH the server refuses ETRN, and etrn reports the refusal', async () => {
  const lab = await server(account(['PLAIN']));
  const run = await runEtrn(['--json', '--helo', 'client.example', '-t', '3', `127.0.0.1:${lab.port}`, 'a.example']);
  assert.equal(run.code, 75);
  assert.equal(JSON.parse(run.stdout).sessions[0].nodes[0].code, 458);
});

test('AUTH is refused on a cleartext connection unless --auth-cleartext', async () => {
  const lab = await server({ ...account(['PLAIN'], { onlyAfterTls: false }), offerStarttls: false });
  const refused = await runEtrn(args(lab), { env });
  assert.equal(refused.code, 77);
  assert.match(JSON.parse(refused.stdout).sessions[0].error.message, /not TLS.*--auth-cleartext/);
  assert.ok(!lab.sessions[0]!.some((l) => l.line.startsWith('AUTH')));
  const allowed = await runEtrn(args(lab, '--auth-cleartext'), { env });
  assert.equal(allowed.code, 0, allowed.stderr);
  assertNoSecret(allowed.stdout + allowed.stderr);
});

test('endless AUTH challenges are cut off as a protocol error (76)', async () => {
  const lab = await server(account(['LOGIN'], { endless: true }));
  const run = await runEtrn(args(lab), { env });
  assert.equal(run.code, 76);
  assert.match(JSON.parse(run.stdout).sessions[0].error.message, /AUTH/);
  assertNoSecret(run.stdout + run.stderr);
});

test('a server that offers no AUTH: exit 77 naming the problem', async () => {
  const lab = await server({});
  const run = await runEtrn(args(lab), { env });
  assert.equal(run.code, 77);
  assert.match(JSON.parse(run.stdout).sessions[0].error.message, /does not offer AUTH/);
});

test('--auth-user without a secret is a usage error; the secret is never taken from argv', async () => {
  const run = await runEtrn(['--auth-user', 'u', '--helo', 'c.example', '127.0.0.1:1', 'a.example'], { env: { ETRN_PASSWORD: '' } });
  assert.equal(run.code, 64);
  assert.match(run.stderr, /ETRN_PASSWORD or --auth-password-file/);
  const withPassword = await runEtrn(['--auth-password', 'x', '127.0.0.1', 'a.example']);
  assert.equal(withPassword.code, 64);
});

test('--auth-password-file is read, and a file readable by others is warned about', async () => {
  const lab = await server(account(['PLAIN']));
  const dir = tempDir('auth');
  const file = join(dir, 'secret');
  writeFileSync(file, `${SECRET}\n`);
  chmodSync(file, 0o644);
  const run = await runEtrn(args(lab, '--auth-password-file', file), { env: { ETRN_PASSWORD: 'ignored' } });
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /readable by others/);
  chmodSync(file, 0o600);
  const quiet = await runEtrn(args(lab, '--auth-password-file', file));
  assert.equal(quiet.code, 0);
  assert.doesNotMatch(quiet.stderr, /readable by others/);
  const missing = await runEtrn(args(lab, '--auth-password-file', join(dir, 'nope')));
  assert.equal(missing.code, 78);
});
