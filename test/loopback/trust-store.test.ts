// "Verified" means against the system's trust store, the one OpenSSL uses
// (issue 10, item 2): a site CA added to /etc/ssl/certs (bundle file and
// c_rehash link, as update-ca-certificates makes them) is trusted by etrn
// without --tls-ca, on every Node build. The host's store is never touched:
// each run gets a private mount namespace (unshare) with a temporary
// directory bind-mounted over /etc/ssl/certs. Node is run with
// --use-bundled-ca (what the upstream binaries do: Mozilla roots only) and
// --use-openssl-ca (what Debian's nodejs does), and etrn must behave the
// same under both. SSL_CERT_FILE and SSL_CERT_DIR, which OpenSSL honours,
// are tried without a namespace.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { etrnBin, type CliRun } from '../helpers/cli.js';
import { makeCerts } from '../helpers/certs.js';
import { tempDir } from '../helpers/tmp.js';
import { type TlsLab, startTlsServer } from '../helpers/tls-server.js';

const SECRET = 'Store-s3cret.4Kp';
const HOST_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';
const NODE_BUILDS = ['--use-bundled-ca', '--use-openssl-ca'] as const;
const labs: TlsLab[] = [];
after(async () => {
  await Promise.all(labs.map((l) => l.close()));
});

/** Environment without the variables that would change which store is read. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ETRN_PASSWORD: SECRET, ...extra };
  for (const name of ['SSL_CERT_FILE', 'SSL_CERT_DIR', 'NODE_EXTRA_CA_CERTS', 'NODE_OPTIONS']) if (!(name in extra)) delete env[name];
  return env;
}

let stores: { withCa: string; dirOnly: string; bundleOnly: string; without: string; bundleFile: string; hashDir: string };

before(() => {
  // Fail loudly when the prerequisites are missing: never skip.
  try {
    execFileSync('unshare', ['--mount', '--propagation', 'private', 'true'], { stdio: 'pipe' });
  } catch (error) {
    throw new Error(`unshare --mount is needed for this test (util-linux, run as root): ${String(error)}`);
  }
  assert.ok(readFileSync(HOST_BUNDLE, 'utf8').includes('BEGIN CERTIFICATE'), `${HOST_BUNDLE} (ca-certificates) is needed`);
  const certs = makeCerts();
  const hash = execFileSync('openssl', ['x509', '-hash', '-noout', '-in', certs.caFile], { encoding: 'utf8' }).trim();
  const root = tempDir('store');
  const store = (name: string, bundleWithCa: boolean, hashLink: boolean): string => {
    const dir = join(root, name);
    mkdirSync(dir);
    const bundle = readFileSync(HOST_BUNDLE, 'utf8');
    writeFileSync(join(dir, 'ca-certificates.crt'), bundleWithCa ? `${bundle}${certs.ca}` : bundle);
    if (hashLink) {
      copyFileSync(certs.caFile, join(dir, 'etrn-lab-ca.pem'));
      symlinkSync('etrn-lab-ca.pem', join(dir, `${hash}.0`)); // what c_rehash / update-ca-certificates make
    }
    return dir;
  };
  const bundleFile = join(root, 'private-bundle.crt');
  writeFileSync(bundleFile, certs.ca);
  stores = {
    withCa: store('with-ca', true, true),
    dirOnly: store('dir-only', false, true),
    bundleOnly: store('bundle-only', true, false),
    without: store('without', false, false),
    bundleFile,
    hashDir: store('hash-dir', false, true),
  };
});

/** Runs etrn (under `nodeFlag`) in a private mount namespace where `storeDir` is /etc/ssl/certs. */
function etrnWithStore(storeDir: string, nodeFlag: string, args: readonly string[]): Promise<CliRun> {
  const script = 'mount --bind "$0" /etc/ssl/certs && exec "$@"';
  return run('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c', script, storeDir, process.execPath, nodeFlag, etrnBin, ...args], cleanEnv());
}

/** Runs etrn on the host's store with exactly `env`. */
function etrnWithEnv(env: NodeJS.ProcessEnv, args: readonly string[]): Promise<CliRun> {
  return run(process.execPath, [etrnBin, ...args], env);
}

function run(command: string, argv: readonly string[], env: NodeJS.ProcessEnv): Promise<CliRun> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...argv], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, stdout, stderr, elapsedMs: performance.now() - started });
    });
  });
}

async function authServer(): Promise<TlsLab> {
  const lab = await startTlsServer({ auth: { mechanisms: ['PLAIN'], user: 'etrnuser', password: SECRET }, etrnNeedsAuth: true });
  labs.push(lab);
  return lab;
}

const authArgs = (lab: TlsLab, ...extra: string[]): string[] => [
  '-v', '--json', '--helo', 'client.example', '-t', '5', '--auth-user', 'etrnuser', ...extra, `127.0.0.1:${lab.port}`, 'a.example',
];
const sent = (lab: TlsLab) => lab.sessions.flat();

function assertTrusted(run: CliRun, lab: TlsLab): void {
  assert.equal(run.code, 0, run.stderr);
  const s = JSON.parse(run.stdout).sessions[0];
  assert.equal(s.tls.verified, true);
  assert.equal(s.authenticated, true);
  assert.ok(sent(lab).some((l) => l.line.startsWith('AUTH PLAIN') && l.tls), 'AUTH over TLS');
  assert.ok(sent(lab).some((l) => l.line === 'ETRN a.example' && l.tls), 'ETRN over TLS');
}

function assertUntrusted(run: CliRun, lab: TlsLab): void {
  assert.equal(run.code, 77, run.stderr);
  const s = JSON.parse(run.stdout).sessions[0];
  assert.equal(s.tls.verified, false);
  assert.match(s.error.message, /certificate did not verify/);
  assert.ok(!sent(lab).some((l) => /^(AUTH|ETRN)/.test(l.line)), 'no AUTH, no ETRN');
}

for (const build of NODE_BUILDS) {
  test(`node ${build}: a CA added to /etc/ssl/certs (bundle and hash link) is trusted without --tls-ca: AUTH and ETRN`, async () => {
    const lab = await authServer();
    assertTrusted(await etrnWithStore(stores.withCa, build, authArgs(lab)), lab);
  });

  test(`node ${build}: the CA only in the bundle file is trusted`, async () => {
    const lab = await authServer();
    assertTrusted(await etrnWithStore(stores.bundleOnly, build, authArgs(lab)), lab);
  });

  test(`node ${build}: the CA only as a c_rehash link in the directory is trusted`, async () => {
    const lab = await authServer();
    assertTrusted(await etrnWithStore(stores.dirOnly, build, authArgs(lab)), lab);
  });

  test(`node ${build}: a store without the CA: exit 77, no AUTH, no ETRN`, async () => {
    const lab = await authServer();
    assertUntrusted(await etrnWithStore(stores.without, build, authArgs(lab)), lab);
  });

  test(`node ${build}: --tls required verifies against the system store too`, async () => {
    const lab = await startTlsServer({});
    labs.push(lab);
    const args = ['--json', '--helo', 'client.example', '-t', '5', '--tls', 'required', `127.0.0.1:${lab.port}`, 'a.example'];
    const trusted = await etrnWithStore(stores.withCa, build, args);
    assert.equal(trusted.code, 0, trusted.stderr);
    assert.equal(JSON.parse(trusted.stdout).sessions[0].tls.verified, true);
    const untrusted = await etrnWithStore(stores.without, build, args);
    assert.equal(untrusted.code, 69, untrusted.stderr);
  });
}

test('--tls-ca replaces the system store: a store with the CA does not help when --tls-ca names another CA', async () => {
  const other = tempDir('other-ca');
  const otherCa = join(other, 'ca.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(other, 'ca.key'), '-out', otherCa, '-days', '2', '-subj', '/CN=other CA'], { stdio: 'pipe' });
  const lab = await authServer();
  const run = await etrnWithStore(stores.withCa, '--use-bundled-ca', authArgs(lab, '--tls-ca', otherCa));
  assertUntrusted(run, lab);
});

test('SSL_CERT_FILE names a private bundle (OpenSSL\'s variable): trusted; without it, not', async () => {
  const lab = await authServer();
  assertTrusted(await etrnWithEnv(cleanEnv({ SSL_CERT_FILE: stores.bundleFile }), authArgs(lab)), lab);
  const plain = await authServer();
  assertUntrusted(await etrnWithEnv(cleanEnv(), authArgs(plain)), plain);
});

test('SSL_CERT_DIR names a private c_rehash directory: trusted', async () => {
  const lab = await authServer();
  assertTrusted(await etrnWithEnv(cleanEnv({ SSL_CERT_DIR: stores.hashDir }), authArgs(lab)), lab);
});

test('NODE_EXTRA_CA_CERTS is honoured as well', async () => {
  const lab = await authServer();
  assertTrusted(await etrnWithEnv(cleanEnv({ NODE_EXTRA_CA_CERTS: stores.bundleFile }), authArgs(lab)), lab);
});

test('the host store was never changed: it does not hold the test CA', () => {
  assert.ok(!readFileSync(HOST_BUNDLE, 'utf8').includes(makeCerts().ca.trim()));
});

test('an unreadable store entry is skipped, shown with -v, and the run goes on', async () => {
  const dir = tempDir('broken-store');
  symlinkSync('nowhere.pem', join(dir, 'deadbeef.0'));
  const lab = await authServer();
  const run = await etrnWithEnv(cleanEnv({ SSL_CERT_FILE: stores.bundleFile, SSL_CERT_DIR: dir }), authArgs(lab));
  assertTrusted(run, lab);
  assert.match(run.stderr, new RegExp(`== trust store entry skipped: ${join(dir, 'deadbeef.0')}: ENOENT\\n`));
});
