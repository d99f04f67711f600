// Benchmark for issue 10 item 3: SCRAM key derivation must not stall a run.
// 60 loopback servers (test/helpers/scram-fleet.ts, 127.0.4.x, in this
// process) each ask for AUTH SCRAM-SHA-256 with 1,000,000 PBKDF2 iterations
// and answer every step at once; `etrn -j 60 -t 3 --tls off --auth-cleartext
// --etrn-hosts ...` authenticates to all of them. Two cases: a salt per
// server (60 derivations, on libuv's thread pool) and one salt for all (the
// run derives once and reuses the key). Reports wall time, sessions timed
// out (the goal: none) and sessions authenticated. The servers' own keys are
// derived before the clock starts. Not a test: it fails only when a run goes
// wrong (killed, no JSON, a session missing), never because a goal is missed.
//
// Usage: node dist/bench/scram.js [--reps 3] [--servers 60] [--iterations 1000000]
//        [--timeout 3]   (also part of `npm run bench`, `--only scram`)
import { parseArgs } from 'node:util';
import { BenchError, describeRun, runTimed } from './lib/process.js';
import { type Summary, summarize } from './lib/stats.js';
import { HELO, etrnBin, node } from './lib/tools.js';
import { type ScramFleet, startScramFleet } from '../test/helpers/scram-fleet.js';

const PASSWORD = 'bench-pässword';

export interface ScramSettings {
  readonly reps: number;
  readonly servers: number;
  readonly iterations: number;
  readonly timeoutS: number;
}

export interface ScramRow {
  readonly salts: 'per server' | 'shared';
  readonly runs: number;
  readonly wallMs: Summary;
  /** Sessions that failed with a timeout, worst run (the goal: 0). */
  readonly timeouts: number;
  /** Sessions authenticated, worst run. */
  readonly authenticated: number;
  readonly exitCodes: number[];
}

export interface ScramResult extends ScramSettings {
  readonly jobs: number;
  readonly rows: ScramRow[];
}

interface Doc {
  sessions: { authenticated: boolean; error: { kind: string } | null }[];
}

async function measure(fleet: ScramFleet, salts: ScramRow['salts'], s: ScramSettings): Promise<ScramRow> {
  const spec = fleet.addresses.map((a, i) => `${a}:n${i}.bench.example`).join(' ');
  const args = [etrnBin, '--json', '-j', String(s.servers), '-t', String(s.timeoutS), '-p', String(fleet.port), '--local-port', String(fleet.boot.port)];
  args.push('--helo', HELO, '--tls', 'off', '--auth-cleartext', '--auth-user', 'benchuser', '--etrn-hosts', spec);
  const walls: number[] = [];
  const exitCodes: number[] = [];
  let timeouts = 0;
  let authenticated = s.servers;
  for (let i = 0; i < s.reps; i++) {
    const r = await runTimed(node, args, { timeoutMs: 300_000, env: { ...process.env, ETRN_PASSWORD: PASSWORD } });
    if (r.timedOut || r.signal) throw new BenchError(describeRun(`SCRAM, ${salts} salts`, r));
    let doc: Doc;
    try {
      doc = JSON.parse(r.stdout) as Doc;
    } catch {
      throw new BenchError(describeRun(`SCRAM, ${salts} salts: no JSON`, r));
    }
    if (doc.sessions.length !== s.servers) throw new BenchError(`SCRAM, ${salts} salts: ${doc.sessions.length} of ${s.servers} sessions reported`);
    const timedOut = doc.sessions.filter((x) => x.error?.kind === 'timeout').length;
    timeouts = Math.max(timeouts, timedOut);
    authenticated = Math.min(authenticated, doc.sessions.filter((x) => x.authenticated).length);
    walls.push(r.ms);
    exitCodes.push(r.code ?? -1);
    process.stderr.write(`scram: ${salts} salts, run ${i + 1}: ${Math.round(r.ms)} ms, exit ${r.code}, ${timedOut} timeouts\n`);
  }
  return { salts, runs: s.reps, wallMs: summarize(walls), timeouts, authenticated, exitCodes };
}

export async function benchScram(s: ScramSettings): Promise<ScramResult> {
  const rows: ScramRow[] = [];
  for (const shared of [false, true]) {
    const fleet = await startScramFleet({ count: s.servers, user: 'benchuser', password: PASSWORD, iterations: s.iterations, sharedSalt: shared });
    try {
      rows.push(await measure(fleet, shared ? 'shared' : 'per server', s));
    } finally {
      await fleet.close();
    }
  }
  return { ...s, jobs: s.servers, rows };
}

const { values } = parseArgs({
  options: {
    reps: { type: 'string', default: '3' },
    servers: { type: 'string', default: '60' },
    iterations: { type: 'string', default: '1000000' },
    timeout: { type: 'string', default: '3' },
  },
});
const whole = (name: string, text: string, max: number): number => {
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > max) throw new BenchError(`--${name} must be a whole number from 1 to ${max}`);
  return Number(text);
};
try {
  const settings: ScramSettings = {
    reps: whole('reps', values.reps, 51),
    servers: whole('servers', values.servers, 250),
    iterations: whole('iterations', values.iterations, 1_000_000),
    timeoutS: whole('timeout', values.timeout, 300),
  };
  process.stdout.write(`${JSON.stringify(await benchScram(settings), null, 2)}\n`);
} catch (error) {
  process.stderr.write(`bench/scram: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
