// On-Demand Mail Relay, the customer's side (RFC 2645), without sockets.
// Three pure parts: the ATRN session (an EtrnSession drives greeting, EHLO,
// STARTTLS and AUTH; this wrapper takes over where ETRN would be sent and
// asks `ATRN domain,domain` instead, RFC 2645 §4), the meaning of the ATRN
// reply (§4.2), and the accounting of the relayed SMTP session after the
// turn: which messages the provider offered and how the local MTA answered
// (MAIL, RCPT, DATA and the end of DATA, RFC 5321 §4.1.1), plus the scanner
// that finds the end of a DATA body (<CRLF>.<CRLF>) across chunk borders.
import { LocalProtocolError, RemoteProtocolError } from '../errors.js';
import { quote } from '../escape.js';
import type { CertificateCheck } from './auth-policy.js';
import { type ErrorKind } from './outcome.js';
import { type Reply, type ReplyLimits, ReplyParser, formatReply } from './reply.js';
import { type AuthOptions, EtrnSession, type SessionAction, type SessionFailure, type SessionState, type TlsMode } from './session.js';

/** The next step of an ATRN session: an ETRN session's, or turn the connection around. */
export type AtrnAction = SessionAction | { readonly type: 'turn' };

// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u0020\u007f-\u009f,]/;

/** The longest command line, CRLF excluded (RFC 5321 §4.5.3.1.4). */
export const ATRN_LINE_MAX = 510;

/** RFC 2645 §4.1: "ATRN" SP domain *("," domain). */
export function atrnCommand(domains: readonly string[]): string {
  if (domains.length === 0) throw new LocalProtocolError('ATRN needs at least one domain');
  for (const d of domains) {
    if (d === '' || UNSAFE.test(d) || d.length > 253) throw new LocalProtocolError(`refusing to send ATRN with domain ${quote(d)}`);
  }
  const line = `ATRN ${domains.join(',')}`;
  if (line.length > ATRN_LINE_MAX) throw new LocalProtocolError(`ATRN line over ${ATRN_LINE_MAX} octets: give fewer domains per session`);
  return line;
}

/** What an ATRN reply means (RFC 2645 §4.2). */
export type AtrnVerdict =
  | { readonly type: 'turn' }
  | { readonly type: 'nomail' }
  | { readonly type: 'fail'; readonly kind: ErrorKind; readonly message: string };

/**
 * 250: the provider turns the connection around. 453 "You have no mail":
 * nothing waiting, a success. 450 (ATRN request refused), 451 (unable to
 * process now) and other 4xx: temporary. 530: authentication required.
 * 502/500/504 and other 5xx: no ATRN service for us.
 */
export function interpretAtrnReply(reply: Reply): AtrnVerdict {
  const shown = formatReply(reply);
  if (reply.code === 250) return { type: 'turn' };
  if (reply.code === 453) return { type: 'nomail' };
  if (reply.code === 530) return { type: 'fail', kind: 'auth', message: `provider requires authentication for ATRN: ${shown}` };
  if (reply.code === 421) return { type: 'fail', kind: 'refused', message: `provider closed the session: ${shown}` };
  if (reply.code >= 400 && reply.code < 500) return { type: 'fail', kind: 'refused', message: `ATRN refused temporarily: ${shown}` };
  if (reply.code >= 500 && reply.code < 600) return { type: 'fail', kind: 'unavailable', message: `ATRN refused: ${shown}` };
  return { type: 'fail', kind: 'protocol', message: `unexpected ATRN reply: ${shown}` };
}

export interface AtrnSessionOptions {
  readonly heloName: string;
  /** The domains to ask for, already validated (names/node.ts). */
  readonly domains: readonly string[];
  readonly tls?: TlsMode;
  /** RFC 2645 §4: ATRN is only for an authenticated client. */
  readonly auth?: AuthOptions | undefined;
  readonly replyLimits?: Partial<ReplyLimits> | undefined;
  readonly onLine?: ((line: string) => void) | undefined;
  /** With implicit TLS, the certificate check of the connection (protocol/auth-policy.ts). */
  readonly certificate?: CertificateCheck | undefined;
}

type Mode = 'inner' | 'atrn' | 'quit' | 'done' | 'turned';

/**
 * The customer's session up to the turn. Until ATRN, every byte goes to an
 * EtrnSession (so TLS and AUTH are the ETRN rules, one path for both); when
 * that session would send ETRN, this one checks that the provider offers
 * ATRN and that AUTH succeeded, and sends ATRN instead.
 */
export class AtrnSession {
  private readonly inner: EtrnSession;
  private mode: Mode = 'inner';
  private failure: SessionFailure | null = null;
  private verdict: AtrnVerdict | null = null;
  private answer: Reply | null = null;
  private readonly parser: ReplyParser;
  private writing = false;
  private atrnWritten = false;
  private offered: boolean | null = null;

  constructor(private readonly options: AtrnSessionOptions) {
    atrnCommand(options.domains); // refuse a bad line before anything is sent
    this.inner = new EtrnSession({
      heloName: options.heloName,
      nodes: [options.domains[0]!],
      force: true, // ATRN, not ETRN, must be offered: checked here
      tls: options.tls,
      auth: options.auth,
      replyLimits: options.replyLimits,
      onLine: options.onLine,
      certificate: options.certificate,
    });
    this.parser = new ReplyParser(options.replyLimits, options.onLine);
  }

  get state(): SessionState {
    if (this.mode === 'inner') return this.inner.state;
    if (this.mode === 'atrn') return 'etrn';
    return this.mode === 'quit' ? 'quit' : 'done';
  }

  get authenticated(): boolean {
    return this.inner.authenticated;
  }

  /** Whether the last EHLO reply listed ATRN (null before EHLO was answered). */
  get atrnAdvertised(): boolean | null {
    return this.offered;
  }

  /** Whether the ATRN command was written. */
  get atrnSent(): boolean {
    return this.atrnWritten;
  }

  /** The meaning of the ATRN reply, once it came. */
  get atrnReply(): AtrnVerdict | null {
    return this.verdict;
  }

  /** The ATRN reply itself. */
  get atrnReplyRaw(): Reply | null {
    return this.answer;
  }

  get turned(): boolean {
    return this.mode === 'turned';
  }

  get error(): SessionFailure | null {
    return this.mode === 'inner' ? this.inner.error : (this.failure ?? this.inner.error);
  }

  receiveData(chunk: Uint8Array): AtrnAction | null {
    if (this.mode === 'inner') return this.intercept(this.inner.receiveData(chunk));
    if (this.mode === 'done' || this.mode === 'turned') return { type: 'close' };
    if (this.writing || this.mode === 'quit') return this.end('protocol', 'provider sent data while no command was outstanding (unsolicited reply)', null, false);
    let reply: Reply | undefined;
    try {
      this.parser.feed(chunk);
      reply = this.parser.next();
    } catch (error) {
      if (!(error instanceof RemoteProtocolError)) throw error;
      return this.end('protocol', error.message, null, false);
    }
    if (!reply) return null;
    return this.onAtrn(reply);
  }

  written(): void {
    if (this.mode === 'inner') {
      this.inner.written();
      return;
    }
    this.writing = false;
    if (this.mode === 'atrn') this.atrnWritten = true;
  }

  fail(kind: ErrorKind, message: string): AtrnAction {
    if (this.mode === 'inner') return this.intercept(this.inner.fail(kind, message)) ?? { type: 'close' };
    if (this.mode === 'done' || this.mode === 'turned') return { type: 'close' };
    if (this.mode === 'quit') {
      this.mode = 'done';
      return { type: 'close' };
    }
    return this.end(kind, message, null, false);
  }

  secured(certificate: CertificateCheck): AtrnAction {
    return this.intercept(this.inner.secured(certificate)) ?? { type: 'close' };
  }

  /** SCRAM's derived key (the transport ran PBKDF2): the inner session's AUTH goes on. */
  derived(key: Buffer): AtrnAction {
    if (this.mode !== 'inner') return { type: 'close' };
    return this.intercept(this.inner.derived(key)) ?? { type: 'close' };
  }

  /** Watches the inner session's actions for the points ATRN differs from ETRN. */
  private intercept(action: SessionAction | null): AtrnAction | null {
    if (action === null || action.type !== 'send') return action;
    const state = this.inner.state;
    if (state === 'auth' || state === 'etrn') {
      if (this.offered === null) {
        this.offered = this.inner.serverCapabilities?.has('ATRN') ?? false;
        if (!this.offered) {
          return this.end('unavailable', 'provider does not offer ATRN: its EHLO reply does not list it', null, true);
        }
      }
    }
    if (state !== 'etrn') return action;
    if (!this.inner.authenticated) {
      return this.end('auth', 'ATRN needs AUTH (RFC 2645 §4): give --auth-user', null, true);
    }
    this.mode = 'atrn';
    this.writing = true;
    return { type: 'send', line: atrnCommand(this.options.domains), delayMs: 0 };
  }

  private onAtrn(reply: Reply): AtrnAction {
    const verdict = interpretAtrnReply(reply);
    this.verdict = verdict;
    this.answer = reply;
    if (this.parser.queued > 0 || this.parser.buffered > 0) {
      if (verdict.type !== 'turn') return this.end('protocol', 'provider sent a reply before the command it answers (unsolicited data)', reply, false);
      // After 250 the provider waits for our greeting; bytes now break RFC 2645 §4.3.
      return this.end('protocol', 'provider sent data after its 250 to ATRN, before the greeting', reply, false);
    }
    if (verdict.type === 'turn') {
      this.mode = 'turned';
      return { type: 'turn' };
    }
    if (verdict.type === 'nomail') return this.quit();
    return this.end(verdict.kind, verdict.message, reply, reply.code !== 421);
  }

  private quit(): AtrnAction {
    this.mode = 'quit';
    this.writing = true;
    return { type: 'send', line: 'QUIT', delayMs: 0 };
  }

  private end(kind: ErrorKind, message: string, reply: Reply | null, sayQuit: boolean): AtrnAction {
    const phase = this.mode === 'inner' ? (this.inner.state === 'etrn' || this.inner.state === 'auth' ? 'ehlo' : this.inner.phase) : 'atrn';
    this.failure = { kind, phase: kind === 'auth' && this.mode === 'inner' ? 'auth' : phase, message, reply };
    if (sayQuit) return this.quit();
    this.mode = 'done';
    return { type: 'close' };
  }
}

// ---------------------------------------------------------------------------
// After the turn: the relayed session's accounting and the DATA end scanner.

/** Counts of one relayed session, as the report shows them. */
export interface RelayCounts {
  /** MAIL commands the provider sent (one per message offered). */
  readonly offered: number;
  /** Messages the local MTA took (2xx after the end of DATA). */
  readonly accepted: number;
  /** Messages the local MTA refused for good (5xx to MAIL, to every RCPT, to DATA or its end). */
  readonly refused: number;
  /** Messages the local MTA deferred (4xx), or that were cut off: the provider keeps them. */
  readonly deferred: number;
  /** Recipients the local MTA refused (5xx): the provider's to bounce. */
  readonly recipientsRefused: number;
  /** Whether the provider ended with QUIT. */
  readonly quit: boolean;
}

/** What a relayed command is, for matching the local MTA's reply to it. */
export type RelayedCommand = 'ehlo' | 'mail' | 'rcpt' | 'data' | 'eod' | 'rset' | 'quit' | 'other';

export function classifyCommand(line: string): RelayedCommand {
  const verb = line.slice(0, line.indexOf(' ') < 0 ? line.length : line.indexOf(' ')).toUpperCase();
  switch (verb) {
    case 'EHLO':
      return 'ehlo';
    case 'MAIL':
      return 'mail';
    case 'RCPT':
      return 'rcpt';
    case 'DATA':
      return 'data';
    case 'RSET':
      return 'rset';
    case 'QUIT':
      return 'quit';
    default:
      return 'other';
  }
}

type Outcome = 'accepted' | 'refused' | 'deferred';

/**
 * The relayed session's ledger. Feed each command the provider sent (in
 * order) with `command()`, and each reply the local MTA gave with `reply()`
 * (replies come in the order of the commands, pipelined or not). A message
 * is counted once, when its outcome is known; one still open when the relay
 * ends is deferred (the provider keeps what it never saw accepted).
 */
export class RelayLedger {
  private readonly pending: RelayedCommand[] = [];
  private open = false;
  private rcptOk = 0;
  private rcptTemp = 0;
  private rcptRefused = 0;
  private counts = { offered: 0, accepted: 0, refused: 0, deferred: 0, recipientsRefused: 0, quit: false };

  command(kind: RelayedCommand): void {
    if (kind === 'mail') this.counts.offered += 1;
    if (kind === 'quit') this.counts.quit = true;
    this.pending.push(kind);
  }

  /** The kind of command the next reply answers, or null when none is outstanding. */
  get next(): RelayedCommand | null {
    return this.pending[0] ?? null;
  }

  get outstanding(): number {
    return this.pending.length;
  }

  reply(code: number): RelayedCommand | null {
    const kind = this.pending.shift() ?? null;
    const temp = code >= 400 && code < 500;
    const ok = code >= 200 && code < 400;
    switch (kind) {
      case 'mail':
        if (ok) {
          this.open = true;
          this.rcptOk = 0;
          this.rcptTemp = 0;
          this.rcptRefused = 0;
        } else this.settle(temp ? 'deferred' : 'refused', true);
        break;
      case 'rcpt':
        if (ok) this.rcptOk += 1;
        else if (temp) this.rcptTemp += 1;
        else {
          this.rcptRefused += 1;
          this.counts.recipientsRefused += 1;
        }
        break;
      case 'data':
        if (code !== 354) this.settle(this.rcptOk === 0 && this.rcptTemp === 0 && !temp ? 'refused' : temp || this.rcptTemp > 0 ? 'deferred' : 'refused');
        break;
      case 'eod':
        this.settle(ok ? 'accepted' : temp ? 'deferred' : 'refused');
        break;
      case 'rset':
        // Every recipient refused for good: the message is refused; otherwise the provider keeps it.
        if (this.open) this.settle(this.rcptOk === 0 && this.rcptTemp === 0 && this.rcptRefused > 0 ? 'refused' : 'deferred');
        break;
      default:
        break;
    }
    return kind;
  }

  /** The relay ended: a message still open is the provider's to keep. */
  close(): RelayCounts {
    if (this.open) this.settle('deferred');
    return { ...this.counts };
  }

  private settle(outcome: Outcome, fromMail = false): void {
    if (!this.open && !fromMail) return;
    this.open = false;
    this.counts[outcome] += 1;
  }
}

/**
 * Finds the end of a DATA body, the line "." (<CRLF>.<CRLF>, RFC 5321
 * §4.1.1.4), in a stream cut into chunks anywhere. The body starts at the
 * beginning of a line (right after the 354).
 */
export class DataEndScanner {
  // 0: mid-line, 1: saw CR, 2: at line start, 3: "." at line start, 4: ".\r" at line start
  private state = 2;

  /** The offset just past the end-of-data line in `chunk`, or -1 when it is not in it. */
  scan(chunk: Uint8Array): number {
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      switch (this.state) {
        case 0:
          this.state = b === 0x0d ? 1 : 0;
          break;
        case 1:
          this.state = b === 0x0a ? 2 : b === 0x0d ? 1 : 0;
          break;
        case 2:
          this.state = b === 0x2e ? 3 : b === 0x0d ? 1 : 0;
          break;
        case 3:
          this.state = b === 0x0d ? 4 : 0;
          break;
        case 4:
          if (b === 0x0a) {
            this.state = 2;
            return i + 1;
          }
          this.state = b === 0x0d ? 1 : 0;
          break;
      }
    }
    return -1;
  }
}

/**
 * The EHLO reply the provider may see: without CHUNKING and BINARYMIME
 * (RFC 3030), whose BDAT payloads the line relay cannot frame, so the
 * provider falls back to DATA. `lines` are raw reply lines; the last one
 * keeps the "250 " that ends the reply.
 */
export function relayableEhlo(lines: readonly string[]): string[] {
  const kept = lines.filter((line, i) => i === 0 || !/^250[ -](CHUNKING|BINARYMIME)\b/i.test(line));
  return kept.map((line, i) => (i === kept.length - 1 ? line.replace(/^(\d{3})-/, '$1 ') : line.replace(/^(\d{3}) /, '$1-')));
}

/** The code of a complete reply line ("250-..." or "250 ..."), and whether it is the last line. */
export function replyLineCode(line: string): { code: number; last: boolean } | null {
  const m = /^([2-5]\d\d)([ -]|$)/.exec(line);
  if (!m) return null;
  return { code: Number(m[1]), last: m[2] !== '-' };
}
