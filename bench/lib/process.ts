// Child processes of the bench: started in their own process groups, timed
// from spawn to exit, killed at a time limit, and all stopped on exit or on
// SIGINT/SIGTERM; the whole bench's time budget.
import { type ChildProcess, spawn } from 'node:child_process';

/** The whole bench is stopped past this, whatever it is doing (it should take under 5 minutes). */
const BENCH_LIMIT_MS = 12 * 60_000;
export const benchStart = performance.now();

/** Live child processes; each leads its own process group (spawned detached). */
export const children = new Set<ChildProcess>();
/** Stops things that are not plain children (the Sendmail lab, the sink), newest first. */
export const cleanups: (() => Promise<void>)[] = [];

export function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

export async function cleanupAll(): Promise<void> {
  for (const child of children) killGroup(child);
  for (const cleanup of cleanups.splice(0).reverse()) {
    await within(cleanup().catch((e: unknown) => console.error(`bench: cleanup: ${(e as Error).message}`)), 30_000);
  }
  for (const child of children) killGroup(child);
}

process.on('exit', () => {
  for (const child of children) killGroup(child);
});
/** Set on SIGINT/SIGTERM: nothing new is started while everything is being stopped. */
export let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    stopping = true;
    console.error(`\nbench: ${signal}: stopping every process started`);
    void cleanupAll().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  });
}

/** Waits for `promise`, or `ms` at most; leaves no timer behind to hold the process. */
export async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}
/** CLOCK_MONOTONIC in ms, the same clock as the server child's. */
export const monoMs = (): number => Number(process.hrtime.bigint()) / 1e6;

export class BenchError extends Error {}

export function checkBudget(): void {
  if (stopping) throw new BenchError('interrupted');
  if (performance.now() - benchStart > BENCH_LIMIT_MS) {
    throw new BenchError(`the bench has run for over ${BENCH_LIMIT_MS / 60_000} minutes; stopped`);
  }
}

export interface Timed {
  /** Wall time from spawn to exit, ms. */
  readonly ms: number;
  readonly startMs: number;
  readonly exitMs: number;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
  readonly stdout: string;
  readonly stderr: string;
  /** stderr lines with their arrival time (monotonic ms), when asked for. */
  readonly stderrLines: { t: number; line: string }[];
}

export interface RunOptions {
  readonly timeoutMs: number;
  readonly env?: NodeJS.ProcessEnv;
  readonly timeStderr?: boolean;
}

/** Runs a command in its own process group, timing it from spawn to exit; kills the group at the time limit. */
export function runTimed(file: string, args: readonly string[], options: RunOptions): Promise<Timed> {
  checkBudget();
  return new Promise((resolvePromise, reject) => {
    const startMs = monoMs();
    const child = spawn(file, args, { env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    children.add(child);
    let exitMs = 0;
    let timedOut = false;
    let stdout = '';
    let stderr = '';
    let partial = '';
    const stderrLines: { t: number; line: string }[] = [];
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      if (!options.timeStderr) return;
      const t = monoMs();
      partial += d;
      const lines = partial.split('\n');
      partial = lines.pop()!;
      for (const line of lines) stderrLines.push({ t, line });
    });
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child);
    }, options.timeoutMs);
    child.on('exit', () => (exitMs = monoMs()));
    child.on('error', (error) => {
      clearTimeout(timer);
      children.delete(child);
      reject(new BenchError(`cannot run ${file}: ${error.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      if (exitMs === 0) exitMs = monoMs();
      resolvePromise({ ms: exitMs - startMs, startMs, exitMs, code, signal, timedOut, stdout, stderr, stderrLines });
    });
  });
}

export function describeRun(what: string, r: Timed): string {
  const how = r.timedOut ? 'was killed at its time limit' : r.signal ? `died of ${r.signal}` : `exited ${r.code}`;
  const output = `${r.stderr}${r.stdout}`.trim().split('\n').slice(-6).join('\n    ');
  return `${what} ${how}${output ? `:\n    ${output}` : ''}`;
}
