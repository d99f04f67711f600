// The scripted SMTP server of the bench (bench/smtp-server.ts), run in a
// child process and driven over IPC: start, counters, quiesce, close.
import { fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServerConfig, ServerStats, ToChild, ToParent } from '../smtp-server.js';
import { BenchError, checkBudget, children, killGroup, within } from './process.js';

const benchDir = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface BenchServer {
  readonly port: number;
  readonly bootPort: number | null;
  /** Counters since the last call (then reset). */
  stats(): Promise<ServerStats>;
  /** Waits until no connection is open, then resets the counters. */
  quiesce(): Promise<void>;
  close(): Promise<void>;
}

/** Starts bench/smtp-server.js in a child process and waits until it listens. */
export async function startServer(config: ServerConfig): Promise<BenchServer> {
  checkBudget();
  const child = fork(join(benchDir, 'smtp-server.js'), [JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], detached: true });
  children.add(child);
  child.on('exit', () => children.delete(child));
  const waiters: ((m: ToParent) => void)[] = [];
  let failure: string | null = null;
  child.on('message', (m: ToParent) => {
    if (m.type === 'error') failure = m.message;
    waiters.shift()?.(m);
  });
  child.on('error', (error) => {
    failure ??= error.message;
    for (const w of waiters.splice(0)) w({ type: 'error', message: failure });
  });
  child.on('exit', (code, signal) => {
    failure ??= `server child exited (${signal ?? code})`;
    for (const w of waiters.splice(0)) w({ type: 'error', message: failure });
  });
  const next = (timeoutMs: number, what: string): Promise<ToParent> =>
    new Promise((resolvePromise, reject) => {
      if (failure) return reject(new BenchError(`bench server: ${failure}`));
      const timer = setTimeout(() => reject(new BenchError(`bench server: no answer to ${what} within ${timeoutMs} ms`)), timeoutMs);
      waiters.push((m) => {
        clearTimeout(timer);
        if (m.type === 'error') reject(new BenchError(`bench server: ${m.message}`));
        else resolvePromise(m);
      });
    });
  const ask = async <T extends ToParent['type']>(cmd: ToChild, type: T, timeoutMs = 10_000): Promise<Extract<ToParent, { type: T }>> => {
    if (!child.connected) throw new BenchError(`bench server: ${failure ?? 'its IPC channel is closed'}`);
    const answer = next(timeoutMs, cmd.cmd);
    child.send(cmd);
    const m = await answer;
    if (m.type !== type) throw new BenchError(`bench server: expected ${type}, got ${m.type}`);
    return m as Extract<ToParent, { type: T }>;
  };
  const ready = await next(20_000, 'start-up');
  if (ready.type !== 'ready') throw new BenchError(`bench server: expected ready, got ${ready.type}`);
  return {
    port: ready.port,
    bootPort: ready.bootPort,
    stats: async () => (await ask({ cmd: 'stats' }, 'stats')).stats,
    quiesce: async () => {
      await ask({ cmd: 'idle' }, 'idle');
      await ask({ cmd: 'stats' }, 'stats');
    },
    close: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      if (child.connected) child.send({ cmd: 'close' } satisfies ToChild);
      await within(exited, 5_000);
      killGroup(child);
    },
  };
}
