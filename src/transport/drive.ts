// Drives a pure session (ETRN's or ATRN's) over a connected socket: hands
// received bytes to the session, writes the lines it asks for (telling it
// once they are written), upgrades to TLS on STARTTLS, derives SCRAM keys off
// the event loop when asked (no reply deadline runs meanwhile), hands the
// live socket back when an ATRN session turns the connection around, and
// enforces the per-reply deadline and cancellation. The deadline runs from
// the moment a command is written (or the connection opens) to the end of
// its reply, so a server that trickles bytes cannot hold etrn longer. The
// protocol rules (unsolicited replies, plaintext behind STARTTLS) are the
// session's; this is plumbing.
import type { Socket } from 'node:net';
import type { SessionAction, SessionFailure, SessionState } from '../protocol/session.js';
import type { ErrorKind } from '../protocol/outcome.js';
import type { CertificateCheck } from '../protocol/auth-policy.js';
import { stopReason } from './abort.js';
import { describeSocketError } from './connect.js';
import { type KeyDeriver, deriveKey } from './key-derivation.js';
import { formatSeconds } from './seconds.js';
import type { Secured, TlsInfo, TlsSettings } from './tls.js';

export type TraceDirection = '<-' | '->' | '==';
export type Trace = (direction: TraceDirection, text: string) => void;

/** An action of a driven session; `turn` (ATRN, RFC 2645) hands the live connection back. */
export type DriverAction = SessionAction | { readonly type: 'turn' };

/** What the driver needs of a session (EtrnSession, AtrnSession). */
export interface DrivenSession {
  readonly state: SessionState;
  readonly error: SessionFailure | null;
  receiveData(chunk: Uint8Array): DriverAction | null;
  written(): void;
  fail(kind: ErrorKind, message: string): DriverAction;
  secured(certificate: CertificateCheck): DriverAction;
  derived(key: Buffer): DriverAction;
}

export interface DriveOptions {
  /** Deadline for each reply, in ms. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal | undefined;
  readonly trace?: Trace | undefined;
  /** Host to verify a STARTTLS certificate against, and how. */
  readonly tlsHost: string;
  readonly tls: TlsSettings;
  /** TLS already negotiated before the session (implicit TLS). */
  readonly tlsInfo?: TlsInfo | null | undefined;
  /** Derives SCRAM keys off the event loop (a run shares one cache); default uncached. */
  readonly deriveKey?: KeyDeriver | undefined;
}

export interface DriveResult {
  readonly tls: TlsInfo | null;
  /** True when a STARTTLS handshake failed (the caller may retry in clear). */
  readonly handshakeFailed: boolean;
  /** The connection, still open, when the session turned it around (ATRN). */
  readonly turned: Socket | null;
}

/** Runs the session to its end. Never rejects: every failure is recorded in the session. */
export function driveSession(first: Socket, session: DrivenSession, options: DriveOptions): Promise<DriveResult> {
  return new Promise<DriveResult>((resolve) => new Driver(first, session, options, resolve).start());
}

class Driver {
  private readonly trace: Trace;
  private tls: TlsInfo | null;
  private handshakeFailed = false;
  private finished = false;
  private turned = false;
  private delayTimer: NodeJS.Timeout | undefined;
  private replyTimer: NodeJS.Timeout | undefined;

  constructor(
    private socket: Socket,
    private readonly session: DrivenSession,
    private readonly options: DriveOptions,
    private readonly resolve: (result: DriveResult) => void,
  ) {
    this.trace = options.trace ?? (() => undefined);
    this.tls = options.tlsInfo ?? null;
  }

  start(): void {
    this.attach(this.socket);
    if (this.options.signal?.aborted) {
      this.onAbort();
      return;
    }
    this.options.signal?.addEventListener('abort', this.onAbort, { once: true });
    this.armDeadline(); // for the greeting
  }

  private armDeadline(): void {
    clearTimeout(this.replyTimer);
    this.replyTimer = setTimeout(() => {
      this.perform(this.session.fail('timeout', `no complete reply within ${formatSeconds(this.options.timeoutMs)}`));
    }, this.options.timeoutMs);
  }

  private attach(s: Socket): void {
    s.on('data', this.onData);
    s.on('end', this.onEnd);
    s.on('close', this.onEnd);
    s.on('error', this.onError);
  }

  private detach(s: Socket): void {
    s.off('data', this.onData);
    s.off('end', this.onEnd);
    s.off('close', this.onEnd);
    s.off('error', this.onError);
  }

  private perform(action: DriverAction | null): void {
    if (this.finished || action === null) return;
    clearTimeout(this.replyTimer);
    if (action.type === 'turn') {
      this.turned = true;
      this.finish();
    } else if (action.type === 'close') {
      this.socket.destroy();
      this.finish();
    } else if (action.type === 'starttls') {
      void this.startTls();
    } else if (action.type === 'derive') {
      // No reply is awaited while the key is derived: no deadline runs. A
      // session that ended meanwhile (abort, unsolicited data) takes no key.
      (this.options.deriveKey ?? deriveKey)(action.key)
        .then((key) => {
          if (!this.finished) this.perform(this.session.derived(key));
        })
        .catch((error: Error) => {
          if (!this.finished) this.perform(this.session.fail('auth', `SCRAM key derivation failed: ${error.message}`));
        });
    } else if (action.delayMs > 0) {
      this.delayTimer = setTimeout(() => this.send(action.line, action.shown), action.delayMs);
    } else {
      this.send(action.line, action.shown);
    }
  }

  private send(line: string, shown = line): void {
    if (this.finished) return;
    this.trace('->', shown);
    this.socket.write(`${line}\r\n`);
    this.session.written();
    if (this.session.state === 'quit') {
      // Every result is in: close without waiting for the 221.
      this.socket.end();
      this.finish();
      return;
    }
    this.armDeadline();
  }

  private async startTls(): Promise<void> {
    this.detach(this.socket);
    this.socket.on('error', () => undefined);
    const { secure } = await import('./tls.js');
    const { timeoutMs, signal, tlsHost, tls } = this.options;
    let certificate: Secured['certificate'];
    try {
      const secured = await secure(this.socket, tlsHost, tls, timeoutMs, signal, (text) => this.trace('==', text));
      this.socket = secured.socket;
      this.tls = secured.info;
      certificate = secured.certificate;
    } catch (error) {
      this.handshakeFailed = true;
      const kind = (error as { kind?: unknown }).kind;
      this.perform(this.session.fail(kind === 'timeout' || kind === 'interrupted' ? kind : 'tls', (error as Error).message));
      return;
    }
    this.attach(this.socket);
    this.perform(this.session.secured(certificate));
  }

  private readonly onData = (chunk: Buffer): void => {
    if (!this.finished) this.perform(this.session.receiveData(chunk));
  };

  private readonly onEnd = (): void => {
    this.perform(this.session.fail('refused', 'connection closed by server'));
  };

  private readonly onError = (error: NodeJS.ErrnoException): void => {
    this.perform(this.session.fail('refused', describeSocketError(error)));
  };

  private readonly onAbort = (): void => {
    if (this.finished) return;
    clearTimeout(this.delayTimer);
    // No plaintext QUIT into a TLS handshake under way.
    if (this.session.state !== 'handshake' && !this.socket.destroyed && this.socket.writable) {
      this.trace('->', 'QUIT');
      this.socket.write('QUIT\r\n');
    }
    this.socket.end();
    const why = stopReason(this.options.signal);
    this.perform(this.session.fail(why.kind, why.message));
  };

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.replyTimer);
    clearTimeout(this.delayTimer);
    this.options.signal?.removeEventListener('abort', this.onAbort);
    this.detach(this.socket);
    if (this.turned) {
      // The connection lives on, in the hands of the relay.
      this.resolve({ tls: this.tls, handshakeFailed: false, turned: this.socket });
      return;
    }
    // Keep draining quietly (a 221 to QUIT, say) until the peer closes;
    // neither the socket nor its reaper holds the process open.
    const closing = this.socket;
    closing.on('data', () => undefined);
    closing.on('error', () => undefined);
    closing.unref();
    const reaper = setTimeout(() => closing.destroy(), this.options.timeoutMs).unref();
    closing.once('close', () => clearTimeout(reaper)); // let the socket go at once
    this.resolve({ tls: this.tls, handshakeFailed: this.handshakeFailed, turned: null });
  }
}
