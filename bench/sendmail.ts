// Benchmark 3, the real Sendmail lab, 20 nodes: the default --per-session 8
// against one session (Sendmail's tarpit from the 8th ETRN of a session on).
import { startSendmail } from '../test/lab/sendmail.js';
import { startSink } from '../test/lab/sink.js';
import { BenchError, type Timed, cleanups, describeRun, runTimed } from './lib/process.js';
import { type Summary, nodesFor, round, summarize } from './lib/stats.js';
import { HELO, etrnBin, ensureSendmailLab, node } from './lib/tools.js';

export const SENDMAIL_LIMIT_MS = 150_000;

export interface SendmailResult {
  readonly version: string;
  readonly nodes: number;
  readonly reps: number;
  readonly defaultWall: Summary;
  /** Default runs that took a second or more (Sendmail's ETRN slowdown can hit the 8th ETRN of a session). */
  readonly defaultSlowRuns: number;
  readonly perSession100: {
    readonly ms: number | null;
    readonly killed: boolean;
    readonly exitCode: number | null;
    readonly accepted: number;
    /** Time from sending each ETRN to its reply, in order (ms); the last may be unanswered (null). */
    readonly etrnReplyMs: (number | null)[];
    readonly error: string | null;
  };
}

export async function benchSendmail(reps: number): Promise<SendmailResult> {
  await ensureSendmailLab();
  const sink = await startSink();
  cleanups.push(() => sink.close());
  const lab = await startSendmail({ sinkPort: sink.port });
  cleanups.push(() => lab.stop());
  const nodes = nodesFor(20, 'client.test');
  const target = `127.0.0.1:${lab.port}`;
  const accepted = (r: Timed): number => r.stdout.split('\n').filter((l) => l.includes(': accepted: 250')).length;

  const walls: number[] = [];
  for (let rep = -1; rep < reps; rep++) {
    const r = await runTimed(node, [etrnBin, '--helo', HELO, target, ...nodes], { timeoutMs: 60_000 });
    if (r.code !== 0 || accepted(r) !== nodes.length) throw new BenchError(describeRun('etrn against the Sendmail lab (20 nodes)', r));
    if (rep >= 0) walls.push(r.ms);
  }

  // Once, bounded: Sendmail slows every ETRN after the 8th in one session.
  console.error(`bench: Sendmail, one session of 20 ETRN (--per-session 100): up to ${SENDMAIL_LIMIT_MS / 1000} s`);
  const r = await runTimed(node, [etrnBin, '-v', '--helo', HELO, '--per-session', '100', target, ...nodes], {
    timeoutMs: SENDMAIL_LIMIT_MS,
    timeStderr: true,
  });
  const etrnReplyMs: (number | null)[] = [];
  let sentAt: number | null = null;
  for (const { t, line } of r.stderrLines) {
    if (line.startsWith('-> ETRN ')) {
      if (sentAt !== null) etrnReplyMs.push(null);
      sentAt = t;
    } else if (line.startsWith('<- ') && sentAt !== null) {
      etrnReplyMs.push(round(t - sentAt));
      sentAt = null;
    }
  }
  if (sentAt !== null) etrnReplyMs.push(null);
  const error = r.stderr.split('\n').find((l) => l.startsWith('etrn: ') && !l.endsWith('not sent')) ?? null;
  await lab.stop();
  await sink.close();
  return {
    version: lab.version,
    nodes: nodes.length,
    reps,
    defaultWall: summarize(walls),
    defaultSlowRuns: walls.filter((w) => w >= 1000).length,
    perSession100: { ms: r.timedOut ? null : round(r.ms), killed: r.timedOut, exitCode: r.code, accepted: accepted(r), etrnReplyMs, error },
  };
}
