// End-to-end: SCRAM-SHA-256 against a server nobody here wrote (issue 10).
// Postfix 3.7 (test/lab/postfix.ts) with Cyrus SASL 2.1.28 (test/lab/sasl.ts:
// sasldb auxprop, mech_list SCRAM-SHA-256 PLAIN, AUTH only over TLS, ETRN
// only for authenticated clients), a certificate from the test CA verified
// with --tls-ca. The account's password is "pä ss" stored as NFC UTF-8:
//   - typed as NFC: SCRAM authenticates (Cyrus checks the proof and etrn
//     checks Cyrus's signature), ETRN flushes, the message reaches the sink;
//   - typed as NFD with a no-break space: the OpaqueString preparation
//     (RFC 8265) makes it the same password, the same result;
//   - a wrong password: Cyrus refuses (535), exit 77, the mail stays queued.
// A missing lab makes these tests fail with the install command, never skip.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { runEtrn, type CliRun } from '../helpers/cli.js';
import { makeCerts, type TestCerts } from '../helpers/certs.js';
import { startSink, type Sink } from '../lab/sink.js';
import { reservePort, sleep } from '../lab/mta-common.js';
import { startPostfix, type PostfixLab } from '../lab/postfix.js';
import { type CyrusSasl, setUpCyrusSasl } from '../lab/sasl.js';

const TEST_TIMEOUT = 90_000;
const USER = 'etrnuser';
const PASSWORD = 'p\u00e4 ss';
/** How long a refused run is given to (wrongly) cause a delivery before the queue is checked. */
const SETTLE_MS = 1_500;

interface JsonSession {
  tls: { verified: boolean } | null;
  authenticated: boolean;
  error: { kind: string; message: string } | null;
  nodes: { node: string; code?: number; ok: boolean; sent: boolean }[];
}

function describeRun(what: string, r: CliRun): string {
  return `${what}: etrn exit ${r.code} after ${Math.round(r.elapsedMs)} ms\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;
}

function session(r: CliRun, what: string): JsonSession {
  const doc = JSON.parse(r.stdout) as { exitCode: number; sessions: JsonSession[] };
  assert.equal(doc.exitCode, r.code, describeRun(what, r));
  assert.equal(doc.sessions.length, 1);
  return doc.sessions[0]!;
}

/** The `-> ` lines etrn sent, from a -v transcript. */
const sent = (r: CliRun): string[] => r.stderr.split('\n').filter((l) => l.startsWith('-> ')).map((l) => l.slice(3));

describe('Postfix 3.7 + Cyrus SASL sasldb: AUTH SCRAM-SHA-256 over verified STARTTLS', () => {
  let certs: TestCerts | undefined;
  let lab: PostfixLab | undefined;
  let sasl: CyrusSasl | undefined;
  let sink: Sink | undefined;
  let sinkPort = 0;

  before(async () => {
    certs = makeCerts();
    sinkPort = await reservePort();
    lab = await startPostfix({
      sinkPort,
      tls: { certFile: certs.certFile, keyFile: certs.keyFile },
      prepare: async (dir, ids) => {
        sasl = await setUpCyrusSasl({ dir: join(dir, 'etc/sasl'), realm: 'etrn-lab.test', user: USER, password: PASSWORD }, ids.postfixGid);
        return { mainCf: sasl.mainCf, importEnvironment: [`SASL_PATH=${sasl.plugins}`] };
      },
    });
  });
  after(async () => {
    await sink?.close();
    await lab?.stop();
    if (certs) await rm(certs.dir, { recursive: true, force: true });
  });

  function theLab(): PostfixLab {
    assert.ok(lab, 'the Postfix lab did not start (see the before hook)');
    return lab;
  }

  async function withLog<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (e) {
      if (e instanceof Error && lab) e.message += `\n--- postfix maillog (${lab.dir}) ---\n${await lab.logText()}`;
      throw e;
    }
  }

  /** Queues a message for `to` while the sink is down (deferred), then brings the sink up. */
  async function queueDeferred(to: string): Promise<string> {
    const l = theLab();
    await sink?.close();
    sink = undefined;
    const known = new Set(await l.queueIds());
    await l.queueMessage(to);
    const ids = (await l.queueIds()).filter((id) => !known.has(id));
    assert.equal(ids.length, 1, `one new queue id for ${to}`);
    sink = await startSink(sinkPort);
    return ids[0]!;
  }

  function etrn(password: string): Promise<CliRun> {
    const l = theLab();
    const args = ['-v', '--json', '-p', String(l.port), '--helo', 'etrn.test', '--tls', 'required', '--tls-ca', certs!.caFile];
    return runEtrn([...args, '--auth-user', USER, '127.0.0.1', 'client.test'], { env: { ETRN_PASSWORD: password } });
  }

  async function delivered(to: string, id: string): Promise<void> {
    const deadline = Date.now() + 20_000;
    while (!sink?.messages.some((m) => m.to.includes(`<${to}>`))) {
      if (Date.now() > deadline) assert.fail(`no message for ${to} at the sink within 20 s`);
      await sleep(100);
    }
    while ((await theLab().queueIds()).includes(id)) {
      if (Date.now() > deadline) assert.fail(`${id} still queued`);
      await sleep(100);
    }
  }

  test('the lab: sasldb holds the account, Postfix offers SCRAM-SHA-256 after STARTTLS only', { timeout: TEST_TIMEOUT }, async () => {
    assert.match(await sasl!.listUsers(), /^etrnuser@etrn-lab\.test: userPassword$/m);
    await withLog(async () => {
      const r = await runEtrn(['-v', '--json', '-p', String(theLab().port), '--tls', 'off', '127.0.0.1', 'client.test']);
      assert.doesNotMatch(r.stderr, /<- 250-AUTH/, 'no AUTH offered in clear (smtpd_tls_auth_only)');
      assert.equal(session(r, 'no AUTH').nodes[0]!.code, 554, describeRun('ETRN without AUTH is refused', r));
    });
  });

  for (const [what, typed] of [
    ['the password as stored (NFC)', PASSWORD],
    ['the password typed in NFD with a no-break space (OpaqueString makes it the same)', 'pa\u0308\u00a0ss'],
  ] as const) {
    test(`${what}: SCRAM-SHA-256 authenticates both ways, ETRN delivers (exit 0)`, { timeout: TEST_TIMEOUT }, async () => {
      await withLog(async () => {
        const to = `scram-${typed === PASSWORD ? 'nfc' : 'nfd'}@client.test`;
        const id = await queueDeferred(to);
        const offset = (await theLab().logText()).length;
        const r = await etrn(typed);
        assert.equal(r.code, 0, describeRun(what, r));
        const s = session(r, what);
        assert.equal(s.tls?.verified, true);
        assert.equal(s.authenticated, true);
        assert.deepEqual(sent(r), ['EHLO etrn.test', 'STARTTLS', 'EHLO etrn.test', 'AUTH SCRAM-SHA-256 ********', '********', '********', 'ETRN client.test', 'QUIT']);
        assert.match(r.stderr, /<- 334 /, 'Cyrus sent its server-final (v=) as a 334 that etrn verified');
        await delivered(to, id);
        const log = (await theLab().logText()).slice(offset);
        assert.match(log, /disconnect from \S+ ehlo=2 starttls=1 auth=1 etrn=1 quit=1 commands=6/, log);
        assert.doesNotMatch(r.stdout + r.stderr, /p\u00e4 ss|pa\u0308/, 'the password appears nowhere');
      });
    });
  }

  test('a wrong password: Cyrus refuses, exit 77, no ETRN, the mail stays queued', { timeout: TEST_TIMEOUT }, async () => {
    await withLog(async () => {
      const to = 'scram-wrong@client.test';
      const id = await queueDeferred(to);
      const offset = (await theLab().logText()).length;
      const r = await etrn('p\u00e4 sss');
      assert.equal(r.code, 77, describeRun('wrong password', r));
      const s = session(r, 'wrong password');
      assert.equal(s.error?.kind, 'auth');
      assert.equal(s.authenticated, false);
      assert.equal(s.nodes[0]!.sent, false);
      assert.ok(!sent(r).some((l) => l.startsWith('ETRN')), describeRun('no ETRN', r));
      await sleep(SETTLE_MS);
      assert.equal(sink?.messages.filter((m) => m.to.includes(`<${to}>`)).length, 0, 'nothing delivered');
      assert.equal((await theLab().queue()).find((e) => e.queue_id === id)?.queue_name, 'deferred');
      const log = (await theLab().logText()).slice(offset);
      assert.match(log, /SASL SCRAM-SHA-256 authentication failed/, log);
      assert.doesNotMatch(log, /etrn=/, log);
    });
  });
});
