// The boot check (-b, from Solaris etrn(1M)): wait until the local MTA
// answers on localhost with a 220 greeting, so that the server's delivery
// does not race the local daemon's start. Retries with exponential back-off
// (100 ms doubling, at most 2 s apart) until the wait runs out. A failure
// says what the MTA did on every address of the last round (a 554 greeting,
// garbage, silence, a refused connection).
import { formatHostPort } from '../names/server.js';
import { ReplyParser, formatReply } from '../protocol/reply.js';
import type { Connector } from './connect.js';
import type { Trace } from './drive.js';
import { pause } from './abort.js';
import { formatSeconds } from './seconds.js';

export interface BootCheckOptions {
  readonly port: number;
  readonly waitMs: number;
  /** Deadline for one attempt's connection and greeting. */
  readonly timeoutMs: number;
  readonly connector: Connector;
  readonly hosts?: readonly string[];
  readonly signal?: AbortSignal | undefined;
  readonly trace?: Trace | undefined;
}

export type BootCheckResult =
  | { readonly ok: true; readonly attempts: number }
  | {
      readonly ok: false;
      readonly attempts: number;
      /** What each address of the last round did, "127.0.0.1:25: greeted with 554 ...; [::1]:25: connection refused". */
      readonly reason: string;
    };

const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 2000;

export async function waitForLocalMta(options: BootCheckOptions): Promise<BootCheckResult> {
  const trace = options.trace ?? (() => undefined);
  const hosts = options.hosts ?? ['127.0.0.1', '::1'];
  const where = options.hosts?.length === 1 ? formatHostPort(options.hosts[0]!, options.port) : `localhost:${options.port}`;
  const deadline = performance.now() + options.waitMs;
  let backoff = FIRST_BACKOFF_MS;
  let attempts = 0;
  let reason = 'not tried';
  // Per address, what it last did; a probe that the end of the wait cut short
  // and that saw nothing does not hide what an earlier one saw.
  const seen = new Map<string, string>();
  for (;;) {
    const reasons: string[] = [];
    for (const host of hosts) {
      if (options.signal?.aborted) return { ok: false, attempts, reason: 'interrupted' };
      attempts += 1;
      const left = Math.max(1, Math.min(options.timeoutMs, deadline - performance.now()));
      const { why, silent } = await probe(host, options.port, left, options);
      if (why === '') {
        trace('==', `local MTA on ${where} is up`);
        return { ok: true, attempts };
      }
      const cutShort = left < options.timeoutMs && silent;
      if (!cutShort || !seen.has(host)) seen.set(host, why);
      reasons.push(`${formatHostPort(host, options.port)}: ${seen.get(host)!}`);
    }
    reason = reasons.join('; ');
    const left = deadline - performance.now();
    if (left <= 0) return { ok: false, attempts, reason };
    trace('==', `local MTA on ${where} not ready (${reason}); retrying`);
    const wait = Math.min(backoff, left);
    backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    if (!(await pause(wait, options.signal))) return { ok: false, attempts, reason: 'interrupted' };
  }
}

/** One attempt's outcome: `why` is '' when a 220 greeting came; `silent` when nothing came before the timer. */
interface Probe {
  readonly why: string;
  readonly silent: boolean;
}

async function probe(host: string, port: number, timeoutMs: number, options: BootCheckOptions): Promise<Probe> {
  let socket;
  try {
    socket = await options.connector({ host, port, timeoutMs, signal: options.signal });
  } catch (error) {
    return { why: (error as Error).message, silent: false };
  }
  const s = socket;
  return new Promise<Probe>((resolve) => {
    const parser = new ReplyParser();
    let settled = false;
    const done = (why: string, silent = false): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.removeAllListeners('data');
      if (why === '') s.end('QUIT\r\n');
      else s.destroy();
      s.on('error', () => undefined);
      s.unref();
      resolve({ why, silent });
    };
    const timer = setTimeout(() => done(`no greeting within ${formatSeconds(timeoutMs)}`, true), timeoutMs);
    s.on('data', (chunk: Buffer) => {
      try {
        parser.feed(chunk);
      } catch (error) {
        done((error as Error).message);
        return;
      }
      const reply = parser.next();
      if (reply) done(reply.code === 220 ? '' : `greeted with ${formatReply(reply)}`);
    });
    s.on('error', (error) => done(error.message));
    s.on('close', () => done('connection closed without a greeting'));
  });
}
