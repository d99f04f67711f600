// Benchmark 5 (issue 10 item 3): SCRAM key derivation must not stall a run.
// 60 loopback servers (test/helpers/scram-fleet.ts, 127.0.4.x, in this
// process) each ask for AUTH SCRAM-SHA-256 with 1,000,000 PBKDF2 iterations
// and answer every step at once; `etrn -j 60 -t 3 --tls off --auth-cleartext
// --etrn-hosts ...` authenticates to all of them. Two cases: a salt per
// server (60 derivations, on libuv's thread pool) and one salt for all (the
// run derives once and reuses the key). Reports wall time, sessions timed
// out (the goal: none) and sessions authenticated. The servers' own keys are
// derived before the clock starts.
import { BenchError, cleanups, describeRun, runTimed } from './lib/process.js';
import { type Summary, summarize } from './lib/stats.js';
import { HELO, etrnBin, node } from './lib/tools.js';
import { startScramFleet } from '../test/helpers/scram-fleet.js';

export const SCRAM_SERVERS = 60;
export const SCRAM_ITERATIONS = 1_000_000;
const TIMEOUT_S = 3;
const PASSWORD = 'bench-pässword';

export interface ScramRow {
  readonly salts: 'per server' | 'shared';
  readonly runs: number;
  readonly wall: Summary;
  /** Sessions that failed with a timeout, worst run. */
  readonly timeouts: number;
  /** Sessions authenticated, worst run (of SCRAM_SERVERS). */
  readonly authenticated: number;
  readonly exitCodes: number[];
}

export interface ScramResult {
  readonly servers: number;
  readonly iterations: number;
  readonly timeoutS: number;
  readonly jobs: number;
  readonly rows: ScramRow[];
}

interface Doc {
  sessions: { authenticated: boolean; error: { kind: string } | null }[];
}

export async function benchScram(reps: number): Promise<ScramResult> {
  const rows: ScramRow[] = [];
  for (const shared of [false, true]) {
    const salts = shared ? 'shared' : 'per server';
    const fleet = await startScramFleet({ count: SCRAM_SERVERS, user: 'benchuser', password: PASSWORD, iterations: SCRAM_ITERATIONS, sharedSalt: shared });
    cleanups.push(() => fleet.close());
    const spec = fleet.addresses.map((a, i) => `${a}:n${i}.bench.example`).join(' ');
    const args = [etrnBin, '--json', '-j', String(SCRAM_SERVERS), '-t', String(TIMEOUT_S), '-p', String(fleet.port), '--local-port', String(fleet.boot.port)];
    args.push('--helo', HELO, '--tls', 'off', '--auth-cleartext', '--auth-user', 'benchuser', '--etrn-hosts', spec);
    const walls: number[] = [];
    const exitCodes: number[] = [];
    let timeouts = 0;
    let authenticated = SCRAM_SERVERS;
    for (let i = 0; i < reps; i++) {
      const r = await runTimed(node, args, { timeoutMs: 300_000, env: { ...process.env, ETRN_PASSWORD: PASSWORD } });
      if (r.timedOut || r.signal) throw new BenchError(describeRun(`SCRAM, ${salts} salts`, r));
      let doc: Doc;
      try {
        doc = JSON.parse(r.stdout) as Doc;
      } catch {
        throw new BenchError(describeRun(`SCRAM, ${salts} salts: no JSON`, r));
      }
      if (doc.sessions.length !== SCRAM_SERVERS) throw new BenchError(`SCRAM, ${salts} salts: ${doc.sessions.length} of ${SCRAM_SERVERS} sessions reported`);
      timeouts = Math.max(timeouts, doc.sessions.filter((s) => s.error?.kind === 'timeout').length);
      authenticated = Math.min(authenticated, doc.sessions.filter((s) => s.authenticated).length);
      walls.push(r.ms);
      exitCodes.push(r.code ?? -1);
      console.error(`bench: SCRAM ${salts} salts, run ${i + 1}: ${Math.round(r.ms)} ms, exit ${r.code}, ${doc.sessions.filter((s) => s.error?.kind === 'timeout').length} timeouts`);
    }
    rows.push({ salts, runs: reps, wall: summarize(walls), timeouts, authenticated, exitCodes });
    await fleet.close();
  }
  return { servers: SCRAM_SERVERS, iterations: SCRAM_ITERATIONS, timeoutS: TIMEOUT_S, jobs: SCRAM_SERVERS, rows };
}
