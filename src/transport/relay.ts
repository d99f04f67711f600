// After the turn (RFC 2645 §4.3): the provider is now an SMTP client on the
// connection etrn opened, and etrn relays its session to the local MTA, so
// every reply the provider sees is the local MTA's own. Commands go over line
// by line; a DATA body is streamed chunk by chunk with backpressure (a
// message is never held whole); the end of DATA is found by DataEndScanner.
// The ledger (protocol/atrn.ts) counts the messages. When the local MTA
// fails or hangs, the provider gets 421 4.4.2 so it keeps what it has not
// seen accepted; when the provider fails or hangs mid-DATA, the local MTA
// never sees the end of the body, so nothing is half-delivered.
import type { Socket } from 'node:net';
import { DataEndScanner, RelayLedger, type RelayCounts, classifyCommand, relayableEhlo, replyLineCode } from '../protocol/atrn.js';
import type { ErrorKind } from '../protocol/outcome.js';
import { cleanText } from '../protocol/reply.js';
import { stopReason } from './abort.js';
import { describeSocketError } from './connect.js';
import type { Trace } from './drive.js';
import type { LocalMta } from './local-mta.js';
import { formatSeconds } from './seconds.js';

export interface RelayFailure {
  readonly kind: ErrorKind;
  readonly message: string;
}

export interface RelayOutcome {
  readonly counts: RelayCounts;
  /** Why the relay broke off before the provider's QUIT was answered; null when it did not. */
  readonly failure: RelayFailure | null;
  /** Octets of message bodies relayed. */
  readonly bodyBytes: number;
}

export interface RelaySettings {
  readonly provider: Socket;
  readonly local: LocalMta;
  /** Idle limit for either side. */
  readonly timeoutMs: number;
  readonly signal: AbortSignal | undefined;
  readonly trace: Trace;
}

/** Longest command or reply line relayed (RFC 5321 §4.5.3.1.4 allows 512; extensions more). */
const MAX_LINE = 8192;

export function relay(settings: RelaySettings): Promise<RelayOutcome> {
  return new Promise((resolve) => new Relay(settings, resolve).start());
}

type Mode = 'command' | 'wait-data' | 'data' | 'closing';

class Relay {
  private readonly ledger = new RelayLedger();
  private readonly provider: Socket;
  private readonly local: Socket;
  private mode: Mode = 'command';
  private inbox: Buffer = Buffer.alloc(0);
  private replyBuffer: Buffer = Buffer.alloc(0);
  private scanner = new DataEndScanner();
  private timer: NodeJS.Timeout | undefined;
  private finished = false;
  private bodyBytes = 0;
  private localBlocked = false;
  private told421 = false;
  /** The lines of a 250 reply to EHLO, held until its last line (relayableEhlo). */
  private ehloLines: string[] = [];

  constructor(
    private readonly settings: RelaySettings,
    private readonly resolve: (outcome: RelayOutcome) => void,
  ) {
    this.provider = settings.provider;
    this.local = settings.local.socket;
  }

  start(): void {
    this.provider.on('data', this.onProvider);
    this.provider.on('error', this.onProviderError);
    this.provider.on('close', this.onProviderClose);
    this.local.on('data', this.onLocal);
    this.local.on('error', this.onLocalError);
    this.local.on('close', this.onLocalClose);
    this.local.on('drain', this.onDrain);
    if (this.settings.signal?.aborted) return this.onAbort();
    this.settings.signal?.addEventListener('abort', this.onAbort, { once: true });
    // The local MTA failed or went away while the provider was being asked.
    const early = this.settings.local.failure();
    if (early) return this.onLocalError(early);
    if (this.local.destroyed) return this.onLocalClose();
    // The local MTA's greeting becomes the provider's (RFC 2645 §4.3).
    for (const line of this.settings.local.greeting) this.toProvider(line);
    this.local.resume();
    this.provider.resume();
    this.arm();
    if (this.settings.local.rest.length > 0) this.onLocal(this.settings.local.rest);
  }

  private arm(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(this.onIdle, this.settings.timeoutMs);
  }

  private toProvider(line: string): void {
    this.settings.trace('->', cleanText(Buffer.from(line, 'latin1')));
    this.provider.write(Buffer.from(`${line}\r\n`, 'latin1'));
  }

  private toLocal(data: Buffer): void {
    if (!this.local.write(data)) {
      this.localBlocked = true;
      this.provider.pause();
    }
  }

  private readonly onDrain = (): void => {
    this.arm();
    this.localBlocked = false;
    if (this.mode !== 'wait-data' && !this.finished) this.provider.resume();
  };

  // --- provider → local -----------------------------------------------------

  private readonly onProvider = (chunk: Buffer): void => {
    if (this.finished) return;
    this.arm();
    this.inbox = this.inbox.length === 0 ? chunk : Buffer.concat([this.inbox, chunk]);
    this.pump();
  };

  /** Processes the provider's bytes as far as the mode allows. */
  private pump(): void {
    while (this.inbox.length > 0 && !this.finished) {
      if (this.mode === 'data') {
        const end = this.scanner.scan(this.inbox);
        const body = end < 0 ? this.inbox : this.inbox.subarray(0, end);
        this.inbox = end < 0 ? Buffer.alloc(0) : this.inbox.subarray(end);
        this.bodyBytes += body.length;
        this.toLocal(body);
        if (end >= 0) {
          this.settings.trace('<-', `(message body, ${this.bodyBytes} octets relayed so far) .`);
          this.ledger.command('eod');
          this.mode = 'command';
        }
        continue;
      }
      if (this.mode !== 'command') {
        // Waiting for the reply to DATA: hold (at most a chunk or so) and stop reading.
        this.provider.pause();
        return;
      }
      const nl = this.inbox.indexOf(0x0a);
      if (nl < 0) {
        if (this.inbox.length > MAX_LINE) this.breakOff('protocol', `provider sent a command line over ${MAX_LINE} octets`, true);
        return;
      }
      const line = this.inbox.subarray(0, nl).toString('latin1').replace(/\r$/, '');
      this.inbox = this.inbox.subarray(nl + 1);
      const kind = classifyCommand(line);
      this.settings.trace('<-', /^AUTH\b/i.test(line) ? 'AUTH ********' : cleanText(Buffer.from(line, 'latin1')));
      this.ledger.command(kind);
      this.toLocal(Buffer.from(`${line}\r\n`, 'latin1'));
      if (kind === 'data') this.mode = 'wait-data';
      if (kind === 'quit') this.mode = 'closing';
    }
  }

  // --- local → provider -----------------------------------------------------

  private readonly onLocal = (chunk: Buffer): void => {
    if (this.finished) return;
    this.arm();
    this.replyBuffer = this.replyBuffer.length === 0 ? chunk : Buffer.concat([this.replyBuffer, chunk]);
    let nl: number;
    while ((nl = this.replyBuffer.indexOf(0x0a)) >= 0 && !this.finished) {
      const line = this.replyBuffer.subarray(0, nl).toString('latin1').replace(/\r$/, '');
      this.replyBuffer = this.replyBuffer.subarray(nl + 1);
      this.onLocalLine(line);
    }
    if (this.replyBuffer.length > MAX_LINE) this.breakOff('protocol', `local MTA sent a reply line over ${MAX_LINE} octets`, true);
  };

  private onLocalLine(line: string): void {
    const parsed = replyLineCode(line);
    if (!parsed) return this.breakOff('protocol', 'local MTA sent a reply that is not SMTP', true);
    if (this.ledger.next === 'ehlo' && parsed.code === 250) {
      this.ehloLines.push(line);
      if (!parsed.last) return;
      for (const kept of relayableEhlo(this.ehloLines.splice(0))) this.toProvider(kept);
    } else this.toProvider(line);
    if (!parsed.last) return;
    if (parsed.code === 421) this.told421 = true;
    const answered = this.ledger.reply(parsed.code);
    if (answered === 'data') {
      this.mode = parsed.code === 354 ? 'data' : 'command';
      if (this.mode === 'data') this.scanner = new DataEndScanner();
      if (!this.localBlocked) this.provider.resume();
      this.pump();
    } else if (answered === 'quit') {
      this.finish(null);
    }
  }

  // --- ends -----------------------------------------------------------------

  private readonly onIdle = (): void => {
    const waitingOnLocal = this.ledger.outstanding > 0 || this.localBlocked;
    const limit = formatSeconds(this.settings.timeoutMs);
    if (waitingOnLocal) this.breakOff('timeout', `local MTA sent no reply within ${limit}`, true);
    else this.breakOff('timeout', `provider sent nothing for ${limit} after the turn`, true);
  };

  private readonly onAbort = (): void => {
    const why = stopReason(this.settings.signal);
    this.breakOff(why.kind, `${why.message} while relaying`, true);
  };

  private readonly onProviderError = (error: NodeJS.ErrnoException): void => {
    this.breakOff('refused', `provider connection failed: ${describeSocketError(error)}`, false);
  };

  private readonly onProviderClose = (): void => {
    // A provider that says QUIT and leaves without waiting for the 221 has ended properly.
    if (this.mode === 'closing') return this.finish(null);
    this.breakOff('refused', 'provider closed the connection before QUIT', false);
  };

  private readonly onLocalError = (error: NodeJS.ErrnoException): void => {
    this.breakOff('refused', `local MTA connection failed: ${describeSocketError(error)}`, true);
  };

  private readonly onLocalClose = (): void => {
    this.breakOff('refused', 'local MTA closed the connection', true);
  };

  /**
   * Ends the relay early. The provider hears 421 (when it can still hear),
   * so it keeps the messages it has not seen accepted; the local MTA gets
   * QUIT between commands, or just a closed connection in the middle of a
   * body, so the half message is dropped, never delivered.
   */
  private breakOff(kind: ErrorKind, message: string, tellProvider: boolean): void {
    if (this.finished) return;
    if (tellProvider && !this.told421 && !this.provider.destroyed && this.provider.writable) {
      this.toProvider('421 4.4.2 etrn: relay to the local MTA ended; try again later');
    }
    if (this.mode === 'data' || this.mode === 'wait-data') this.local.destroy();
    else if (!this.local.destroyed && this.local.writable) this.local.end('QUIT\r\n');
    this.finish({ kind, message });
  }

  private finish(failure: RelayFailure | null): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.timer);
    this.settings.signal?.removeEventListener('abort', this.onAbort);
    for (const s of [this.provider, this.local]) {
      s.removeAllListeners('data');
      s.off('close', s === this.provider ? this.onProviderClose : this.onLocalClose);
      s.on('error', () => undefined);
      s.resume();
    }
    this.local.off('drain', this.onDrain);
    this.provider.end();
    if (!failure) this.local.end();
    // Neither socket may hold the process: the peers close, or the reaper does.
    const reaper = setTimeout(() => {
      this.provider.destroy();
      this.local.destroy();
    }, this.settings.timeoutMs).unref();
    let open = 2;
    const closed = (): void => {
      if (--open === 0) clearTimeout(reaper);
    };
    this.provider.once('close', closed);
    this.local.once('close', closed);
    this.resolve({ counts: this.ledger.close(), failure, bodyBytes: this.bodyBytes });
  }
}
