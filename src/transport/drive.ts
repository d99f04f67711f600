// Drives an EtrnSession over a connected socket: feeds received bytes to the
// reply parser and replies to the session, writes the lines it asks for,
// and enforces the per-reply deadline and cancellation. The deadline runs
// from the moment a command is sent (or the connection opens) to the end of
// its reply, so a server that trickles bytes cannot hold etrn longer.
import type { Socket } from 'node:net';
import type { ReplyLimits } from '../protocol/reply.js';
import { ReplyParser } from '../protocol/reply.js';
import type { EtrnSession, SessionAction } from '../protocol/session.js';
import { RemoteProtocolError } from '../errors.js';
import { describeSocketError, formatSeconds } from './connect.js';

export type TraceDirection = '<-' | '->' | '==';
export type Trace = (direction: TraceDirection, text: string) => void;

export interface DriveOptions {
  /** Deadline for each reply, in ms. */
  readonly timeoutMs: number;
  readonly limits?: Partial<ReplyLimits> | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly trace?: Trace | undefined;
}

/** Runs the session to its end. Never rejects: every failure is recorded in the session. */
export function driveSession(socket: Socket, session: EtrnSession, options: DriveOptions): Promise<void> {
  const trace = options.trace ?? (() => undefined);
  return new Promise<void>((resolve) => {
    const parser = new ReplyParser(options.limits, (line) => trace('<-', line));
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

    const finish = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(replyTimer);
      clearTimeout(delayTimer);
      options.signal?.removeEventListener('abort', onAbort);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      // Keep draining quietly (a 221 to QUIT, say) until the peer closes;
      // neither the socket nor its reaper holds the process open.
      socket.on('data', () => undefined);
      socket.on('error', () => undefined);
      socket.off('error', onError);
      socket.unref();
      setTimeout(() => socket.destroy(), options.timeoutMs).unref();
      resolve();
    };

    const write = (line: string): void => {
      trace('->', line);
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
        perform(session.fail('protocol', 'server sent a reply before the command it answers (unsolicited data)'));
        return;
      }
      const send = (): void => {
        if (finished) return;
        write(action.line);
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

    function onData(chunk: Buffer): void {
      if (finished) return;
      if (!awaiting) {
        perform(session.fail('protocol', 'server sent data while no command was outstanding (unsolicited reply)'));
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
      perform(session.fail('interrupted', 'interrupted'));
    }

    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('close', onEnd);
    socket.on('error', onError);
    if (options.signal?.aborted) {
      onAbort();
      return;
    }
    options.signal?.addEventListener('abort', onAbort, { once: true });
    armDeadline();
  });
}
