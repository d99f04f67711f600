// The local MTA's side of an ATRN relay, before the turn: connect to it and
// read its 220 greeting (bounded by the per-reply timeout), so that ATRN is
// sent only when there is somewhere to deliver to. The greeting's raw lines
// are kept: after the turn they are the provider's greeting (RFC 2645 §4.3).
import type { Socket } from 'node:net';
import { replyLineCode } from '../protocol/atrn.js';
import type { ErrorKind } from '../protocol/outcome.js';
import { cleanText } from '../protocol/reply.js';
import { stopReason } from './abort.js';
import { ConnectError, type Connector, describeSocketError } from './connect.js';
import type { Trace } from './drive.js';
import { formatSeconds } from './seconds.js';

export interface LocalMta {
  readonly socket: Socket;
  /** The greeting's lines as received, without line ends. */
  readonly greeting: readonly string[];
  /** Bytes that arrived after the greeting (none from a well-behaved MTA). */
  readonly rest: Buffer;
  /** A socket error between the greeting and the relay (while the provider is asked), if any. */
  readonly failure: () => NodeJS.ErrnoException | null;
}

export class LocalMtaError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
  ) {
    super(message);
  }
}

const MAX_GREETING = 16_384;

export interface LocalMtaOptions {
  readonly host: string;
  readonly port: number;
  readonly connector: Connector;
  readonly timeoutMs: number;
  readonly signal: AbortSignal | undefined;
  readonly trace: Trace;
}

/** Connects and reads a 220 greeting; throws LocalMtaError. */
export async function openLocalMta(options: LocalMtaOptions): Promise<LocalMta> {
  const { host, port } = options;
  const where = `local MTA ${host.includes(':') ? `[${host}]` : host}:${port}`;
  const socket = await connect(options, where);
  options.trace('==', `connected to ${where}`);
  return new Promise<LocalMta>((resolve, reject) => {
    const greeting = new Greeting(where, options.trace);
    watchGreeting(socket, where, options, greeting, (end) => {
      if (end.error) {
        socket.destroy();
        reject(end.error);
      } else {
        socket.pause();
        // Until the relay (or the QUIT) takes over, an error is kept, not thrown.
        let failure: NodeJS.ErrnoException | null = null;
        socket.on('error', (error: NodeJS.ErrnoException) => (failure ??= error));
        resolve({ socket, greeting: greeting.lines, rest: end.rest, failure: () => failure });
      }
    });
  });
}

async function connect(options: LocalMtaOptions, where: string): Promise<Socket> {
  const { host, port } = options;
  try {
    return await options.connector({ host, port, localAddress: undefined, timeoutMs: options.timeoutMs, signal: options.signal });
  } catch (error) {
    const e = error instanceof ConnectError ? error : new ConnectError('refused', String(error));
    throw new LocalMtaError(e.kind, `${where}: ${e.message}`);
  }
}

/** How the wait for the greeting ended: with a failure, or with the bytes that came after it. */
type GreetingEnd = { readonly error: LocalMtaError } | { readonly error: null; readonly rest: Buffer };

/** The greeting's lines as they arrive, each traced and judged. */
class Greeting {
  readonly lines: string[] = [];
  private buffered: Buffer = Buffer.alloc(0);

  constructor(
    private readonly where: string,
    private readonly trace: Trace,
  ) {}

  /** Takes a chunk; returns how the greeting ended, or null while it goes on. */
  feed(chunk: Buffer): GreetingEnd | null {
    this.buffered = Buffer.concat([this.buffered, chunk]);
    let nl: number;
    while ((nl = this.buffered.indexOf(0x0a)) >= 0) {
      const raw = this.buffered.subarray(0, nl).toString('latin1').replace(/\r$/, '');
      this.buffered = this.buffered.subarray(nl + 1);
      this.trace('<-', cleanText(Buffer.from(raw, 'latin1')));
      this.lines.push(raw);
      const end = this.judge(raw);
      if (end) return end;
    }
    if (this.buffered.length + this.lines.join('').length > MAX_GREETING) {
      return { error: new LocalMtaError('protocol', `${this.where} sent a greeting over ${MAX_GREETING} octets`) };
    }
    return null;
  }

  private judge(raw: string): GreetingEnd | null {
    const parsed = replyLineCode(raw);
    if (!parsed) return { error: new LocalMtaError('protocol', `${this.where} sent a greeting that is not SMTP`) };
    if (!parsed.last) return null;
    if (parsed.code !== 220) return { error: new LocalMtaError('refused', `${this.where} refused the session: ${cleanText(Buffer.from(raw, 'latin1'))}`) };
    return { error: null, rest: this.buffered };
  }
}

/**
 * Feeds the socket's bytes to `greeting` until it ends, the socket fails or
 * closes, the per-reply timeout runs out or the signal stops the run; then
 * removes its listeners and calls `settle` once.
 */
function watchGreeting(socket: Socket, where: string, options: LocalMtaOptions, greeting: Greeting, settle: (end: GreetingEnd) => void): void {
  const done = (end: GreetingEnd): void => {
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('error', onError);
    socket.off('close', onClose);
    options.signal?.removeEventListener('abort', onAbort);
    settle(end);
  };
  const fail = (error: LocalMtaError): void => done({ error });
  const onData = (chunk: Buffer): void => {
    const end = greeting.feed(chunk);
    if (end) done(end);
  };
  const onError = (error: NodeJS.ErrnoException): void => fail(new LocalMtaError('refused', `${where}: ${describeSocketError(error)}`));
  const onClose = (): void => fail(new LocalMtaError('refused', `${where} closed the connection before its greeting`));
  const onAbort = (): void => {
    const why = stopReason(options.signal);
    fail(new LocalMtaError(why.kind, `${why.message} while waiting for the ${where} greeting`));
  };
  const timer = setTimeout(() => fail(new LocalMtaError('timeout', `${where} sent no greeting within ${formatSeconds(options.timeoutMs)}`)), options.timeoutMs);
  socket.on('data', onData);
  socket.on('error', onError);
  socket.on('close', onClose);
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener('abort', onAbort, { once: true });
}
