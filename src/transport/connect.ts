// Opening TCP connections: the injectable connector (tests and callers can
// swap the transport) and the default one over node:net, bounded by a
// deadline and cancellable through an AbortSignal.
import { Socket, connect } from 'node:net';
import { EtrnError } from '../errors.js';
import { stopReason } from './abort.js';
import { formatSeconds } from './seconds.js';

export interface ConnectTarget {
  readonly host: string;
  readonly port: number;
  /** Local address to bind (multi-homed hosts, provider ACLs). */
  readonly localAddress?: string | undefined;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal | undefined;
}

export type Connector = (target: ConnectTarget) => Promise<Socket>;

/**
 * Why a connection attempt failed: `timeout` or `refused` (refused,
 * unreachable, reset). `phase` is 'greeting' when the server had accepted
 * the connection and reset it before Node reported it open (a loaded
 * machine sees that race): the session was waiting for the greeting.
 */
export class ConnectError extends EtrnError {
  readonly kind: 'timeout' | 'refused' | 'interrupted';
  readonly phase: 'connect' | 'greeting';
  constructor(kind: 'timeout' | 'refused' | 'interrupted', message: string, phase: 'connect' | 'greeting' = 'connect') {
    super('ERR_CONNECT', message);
    this.kind = kind;
    this.phase = phase;
  }
}

/** A reset (not a refusal) during connect: the server accepted, then dropped the connection. */
const ACCEPTED_THEN_DROPPED = new Set(['ECONNRESET', 'EPIPE']);

export const tcpConnector: Connector = (target) =>
  new Promise<Socket>((resolve, reject) => {
    if (target.signal?.aborted) {
      const why = stopReason(target.signal);
      reject(new ConnectError(why.kind, why.message));
      return;
    }
    const socket = connect({
      host: target.host,
      port: target.port,
      localAddress: target.localAddress,
      noDelay: true,
    });
    const settle = (error: ConnectError | null): void => {
      clearTimeout(timer);
      target.signal?.removeEventListener('abort', onAbort);
      socket.off('connect', onConnect);
      socket.off('error', onError);
      if (error) {
        socket.destroy();
        reject(error);
      } else resolve(socket);
    };
    const onConnect = (): void => settle(null);
    const onError = (error: NodeJS.ErrnoException): void => {
      const phase = ACCEPTED_THEN_DROPPED.has(error.code ?? '') ? 'greeting' : 'connect';
      settle(new ConnectError('refused', describeSocketError(error), phase));
    };
    const onAbort = (): void => {
      const why = stopReason(target.signal);
      settle(new ConnectError(why.kind, why.message));
    };
    const timer = setTimeout(
      () => settle(new ConnectError('timeout', `connection timed out after ${formatSeconds(target.timeoutMs)}`)),
      target.timeoutMs,
    );
    socket.once('connect', onConnect);
    socket.once('error', onError);
    target.signal?.addEventListener('abort', onAbort, { once: true });
  });

const errnoText: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by peer',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EADDRNOTAVAIL: 'source address not available',
  EPIPE: 'connection closed by peer',
  ETIMEDOUT: 'connection timed out',
};

export function describeSocketError(error: NodeJS.ErrnoException): string {
  return errnoText[error.code ?? ''] ?? error.message;
}
