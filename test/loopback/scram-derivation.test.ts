// SCRAM's key derivation never stalls a run (issue 10 item 3): servers that
// each ask for 1,000,000 PBKDF2 iterations and answer every step at once,
// one run with -t 2. Derived on the event loop (pbkdf2Sync, as before),
// each key blocks every other session for about half a second, and sessions
// whose reply already arrived time out; derived on the thread pool, every
// session authenticates. With one salt for all, the run derives once. The
// only bound on time is generous (a hang, not a speed).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runEtrn } from '../helpers/cli.js';
import { type ScramFleet, startScramFleet } from '../helpers/scram-fleet.js';

const SERVERS = 6;
const PASSWORD = 'pencil-7Q';
const fleets: ScramFleet[] = [];
after(async () => {
  await Promise.all(fleets.map((f) => f.close()));
});

interface Doc {
  exitCode: number;
  sessions: { authenticated: boolean; error: { kind: string; message: string } | null; nodes: { ok: boolean }[] }[];
}

async function runFleet(sharedSalt: boolean): Promise<{ doc: Doc; fleet: ScramFleet; stderr: string }> {
  const fleet = await startScramFleet({ count: SERVERS, user: 'etrnuser', password: PASSWORD, iterations: 1_000_000, sharedSalt });
  fleets.push(fleet);
  const spec = fleet.addresses.map((a, i) => `${a}:n${i}.example`).join(' ');
  const args = ['--json', '-t', '2', '-j', String(SERVERS), '-p', String(fleet.port), '--local-port', String(fleet.boot.port)];
  const run = await runEtrn([...args, '--helo', 'client.example', '--tls', 'off', '--auth-cleartext', '--auth-user', 'etrnuser', '--etrn-hosts', spec], {
    env: { ETRN_PASSWORD: PASSWORD },
    killAfterMs: 120_000,
  });
  assert.ok(run.elapsedMs < 100_000, `no hang: ${Math.round(run.elapsedMs)} ms`);
  return { doc: JSON.parse(run.stdout) as Doc, fleet, stderr: run.stderr };
}

describe('SCRAM with 1,000,000 iterations on several servers at once, -t 2', () => {
  for (const sharedSalt of [false, true]) {
    test(`${sharedSalt ? 'one salt for all' : 'a salt per server'}: no session times out, every one authenticates and sends ETRN`, { timeout: 150_000 }, async () => {
      const { doc, fleet, stderr } = await runFleet(sharedSalt);
      const failures = doc.sessions.filter((s) => s.error !== null).map((s) => `${s.error!.kind}: ${s.error!.message}`);
      assert.deepEqual(failures, [], `stderr: ${stderr}`);
      assert.equal(doc.exitCode, 0);
      assert.equal(doc.sessions.length, SERVERS);
      for (const s of doc.sessions) {
        assert.equal(s.authenticated, true);
        assert.equal(s.nodes[0]!.ok, true);
      }
      for (const [i, commands] of fleet.commands.entries()) {
        assert.ok(commands.includes('AUTH SCRAM-SHA-256'), `server ${i}: ${commands.join(' | ')}`);
        assert.ok(commands.includes(`ETRN n${i}.example`), `server ${i} got its ETRN: ${commands.join(' | ')}`);
      }
    });
  }
});
