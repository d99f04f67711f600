// A password goes only where it is safe (issue 10, item 2): with
// --auth-user, AUTH of any mechanism is sent only over TLS whose
// certificate verified, unless --tls-insecure (an unverified certificate
// accepted) or --auth-cleartext (no TLS accepted). Scripted servers record
// every line they receive, and whether it came over TLS.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { runEtrn, type CliRun } from '../helpers/cli.js';
import { makeCerts } from '../helpers/certs.js';
import { type TlsLab, type TlsServerOptions, startTlsServer } from '../helpers/tls-server.js';

const SECRET = 'Trust-s3cret.9Zq';
const labs: TlsLab[] = [];
after(async () => {
  await Promise.all(labs.map((l) => l.close()));
});

async function server(mechanism: string, o: TlsServerOptions = {}): Promise<TlsLab> {
  const lab = await startTlsServer({ auth: { mechanisms: [mechanism], user: 'etrnuser', password: SECRET }, etrnNeedsAuth: true, ...o });
  labs.push(lab);
  return lab;
}

function etrn(lab: TlsLab, ...extra: string[]): Promise<CliRun> {
  return runEtrn(['-v', '--json', '--helo', 'client.example', '-t', '3', '--auth-user', 'etrnuser', ...extra, `127.0.0.1:${lab.port}`, 'a.example'], {
    env: { ETRN_PASSWORD: SECRET },
  });
}

const lines = (lab: TlsLab): { line: string; tls: boolean }[] => lab.sessions.flat();
const authLines = (lab: TlsLab) => lines(lab).filter((l) => /^AUTH /i.test(l.line));
const etrnLines = (lab: TlsLab) => lines(lab).filter((l) => /^ETRN /i.test(l.line));
const session = (run: CliRun) => JSON.parse(run.stdout).sessions[0];

function assertRefused(run: CliRun, lab: TlsLab, why: RegExp): void {
  assert.equal(run.code, 77, run.stderr);
  const s = session(run);
  assert.equal(s.error.kind, 'auth');
  assert.match(s.error.message, why);
  assert.equal(s.authenticated, false);
  assert.deepEqual(authLines(lab), [], 'no AUTH reached the server');
  assert.deepEqual(etrnLines(lab), [], 'no ETRN reached the server');
  assert.ok(!(run.stdout + run.stderr).includes(SECRET));
}

function assertAuthenticated(run: CliRun, lab: TlsLab, overTls: boolean): void {
  assert.equal(run.code, 0, run.stderr);
  assert.equal(session(run).authenticated, true);
  const auth = authLines(lab);
  assert.equal(auth.length, 1, 'one AUTH command');
  assert.equal(auth[0]!.tls, overTls);
  assert.deepEqual(etrnLines(lab).map((l) => l.line), ['ETRN a.example']);
}

for (const mechanism of ['PLAIN', 'CRAM-MD5', 'LOGIN']) {
  test(`${mechanism}: opportunistic TLS with a certificate that does not verify: exit 77, no AUTH, no ETRN, the problem and the two ways around it named`, async () => {
    const lab = await server(mechanism);
    const run = await etrn(lab);
    assertRefused(run, lab, /certificate did not verify: "[^"]*unable to verify the first certificate[^"]*".*--tls-insecure.*--auth-cleartext/);
    assert.equal(session(run).tls.verified, false);
    assert.equal(lab.sessions.length, 1);
    assert.ok(lines(lab).some((l) => l.line === 'QUIT'), 'the session is closed politely');
    assert.match(run.stderr, /certificate not verified \(unable to verify the first certificate/);
  });

  test(`${mechanism}: --tls-insecure accepts the unverified certificate: AUTH over TLS, then ETRN`, async () => {
    const lab = await server(mechanism);
    const run = await etrn(lab, '--tls-insecure');
    assertAuthenticated(run, lab, true);
    assert.equal(session(run).tls.verified, false);
  });

  test(`${mechanism}: --auth-cleartext with no STARTTLS offered: AUTH in clear, then ETRN`, async () => {
    const lab = await server(mechanism, { offerStarttls: false });
    const run = await etrn(lab, '--auth-cleartext');
    assertAuthenticated(run, lab, false);
    assert.equal(session(run).tls, null);
  });

  test(`${mechanism}: no STARTTLS offered and no --auth-cleartext: exit 77, no AUTH`, async () => {
    const lab = await server(mechanism, { offerStarttls: false });
    assertRefused(await etrn(lab), lab, /not TLS.*--auth-cleartext/);
  });

  test(`${mechanism}: --tls required with a verified certificate: AUTH over TLS, then ETRN`, async () => {
    const lab = await server(mechanism);
    const run = await etrn(lab, '--tls', 'required', '--tls-ca', makeCerts().caFile);
    assertAuthenticated(run, lab, true);
    assert.equal(session(run).tls.verified, true);
  });
}

test('opportunistic with a verified certificate (--tls-ca): AUTH over TLS', async () => {
  const lab = await server('PLAIN');
  const run = await etrn(lab, '--tls-ca', makeCerts().caFile);
  assertAuthenticated(run, lab, true);
});

test('--tls-insecure does not stand for --auth-cleartext: no STARTTLS offered, exit 77, no AUTH', async () => {
  const lab = await server('PLAIN', { offerStarttls: false });
  assertRefused(await etrn(lab, '--tls-insecure'), lab, /not TLS.*--auth-cleartext/);
});

test('--auth-cleartext also accepts an unverified certificate (TLS is better than none)', async () => {
  const lab = await server('CRAM-MD5');
  assertAuthenticated(await etrn(lab, '--auth-cleartext'), lab, true);
});

test('a certificate for another name does not verify: exit 77, the name problem named, no AUTH', async () => {
  const lab = await server('PLAIN');
  const run = await etrn(lab, '--tls-ca', makeCerts().caFile, '--tls-servername', 'other.test');
  assertRefused(run, lab, /does not carry the server name \(ERR_TLS_CERT_ALTNAME_INVALID\)/);
});

test('implicit TLS: AUTH with a verified certificate, and with --tls-insecure; a failed verification sends nothing', async () => {
  const verified = await server('PLAIN', { implicit: true });
  assertAuthenticated(await etrn(verified, '--tls', 'implicit', '--tls-ca', makeCerts().caFile), verified, true);
  const insecure = await server('PLAIN', { implicit: true });
  assertAuthenticated(await etrn(insecure, '--tls', 'implicit', '--tls-insecure'), insecure, true);
  const unverified = await server('PLAIN', { implicit: true });
  const run = await etrn(unverified, '--tls', 'implicit');
  assert.equal(run.code, 69, run.stderr);
  assert.deepEqual(lines(unverified), []);
});

test('a failed opportunistic handshake is not retried in clear when AUTH is to be sent: exit 77, one connection, no AUTH', async () => {
  const lab = await server('PLAIN', { afterStarttls: 'garbage' });
  const run = await etrn(lab);
  assert.equal(run.code, 77, run.stderr);
  const s = session(run);
  assert.equal(s.error.kind, 'auth');
  assert.equal(s.error.phase, 'tls');
  assert.match(s.error.message, /TLS handshake failed: .*not retrying without TLS.*--auth-cleartext/);
  assert.equal(lab.sessions.length, 1, 'no reconnect in clear');
  assert.deepEqual(authLines(lab), []);
  assert.deepEqual(etrnLines(lab), []);
  assert.doesNotMatch(run.stderr, /reconnecting without TLS/);
});

test('with --auth-cleartext the failed handshake is retried in clear, and AUTH goes there', async () => {
  const lab = await server('PLAIN', { afterStarttls: 'garbage' });
  const run = await etrn(lab, '--auth-cleartext');
  assert.equal(lab.sessions.length, 2, 'reconnected in clear');
  assertAuthenticated(run, lab, false);
  assert.match(run.stderr, /reconnecting without TLS/);
});

test('--tls off --auth-user without --auth-cleartext: usage error 64, no connection made', async () => {
  const lab = await server('PLAIN');
  const run = await etrn(lab, '--tls', 'off');
  assert.equal(run.code, 64, run.stderr);
  assert.match(run.stderr, /--tls off.*--auth-cleartext/);
  assert.equal(JSON.parse(run.stdout).error.kind, 'usage');
  assert.deepEqual(JSON.parse(run.stdout).sessions, []);
  // The listener works: the same run with --auth-cleartext reaches it.
  assert.equal(lab.sessions.length, 0, 'the server saw no connection');
  const allowed = await etrn(lab, '--tls', 'off', '--auth-cleartext');
  assert.equal(lab.sessions.length, 1);
  assertAuthenticated(allowed, lab, false);
});
