// End-to-end: STARTTLS and SMTP AUTH against real servers (issue 5).
//
//   - Postfix 3.7 (test/lab/postfix.ts) with smtpd_tls_security_level = may
//     and a certificate from the test CA (test/helpers/certs.ts, SAN
//     IP:127.0.0.1): opportunistic TLS without verification, --tls required
//     failing without the CA (no ETRN sent, mail stays queued) and
//     succeeding with it.
//   - Exim 4.96 (test/lab/exim.ts) with STARTTLS, plaintext PLAIN/LOGIN
//     authenticators for one fixed account, AUTH advertised only after
//     STARTTLS, and acl_smtp_etrn accepting only authenticated clients:
//     ETRN without AUTH refused (458, exit 75), AUTH with the right secret
//     flushes the queue, a wrong one gives 77, and no AUTH in clear.
//     AUTH goes only over a verified certificate (--tls-ca here): the
//     default opportunistic run with an unverified one sends no AUTH (77),
//     --tls-insecure accepts it, and --tls off without --auth-cleartext is a
//     usage error before any connection (issue 10).
//   - Every transcript (-v) and output of the AUTH runs is searched for the
//     secret, plain and base64; only "********" may stand for it.
//
// A missing lab makes these tests fail (with the install command to run),
// never skip.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runEtrn, type CliRun } from '../helpers/cli.js';
import { makeCerts, type TestCerts } from '../helpers/certs.js';
import { startSink, type Sink, type SinkMessage } from '../lab/sink.js';
import { reservePort, sleep } from '../lab/mta-common.js';
import { startPostfix, type PostfixLab } from '../lab/postfix.js';
import { authRefusal, startExim, type EximLab } from '../lab/exim.js';

const TEST_TIMEOUT = 90_000;
const USER = 'etrnuser';
// Distinctive, so that finding it in output cannot be a coincidence.
const PASSWORD = 'Etrn-s3cret.7qX';
/** How long a refused run is given to (wrongly) cause a delivery before the queue is checked. */
const SETTLE_MS = 1_500;

interface JsonSession {
  tls: { version: string; cipher: string; verified: boolean } | null;
  authenticated: boolean;
  etrnAdvertised: boolean | null;
  error: { kind: string; message: string } | null;
  nodes: { node: string; code?: number; enhanced?: string | null; text?: string; ok: boolean | null }[];
}
interface JsonReport {
  ok: boolean;
  exitCode: number;
  sessions: JsonSession[];
}

function describeRun(what: string, r: CliRun): string {
  return `${what}: etrn exit ${r.code} signal ${r.signal} after ${Math.round(r.elapsedMs)} ms\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;
}

/** The one session of a --json run. */
function session(r: CliRun, what: string): JsonSession {
  let report: JsonReport;
  try {
    report = JSON.parse(r.stdout) as JsonReport;
  } catch {
    assert.fail(`no JSON document on stdout\n${describeRun(what, r)}`);
  }
  assert.equal(report.sessions.length, 1, describeRun(what, r));
  assert.equal(report.exitCode, r.code, `JSON exitCode vs exit status\n${describeRun(what, r)}`);
  return report.sessions[0]!;
}

/** The `-> ` lines etrn sent, from a -v transcript. */
function sent(r: CliRun): string[] {
  return r.stderr
    .split('\n')
    .filter((l) => l.startsWith('-> '))
    .map((l) => l.slice(3));
}

let certs: TestCerts;
before(() => {
  certs = makeCerts();
});
after(async () => {
  if (certs !== undefined && !process.env.ETRN_LAB_KEEP) await rm(certs.dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------- Postfix

describe('Postfix 3.7 with STARTTLS (smtpd_tls_security_level = may)', () => {
  let lab: PostfixLab | undefined;
  let sink: Sink | undefined;
  let sinkPort = 0;

  before(async () => {
    sinkPort = await reservePort();
    lab = await startPostfix({ sinkPort, tls: { certFile: certs.certFile, keyFile: certs.keyFile } });
  });
  after(async () => {
    await sink?.close();
    await lab?.stop();
  });

  function theLab(): PostfixLab {
    assert.ok(lab, 'the Postfix lab did not start (see the before hook)');
    return lab;
  }

  /** Adds Postfix's log to a failure. */
  async function withLog<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (e) {
      if (e instanceof Error && lab) e.message += `\n--- postfix maillog (${lab.dir}) ---\n${await lab.logText()}`;
      throw e;
    }
  }

  /**
   * Queues a message for `to` while the sink is down, so that its first
   * delivery deferred it (retry in an hour), then brings the sink up:
   * from then on only ETRN delivers it. Returns its queue id.
   */
  async function queueDeferred(to: string): Promise<string> {
    const l = theLab();
    await sink?.close();
    sink = undefined;
    const before = new Set(await l.queueIds());
    await l.queueMessage(to);
    const ids = (await l.queueIds()).filter((id) => !before.has(id));
    assert.equal(ids.length, 1, `one new queue id for ${to}, got ${ids.join(' ')}`);
    sink = await startSink(sinkPort);
    return ids[0]!;
  }

  function etrn(...args: string[]): Promise<CliRun> {
    return runEtrn(['-v', '--json', '-p', String(theLab().port), '--helo', 'etrn.test', ...args, '127.0.0.1', 'client.test']);
  }

  async function delivered(to: string): Promise<SinkMessage> {
    const s = sink;
    assert.ok(s, 'sink is up');
    const deadline = Date.now() + 20_000;
    for (;;) {
      const m = s.messages.find((x) => x.to.includes(`<${to}>`));
      if (m) return m;
      if (Date.now() > deadline) assert.fail(`no message for ${to} at the sink within 20 s (it has ${s.messages.length})`);
      await sleep(100);
    }
  }

  /** The log Postfix wrote for the connections made since `offset`, once the last one's "disconnect from" line is in. */
  async function sessionLog(offset: number, connections = 1): Promise<string> {
    const l = theLab();
    const deadline = Date.now() + 10_000;
    for (;;) {
      const text = (await l.logText()).slice(offset);
      const disconnects = text.split('\n').filter((line) => / postfix\/smtpd\[\d+\]: disconnect from /.test(line)).length;
      if (disconnects >= connections) return text;
      if (Date.now() > deadline) assert.fail(`Postfix logged ${disconnects} of ${connections} disconnects within 10 s:\n${text}`);
      await sleep(100);
    }
  }

  test('(a) opportunistic (the default): STARTTLS, certificate not verified, mail delivered', { timeout: TEST_TIMEOUT }, async () => {
    await withLog(async () => {
      const l = theLab();
      const id = await queueDeferred('tls-a@client.test');
      const r = await etrn();
      assert.equal(r.code, 0, describeRun('opportunistic', r));
      const s = session(r, 'opportunistic');
      assert.ok(s.tls, `tls is null\n${describeRun('opportunistic', r)}`);
      assert.match(s.tls.version, /^TLSv1\.[23]$/);
      assert.ok(s.tls.cipher.length > 0);
      assert.equal(s.tls.verified, false, 'no --tls-ca: the test CA is not trusted');
      assert.equal(s.authenticated, false);
      assert.equal(s.error, null);
      assert.deepEqual(
        s.nodes.map((n) => [n.node, n.code, n.ok]),
        [['client.test', 250, true]],
      );
      // STARTTLS, then EHLO again over TLS, then ETRN.
      assert.deepEqual(sent(r), ['EHLO etrn.test', 'STARTTLS', 'EHLO etrn.test', 'ETRN client.test', 'QUIT']);
      assert.match(r.stderr, /== TLS established: TLSv1\.[23] \S+, certificate not verified/);
      await delivered('tls-a@client.test');
      const deadline = Date.now() + 10_000;
      while ((await l.queueIds()).includes(id) && Date.now() < deadline) await sleep(100);
      assert.ok(!(await l.queueIds()).includes(id), `${id} left the queue`);
    });
  });

  test('(b) --tls required without --tls-ca: exit 69, kind tls, no ETRN reaches Postfix, mail stays queued', { timeout: TEST_TIMEOUT }, async () => {
    await withLog(async () => {
      const l = theLab();
      const to = 'tls-b@client.test';
      const id = await queueDeferred(to);
      const offset = (await l.logText()).length;
      const r = await etrn('--tls', 'required');
      assert.equal(r.code, 69, describeRun('required, no CA', r));
      const s = session(r, 'required, no CA');
      assert.equal(s.error?.kind, 'tls', describeRun('required, no CA', r));
      assert.match(s.error?.message ?? '', /certificate|verify/i);
      assert.equal(s.tls, null);
      assert.deepEqual(
        s.nodes.map((n) => [n.node, n.code, n.ok]),
        [['client.test', undefined, false]],
        'the node was never answered',
      );
      assert.deepEqual(sent(r), ['EHLO etrn.test', 'STARTTLS'], 'nothing after STARTTLS: no ETRN, not even in clear');

      // Postfix's own account of the session: STARTTLS tried, no ETRN.
      const log = await sessionLog(offset);
      assert.match(log, /lost connection after STARTTLS/, log);
      assert.match(log, /disconnect from \S+ ehlo=1 starttls=0\/1 commands=1\/2/, log);
      assert.doesNotMatch(log, /etrn=/i, log);

      // The sink is up, yet nothing arrives and the message stays deferred.
      await sleep(SETTLE_MS);
      assert.equal(sink?.messages.filter((m) => m.to.includes(`<${to}>`)).length, 0, 'nothing delivered');
      const entry = (await l.queue()).find((e) => e.queue_id === id);
      assert.equal(entry?.queue_name, 'deferred', `${id} still deferred`);
    });
  });

  test('(c) --tls required --tls-ca: exit 0, certificate verified, mail delivered', { timeout: TEST_TIMEOUT }, async () => {
    await withLog(async () => {
      const l = theLab();
      const id = await queueDeferred('tls-c@client.test');
      const offset = (await l.logText()).length;
      const r = await etrn('--tls', 'required', '--tls-ca', certs.caFile);
      assert.equal(r.code, 0, describeRun('required with CA', r));
      const s = session(r, 'required with CA');
      assert.ok(s.tls, 'tls present');
      assert.match(s.tls.version, /^TLSv1\.[23]$/);
      assert.equal(s.tls.verified, true);
      assert.equal(s.error, null);
      assert.deepEqual(s.nodes.map((n) => [n.code, n.ok]), [[250, true]]);
      assert.match(r.stderr, /== TLS established: TLSv1\.[23] \S+, certificate verified/);
      const log = await sessionLog(offset);
      assert.match(log, /TLS connection established from \S+: TLSv1\.[23]/, log);
      assert.match(log, /disconnect from \S+ ehlo=2 starttls=1 etrn=1 quit=1 commands=5/, log);
      await delivered('tls-c@client.test');
      const deadline = Date.now() + 10_000;
      while ((await l.queueIds()).includes(id) && Date.now() < deadline) await sleep(100);
      assert.ok(!(await l.queueIds()).includes(id), `${id} left the queue`);
    });
  });

  test('(d) --tls required --tls-ca with a name the certificate lacks: exit 69, no ETRN', { timeout: TEST_TIMEOUT }, async () => {
    await withLog(async () => {
      const l = theLab();
      const offset = (await l.logText()).length;
      const r = await etrn('--tls', 'required', '--tls-ca', certs.caFile, '--tls-servername', 'other-mx.test');
      assert.equal(r.code, 69, describeRun('required, wrong name', r));
      const s = session(r, 'required, wrong name');
      assert.equal(s.error?.kind, 'tls');
      assert.match(s.error?.message ?? '', /other-mx\.test|altname|hostname/i, describeRun('required, wrong name', r));
      assert.deepEqual(sent(r), ['EHLO etrn.test', 'STARTTLS']);
      const log = await sessionLog(offset);
      assert.doesNotMatch(log, /etrn=/i, log);
    });
  });
});

// ---------------------------------------------------------------- Exim

/** Every etrn run that involved the AUTH account, for the secret search at the end. */
const authRuns: { what: string; run: CliRun; authSent: boolean }[] = [];

function record(what: string, run: CliRun, authSent: boolean): CliRun {
  authRuns.push({ what, run, authSent });
  return run;
}

describe('Exim 4.96 with STARTTLS, AUTH PLAIN/LOGIN after STARTTLS, ETRN only when authenticated', () => {
  let lab: EximLab | undefined;
  let sink: Sink | undefined;

  before(async () => {
    const sinkPort = await reservePort();
    lab = await startExim({
      sinkPort,
      tls: { certFile: certs.certFile, keyFile: certs.keyFile },
      auth: { user: USER, password: PASSWORD },
    });
    // Exim only queues (-odq): nothing is delivered before a queue run (ETRN).
    sink = await startSink(sinkPort);
  });
  after(async () => {
    await sink?.close();
    await lab?.stop();
  });

  function theLab(): EximLab {
    assert.ok(lab, 'the Exim lab did not start (see the before hook)');
    return lab;
  }

  async function withLog<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (e) {
      if (e instanceof Error && lab) e.message += `\n--- exim mainlog (${lab.dir}) ---\n${await lab.mainlog()}`;
      throw e;
    }
  }

  /** Queues a message for `to`; returns its id. */
  async function queue(to: string): Promise<string> {
    const l = theLab();
    const before = new Set(await l.queueIds());
    await l.queueMessage(to);
    const ids = (await l.queueIds()).filter((id) => !before.has(id));
    assert.equal(ids.length, 1, `one new queue id for ${to}`);
    return ids[0]!;
  }

  function etrn(args: string[], password = PASSWORD): Promise<CliRun> {
    return runEtrn(['-v', '-p', String(theLab().port), '--helo', 'etrn.test', ...args, '127.0.0.1', 'client.test'], {
      env: { ETRN_PASSWORD: password },
    });
  }

  /** After a refused run: no queue run started, nothing at the sink, the message still queued. */
  async function stillQueued(id: string, to: string, logOffset: number): Promise<string> {
    await sleep(SETTLE_MS);
    const log = (await theLab().mainlog()).slice(logOffset);
    assert.doesNotMatch(log, /Start queue run/, `no queue run:\n${log}`);
    assert.equal(sink?.messages.filter((m) => m.to.includes(`<${to}>`)).length, 0, `nothing delivered to ${to}`);
    assert.ok((await theLab().queueIds()).includes(id), `${id} still queued`);
    return log;
  }

  async function flushed(id: string, to: string): Promise<void> {
    const s = sink!;
    const deadline = Date.now() + 20_000;
    while (!s.messages.some((m) => m.to.includes(`<${to}>`)) && Date.now() < deadline) await sleep(100);
    assert.ok(s.messages.some((m) => m.to.includes(`<${to}>`)), `message for ${to} at the sink`);
    while ((await theLab().queueIds()).includes(id) && Date.now() < deadline) await sleep(100);
    assert.ok(!(await theLab().queueIds()).includes(id), `${id} left the queue`);
  }

  test('ETRN without AUTH (over STARTTLS) is refused: 458, exit 75, mail stays queued', { timeout: TEST_TIMEOUT }, async () => {
    await withLog(async () => {
      const to = 'noauth@client.test';
      const id = await queue(to);
      const offset = (await theLab().mainlog()).length;
      const r = await etrn(['--json']);
      assert.equal(r.code, 75, describeRun('no AUTH', r));
      const s = session(r, 'no AUTH');
      assert.ok(s.tls, 'opportunistic STARTTLS happened');
      assert.equal(s.authenticated, false);
      assert.equal(s.error, null, 'the session itself went well');
      const node = s.nodes[0];
      assert.equal(node?.node, 'client.test');
      assert.equal(node.ok, false);
      assert.ok(node.code !== undefined && node.code >= 400 && node.code < 500, `a 4xx, got ${node.code}`);
      assert.equal(node.code, 458, "Exim's code for an ETRN ACL deny without one in the message");
      assert.equal(node.text, authRefusal);
      assert.match(r.stderr, /<- 250-AUTH PLAIN LOGIN/, 'AUTH is offered after STARTTLS');
      assert.deepEqual(sent(r), ['EHLO etrn.test', 'STARTTLS', 'EHLO etrn.test', 'ETRN client.test', 'QUIT']);
      const log = await stillQueued(id, to, offset);
      assert.match(log, new RegExp(`rejected ETRN client\\.test: ${authRefusal}`), log);
    });
  });

  test('ETRN after AUTH PLAIN over verified STARTTLS flushes the queue (exit 0, authenticated)', { timeout: TEST_TIMEOUT }, async (t) => {
    await withLog(async () => {
      const to = 'auth-plain@client.test';
      const id = await queue(to);
      const offset = (await theLab().mainlog()).length;
      const r = record(
        'AUTH PLAIN, --tls required',
        await etrn(['--json', '--auth-user', USER, '--tls', 'required', '--tls-ca', certs.caFile]),
        true,
      );
      assert.equal(r.code, 0, describeRun('AUTH PLAIN', r));
      const s = session(r, 'AUTH PLAIN');
      assert.equal(s.authenticated, true);
      assert.ok(s.tls, 'tls present');
      assert.match(s.tls.version, /^TLSv1\.[23]$/);
      assert.equal(s.tls.verified, true);
      assert.deepEqual(s.nodes.map((n) => [n.node, n.code, n.ok]), [['client.test', 250, true]]);
      assert.deepEqual(sent(r), ['EHLO etrn.test', 'STARTTLS', 'EHLO etrn.test', 'AUTH PLAIN ********', 'ETRN client.test', 'QUIT']);
      assert.match(r.stderr, /<- 235 /);
      await flushed(id, to);
      const log = (await theLab().mainlog()).slice(offset);
      assert.match(log, /ETRN client\.test received/, log);
      assert.match(log, /Start queue run: .* -R client\.test/, log);
      // The transcript for the closing note.
      t.diagnostic('--- etrn -v transcript: AUTH PLAIN + ETRN over STARTTLS, real Exim ---');
      for (const line of r.stderr.trimEnd().split('\n')) t.diagnostic(line);
    });
  });

  test('the default opportunistic TLS with a certificate that does not verify: no AUTH, no ETRN (77), mail stays queued', { timeout: TEST_TIMEOUT }, async () => {
    await withLog(async () => {
      const to = 'auth-opp@client.test';
      const id = await queue(to);
      const offset = (await theLab().mainlog()).length;
      const r = record('AUTH PLAIN, opportunistic', await etrn(['--json', '--auth-user', USER]), false);
      assert.equal(r.code, 77, describeRun('AUTH opportunistic', r));
      const s = session(r, 'AUTH opportunistic');
      assert.equal(s.authenticated, false);
      assert.equal(s.tls?.verified, false);
      assert.equal(s.error?.kind, 'auth');
      assert.match(s.error?.message ?? '', /certificate did not verify.*--tls-insecure.*--auth-cleartext/);
      assert.deepEqual(sent(r), ['EHLO etrn.test', 'STARTTLS', 'EHLO etrn.test', 'QUIT']);
      const log = await stillQueued(id, to, offset);
      assert.doesNotMatch(log, /ETRN|authenticator/, log);
    });
  });

  test('--tls-insecure accepts the unverified certificate: AUTH, ETRN, mail delivered', { timeout: TEST_TIMEOUT }, async () => {
    await withLog(async () => {
      const to = 'auth-insecure@client.test';
      const id = await queue(to);
      const r = record('AUTH PLAIN, --tls-insecure', await etrn(['--json', '--auth-user', USER, '--tls-insecure']), true);
      assert.equal(r.code, 0, describeRun('AUTH --tls-insecure', r));
      const s = session(r, 'AUTH --tls-insecure');
      assert.equal(s.authenticated, true);
      assert.equal(s.tls?.verified, false);
      await flushed(id, to);
    });
  });

  test('a wrong password: 535, exit 77, kind auth, no ETRN, mail stays queued', { timeout: TEST_TIMEOUT }, async () => {
    await withLog(async () => {
      const to = 'badpw@client.test';
      const id = await queue(to);
      const offset = (await theLab().mainlog()).length;
      // Human output this time (no --json): the error line is searched too.
      const r = record('wrong password', await etrn(['--auth-user', USER, '--tls-ca', certs.caFile], `${PASSWORD}-wrong`), true);
      assert.equal(r.code, 77, describeRun('wrong password', r));
      assert.match(r.stderr, /authentication failed: 535 /, describeRun('wrong password', r));
      assert.deepEqual(sent(r), ['EHLO etrn.test', 'STARTTLS', 'EHLO etrn.test', 'AUTH PLAIN ********', 'QUIT']);
      const log = await stillQueued(id, to, offset);
      assert.match(log, /plain_server authenticator failed/, log);
      assert.doesNotMatch(log, /ETRN/, log);

      const j = record('wrong password, --json', await etrn(['--json', '--auth-user', USER, '--tls-ca', certs.caFile], `${PASSWORD}-wrong`), true);
      assert.equal(j.code, 77, describeRun('wrong password --json', j));
      const s = session(j, 'wrong password --json');
      assert.equal(s.error?.kind, 'auth');
      assert.equal(s.authenticated, false);
      assert.deepEqual(s.nodes.map((n) => [n.code, n.ok]), [[undefined, false]]);
    });
  });

  test('--tls off with --auth-user and no --auth-cleartext: usage error (64) before any connection', { timeout: TEST_TIMEOUT }, async () => {
    await withLog(async () => {
      const to = 'clear@client.test';
      const id = await queue(to);
      const offset = (await theLab().mainlog()).length;
      const r = await etrn(['--json', '--tls', 'off', '--auth-user', USER]);
      assert.equal(r.code, 64, describeRun('--tls off', r));
      assert.match(r.stderr, /--tls off.*--auth-cleartext/);
      assert.deepEqual(sent(r), [], 'nothing sent');
      assert.doesNotMatch(r.stderr, /connecting to/);
      assert.ok(!(r.stdout + r.stderr).includes(PASSWORD));
      const log = await stillQueued(id, to, offset);
      assert.doesNotMatch(log, /connection from|ETRN|authenticator/, log);
    });
  });

  test('--tls off --auth-cleartext: Exim offers no AUTH in clear, etrn says so (77), sends no AUTH', { timeout: TEST_TIMEOUT }, async () => {
    await withLog(async () => {
      const to = 'cleartext@client.test';
      const id = await queue(to);
      const offset = (await theLab().mainlog()).length;
      const r = record('--tls off --auth-cleartext', await etrn(['--json', '--tls', 'off', '--auth-cleartext', '--auth-user', USER]), false);
      assert.equal(r.code, 77, describeRun('--auth-cleartext', r));
      const s = session(r, '--auth-cleartext');
      assert.equal(s.error?.kind, 'auth');
      assert.match(s.error?.message ?? '', /server does not offer AUTH/);
      assert.deepEqual(sent(r), ['EHLO etrn.test', 'QUIT']);
      const log = await stillQueued(id, to, offset);
      assert.doesNotMatch(log, /ETRN|authenticator/, log);
    });
  });
});

describe('Exim 4.96 offering only AUTH LOGIN', () => {
  test('AUTH LOGIN (secret from --auth-password-file) then ETRN flushes the queue', { timeout: TEST_TIMEOUT }, async (t) => {
    const sinkPort = await reservePort();
    const lab = await startExim({
      sinkPort,
      tls: { certFile: certs.certFile, keyFile: certs.keyFile },
      auth: { user: USER, password: PASSWORD, mechanisms: ['LOGIN'] },
    });
    let sink: Sink | undefined;
    t.after(async () => {
      await sink?.close();
      await lab.stop();
    });
    sink = await startSink(sinkPort);
    await lab.queueMessage('auth-login@client.test');
    assert.equal((await lab.queueIds()).length, 1);
    const pwFile = join(lab.dir, 'etrn-password');
    await writeFile(pwFile, `${PASSWORD}\n`, { mode: 0o600 });
    const r = record(
      'AUTH LOGIN',
      await runEtrn(
        ['-v', '--json', '-p', String(lab.port), '--helo', 'etrn.test', '--auth-user', USER, '--auth-password-file', pwFile,
          '--tls', 'required', '--tls-ca', certs.caFile, '127.0.0.1', 'client.test'],
        { env: { ETRN_PASSWORD: '' } },
      ),
      true,
    );
    assert.equal(r.code, 0, describeRun('AUTH LOGIN', r) + `\n--- exim mainlog\n${await lab.mainlog()}`);
    const s = session(r, 'AUTH LOGIN');
    assert.equal(s.authenticated, true);
    assert.equal(s.tls?.verified, true);
    assert.match(r.stderr, /<- 250-AUTH LOGIN\n/);
    assert.deepEqual(sent(r), ['EHLO etrn.test', 'STARTTLS', 'EHLO etrn.test', 'AUTH LOGIN', '********', '********', 'ETRN client.test', 'QUIT']);
    // Exim's prompts, base64: "Username:" and "Password:".
    assert.match(r.stderr, /<- 334 VXNlcm5hbWU6\n/);
    assert.match(r.stderr, /<- 334 UGFzc3dvcmQ6\n/);
    assert.doesNotMatch(r.stderr, /warning: .*password file/, 'mode 0600: no warning');
    await sink.waitFor(1, 20_000);
    assert.deepEqual(sink.messages.flatMap((m) => m.to), ['<auth-login@client.test>']);
    const deadline = Date.now() + 20_000;
    while ((await lab.queueIds()).length > 0 && Date.now() < deadline) await sleep(100);
    assert.deepEqual(await lab.queueIds(), []);
  });
});

// ---------------------------------------------------------------- secrets

/** Base64 strings that appear in any base64 text carrying `bytes`, whatever its alignment. */
function base64Cores(bytes: Buffer): string[] {
  const cores: string[] = [];
  for (let skip = 0; skip < 3; skip++) {
    const rest = bytes.subarray(skip);
    const whole = rest.subarray(0, rest.length - (rest.length % 3));
    if (whole.length >= 6) cores.push(whole.toString('base64'));
  }
  return cores;
}

test('no transcript or output of the AUTH runs shows the secret, plain or base64; "********" stands for it', () => {
  const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
  const wrong = `${PASSWORD}-wrong`;
  const forbidden = new Map<string, string>([
    ['the password', PASSWORD],
    ['the password, base64', b64(PASSWORD)],
    ['the PLAIN response "\\0user\\0password", base64', b64(`\0${USER}\0${PASSWORD}`)],
    ['the PLAIN response with the wrong password, base64', b64(`\0${USER}\0${wrong}`)],
    ['the LOGIN user step, base64', b64(USER)],
    ['the LOGIN password step, base64', b64(PASSWORD)],
    ['the wrong password, base64', b64(wrong)],
    ...base64Cores(Buffer.from(PASSWORD, 'utf8')).map((c, i): [string, string] => [`the password inside base64 (alignment ${i})`, c]),
  ]);
  for (const { what, run, authSent } of authRuns) {
    const text = `${run.stdout}\n${run.stderr}`;
    assert.ok(run.stderr.includes('-> '), `${what}: a -v transcript was captured`);
    for (const [name, needle] of forbidden) {
      assert.ok(!text.includes(needle), `${what}: ${name} (${JSON.stringify(needle)}) appears in the output\n${describeRun(what, run)}`);
    }
    if (authSent) {
      assert.ok(text.includes('********'), `${what}: AUTH was sent, "********" should stand for the secret\n${describeRun(what, run)}`);
      const authLines = run.stderr.split('\n').filter((l) => /^-> AUTH /.test(l));
      assert.ok(authLines.length > 0, `${what}: an AUTH line in the transcript`);
      for (const l of authLines) assert.match(l, /^-> AUTH (PLAIN \*{8}|LOGIN)$/, `${what}: ${l}`);
    } else {
      assert.ok(!/^-> AUTH/m.test(run.stderr), `${what}: no AUTH was sent`);
    }
  }
  // Checked last, so that a leak in the runs there are is reported first.
  const names = authRuns.map((r) => r.what);
  for (const expected of ['AUTH PLAIN, --tls required', 'AUTH PLAIN, opportunistic', 'AUTH PLAIN, --tls-insecure', 'wrong password', 'wrong password, --json', '--tls off --auth-cleartext', 'AUTH LOGIN']) {
    assert.ok(names.includes(expected), `the AUTH run "${expected}" did not happen (its test failed early); have: ${names.join(', ')}`);
  }
});

describe('OpenSMTPD 6.8 with a certificate: advertises STARTTLS, then fails every handshake', () => {
  test('opportunistic: says so, reconnects once in clear, and reports that ETRN is not offered (69)', { timeout: TEST_TIMEOUT }, async (t) => {
    const { startOpensmtpd } = await import('../lab/opensmtpd.js');
    const certs = makeCerts();
    const lab = await startOpensmtpd({ sinkPort: await reservePort(), tls: { certFile: certs.certFile, keyFile: certs.keyFile } });
    t.after(() => lab.stop());
    const args = ['-v', '-p', String(lab.port), '--helo', 'etrn.test', '127.0.0.1', 'client.test'];
    const r = await runEtrn(args);
    assert.equal(r.code, 69, describeRun('opensmtpd opportunistic', r));
    assert.match(r.stderr, /<- 250-STARTTLS\n[^]*-> STARTTLS\n<- 220 [^\n]*\n== TLS handshake failed: /, r.stderr);
    assert.match(r.stderr, /== opportunistic TLS failed; reconnecting without TLS\n== connected to 127\.0\.0\.1:\d+\n<- 220 /);
    assert.equal(r.stderr.match(/-> STARTTLS/g)?.length, 1, 'STARTTLS is not tried again on the clear connection');
    assert.match(r.stderr, /server does not offer ETRN/);
    const required = await runEtrn(['--json', '--tls', 'required', '--tls-ca', certs.caFile, ...args.slice(1)]);
    assert.equal(required.code, 69, describeRun('opensmtpd required', required));
    const doc = JSON.parse(required.stdout);
    assert.equal(doc.sessions[0].error.kind, 'tls');
    assert.match(doc.sessions[0].error.message, /TLS handshake failed: /);
    assert.equal(doc.sessions[0].error.phase, 'tls');
  });
});
