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

/** Connects and reads a 220 greeting; throws LocalMtaError. */
export async function openLocalMta(options: {
  readonly host: string;
  readonly port: number;
  readonly connector: Connector;
  readonly timeoutMs: number;
  readonly signal: AbortSignal | undefined;
  readonly trace: Trace;
}): Promise<LocalMta> {
  const { host, port, trace } = options;
  const where = `local MTA ${host.includes(':') ? `[${host}]` : host}:${port}`;
  let socket: Socket;
  try {
    socket = await options.connector({ host, port, localAddress: undefined, timeoutMs: options.timeoutMs, signal: options.signal });
  } catch (error) {
    const e = error instanceof ConnectError ? error : new ConnectError('refused', String(error));
    throw new LocalMtaError(e.kind, `${where}: ${e.message}`);
  }
  trace('==', `connected to ${where}`);
  return new Promise<LocalMta>((resolve, reject) => {
    let buffered: Buffer = Buffer.alloc(0);
    const lines: string[] = [];
    const done = (error: LocalMtaError | null, rest: Buffer = Buffer.alloc(0)): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
      options.signal?.removeEventListener('abort', onAbort);
      if (error) {
        socket.destroy();
        reject(error);
      } else {
        socket.pause();
        resolve({ socket, greeting: lines, rest });
      }
    };
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      let nl: number;
      while ((nl = buffered.indexOf(0x0a)) >= 0) {
        const raw = buffered.subarray(0, nl).toString('latin1').replace(/\r$/, '');
        buffered = buffered.subarray(nl + 1);
        trace('<-', cleanText(Buffer.from(raw, 'latin1')));
        lines.push(raw);
        const parsed = replyLineCode(raw);
        if (!parsed) return done(new LocalMtaError('protocol', `${where} sent a greeting that is not SMTP`));
        if (parsed.last) {
          if (parsed.code !== 220) return done(new LocalMtaError('refused', `${where} refused the session: ${cleanText(Buffer.from(raw, 'latin1'))}`));
          return done(null, buffered);
        }
      }
      if (buffered.length + lines.join('').length > MAX_GREETING) done(new LocalMtaError('protocol', `${where} sent a greeting over ${MAX_GREETING} octets`));
    };
    const onError = (error: NodeJS.ErrnoException): void => done(new LocalMtaError('refused', `${where}: ${describeSocketError(error)}`));
    const onClose = (): void => done(new LocalMtaError('refused', `${where} closed the connection before its greeting`));
    const onAbort = (): void => {
      const why = stopReason(options.signal);
      done(new LocalMtaError(why.kind, `${why.message} while waiting for the ${where} greeting`));
    };
    const timer = setTimeout(
      () => done(new LocalMtaError('timeout', `${where} sent no greeting within ${formatSeconds(options.timeoutMs)}`)),
      options.timeoutMs,
    );
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
  });
}
