// Drives an EtrnSession over a connected socket: feeds received bytes to the
// reply parser and replies to the session, writes the lines it asks for,
// upgrades to TLS on STARTTLS, and enforces the per-reply deadline and
// cancellation. The deadline runs from the moment a command is sent (or the
// connection opens) to the end of its reply, so a server that trickles bytes
// cannot hold etrn longer.
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { ReplyLimits } from '../protocol/reply.js';
import { ReplyParser } from '../protocol/reply.js';
import type { EtrnSession, SessionAction } from '../protocol/session.js';
import type { TlsInfo } from '../result.js';
import { RemoteProtocolError } from '../errors.js';
import { describeSocketError, formatSeconds } from './connect.js';
import type { TlsSettings } from './tls.js';
import { stopReason } from './abort.js';

export type TraceDirection = '<-' | '->' | '==';
export type Trace = (direction: TraceDirection, text: string) => void;

export interface DriveOptions {
  /** Deadline for each reply, in ms. */
  readonly timeoutMs: number;
  readonly limits?: Partial<ReplyLimits> | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly trace?: Trace | undefined;
  /** Host to verify a STARTTLS certificate against, and how. */
  readonly tlsHost: string;
  readonly tls: TlsSettings;
  /** TLS already negotiated before the session (implicit TLS). */
  readonly tlsInfo?: TlsInfo | null | undefined;
}

export interface DriveResult {
  readonly tls: TlsInfo | null;
  /** True when a STARTTLS handshake failed (the caller may retry in clear). */
  readonly handshakeFailed: boolean;
}

/** Runs the session to its end. Never rejects: every failure is recorded in the session. */
export function driveSession(first: Socket, session: EtrnSession, options: DriveOptions): Promise<DriveResult> {
  const trace = options.trace ?? (() => undefined);
  return new Promise<DriveResult>((resolve) => {
    const parser = new ReplyParser(options.limits, (line) => trace('<-', line));
    let socket = first;
    let tls: TlsInfo | null = options.tlsInfo ?? null;
    let handshakeFailed = false;
    let awaiting = true; // the greeting
    let finished = false;
    let delayTimer: NodeJS.Timeout | undefined;
    let replyTimer: NodeJS.Timeout | undefined;

    const armDeadline = (): void => {
      clearTimeout(replyTimer);
      replyTimer = setTimeout(() => {
        perform(session.fail('timeout', `no complete reply within ${formatSeconds(options.timeoutMs)}`));
      }, options.timeoutMs);
    };

    const attach = (s: Socket): void => {
      s.on('data', onData);
      s.on('end', onEnd);
      s.on('close', onEnd);
      s.on('error', onError);
    };
    const detach = (s: Socket): void => {
      s.off('data', onData);
      s.off('end', onEnd);
      s.off('close', onEnd);
      s.off('error', onError);
    };

    const finish = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(replyTimer);
      clearTimeout(delayTimer);
      options.signal?.removeEventListener('abort', onAbort);
      detach(socket);
      // Keep draining quietly (a 221 to QUIT, say) until the peer closes;
      // neither the socket nor its reaper holds the process open.
      socket.on('data', () => undefined);
      socket.on('error', () => undefined);
      socket.unref();
      const closing = socket;
      const reaper = setTimeout(() => closing.destroy(), options.timeoutMs).unref();
      closing.once('close', () => clearTimeout(reaper)); // let the socket go at once
      resolve({ tls, handshakeFailed });
    };

    const write = (line: string, shown = line): void => {
      trace('->', shown);
      socket.write(`${line}\r\n`);
    };

    function perform(action: SessionAction): void {
      if (finished) return;
      awaiting = false;
      clearTimeout(replyTimer);
      if (action.type === 'close') {
        socket.destroy();
        finish();
        return;
      }
      if (parser.queued > 0 || parser.buffered > 0) {
        // Bytes that arrived before our next command answer nothing we sent.
        // After a 220 to STARTTLS they would be plaintext injected into the
        // TLS session to come (CVE-2011-0411): never process them.
        const what =
          action.type === 'starttls'
            ? 'server sent data after its 220 to STARTTLS, before the TLS handshake (possible injection)'
            : 'server sent a reply before the command it answers (unsolicited data)';
        perform(session.unsolicited(what));
        return;
      }
      if (action.type === 'starttls') {
        void startTls();
        return;
      }
      const send = (): void => {
        if (finished) return;
        write(action.line, action.shown);
        if (session.state === 'quit') {
          // Every result is in: close without waiting for the 221.
          socket.end();
          finish();
          return;
        }
        awaiting = true;
        armDeadline();
      };
      if (action.delayMs > 0) delayTimer = setTimeout(send, action.delayMs);
      else send();
    }

    async function startTls(): Promise<void> {
      detach(socket);
      socket.on('error', () => undefined);
      const { upgradeToTls, tlsInfo } = await import('./tls.js');
      let secured: TLSSocket;
      try {
        secured = await upgradeToTls(socket, options.tlsHost, options.tls, options.timeoutMs, options.signal);
      } catch (error) {
        handshakeFailed = true;
        trace('==', (error as Error).message);
        if (options.signal?.aborted) {
          const why = stopReason(options.signal);
          perform(session.fail(why.kind, why.message));
        } else perform(session.fail('tls', (error as Error).message));
        return;
      }
      socket = secured;
      tls = tlsInfo(secured);
      trace('==', `TLS established: ${tls.version} ${tls.cipher}, certificate ${tls.verified ? 'verified' : `not verified (${String(secured.authorizationError ?? 'unknown')})`}`);
      attach(socket);
      perform(session.secured());
    }

    function onData(chunk: Buffer): void {
      if (finished) return;
      if (!awaiting) {
        perform(session.unsolicited('server sent data while no command was outstanding (unsolicited reply)'));
        return;
      }
      try {
        parser.feed(chunk);
      } catch (error) {
        const message = error instanceof RemoteProtocolError ? error.message : String(error);
        perform(session.fail('protocol', message));
        return;
      }
      const reply = parser.next();
      if (reply) perform(session.receive(reply));
    }

    function onEnd(): void {
      perform(session.fail('refused', 'connection closed by server'));
    }

    function onError(error: NodeJS.ErrnoException): void {
      perform(session.fail('refused', describeSocketError(error)));
    }

    function onAbort(): void {
      if (finished) return;
      if (!socket.destroyed && socket.writable) write('QUIT');
      socket.end();
      const why = stopReason(options.signal);
      perform(session.fail(why.kind, why.message));
    }

    attach(socket);
    if (options.signal?.aborted) {
      onAbort();
      return;
    }
    options.signal?.addEventListener('abort', onAbort, { once: true });
    armDeadline();
  });
}
