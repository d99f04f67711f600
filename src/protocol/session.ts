// The ETRN client session as a state machine (RFC 5321 §3-4, RFC 1985,
// RFC 3207 hooks). Theory of operation: the transport feeds each complete
// reply to `receive()`, which returns the one action to take next: send a
// line (after an optional pause), or close. Failures the transport detects
// (timeouts, lost connections, malformed replies) come in through `fail()`.
// The session never touches a socket or a timer, so every path is testable
// by feeding it replies. One command is outstanding at a time: ETRN is not
// pipelined (RFC 2920 §3.1 lists the commands that may be grouped; ETRN is
// not one of them).
import { LocalProtocolError, RemoteProtocolError } from '../errors.js';
import { type Capabilities, noCapabilities, parseCapabilities } from './capabilities.js';
import * as commands from './commands.js';
import { type ErrorKind, isAccepted } from './outcome.js';
import { type Reply, formatReply, replyText } from './reply.js';
import { type Credentials, type Mechanism, chooseMechanism, createMechanism } from './sasl.js';

export type SessionState =
  | 'greeting'
  | 'ehlo'
  | 'helo'
  | 'starttls'
  | 'handshake'
  | 'auth'
  | 'etrn'
  | 'quit'
  | 'done';

/**
 * off: never STARTTLS; opportunistic: STARTTLS when offered, carry on in
 * clear if refused; required: fail unless STARTTLS succeeds; implicit: the
 * transport is TLS from the first byte (port 465 style).
 */
export type TlsMode = 'off' | 'opportunistic' | 'required' | 'implicit';

/** Where each state is, for error messages ("while receiving the EHLO reply"). */
const where: Record<SessionState, string> = {
  greeting: 'receiving the initial server greeting',
  ehlo: 'receiving the EHLO reply',
  helo: 'receiving the HELO reply',
  starttls: 'receiving the STARTTLS reply',
  handshake: 'performing the TLS handshake',
  auth: 'authenticating (AUTH)',
  etrn: 'receiving the ETRN reply',
  quit: 'sending QUIT',
  done: 'closing the session',
};

export type SessionAction =
  | {
      readonly type: 'send';
      readonly line: string;
      readonly delayMs: number;
      /** How the line appears in transcripts when it carries a secret. */
      readonly shown?: string;
    }
  | { readonly type: 'starttls' }
  | { readonly type: 'close' };

export interface NodeOutcome {
  readonly node: string;
  /** The ETRN reply, absent when the command was never answered. */
  readonly code?: number;
  readonly enhanced?: string | null;
  readonly text?: string;
  readonly ok: boolean;
}

export interface SessionFailure {
  readonly kind: ErrorKind;
  /** Where it happened: "receiving the ETRN reply for example.org". */
  readonly phase: string;
  readonly message: string;
  readonly reply: Reply | null;
}

export interface SessionOptions {
  /** The name sent with EHLO/HELO. */
  readonly heloName: string;
  /** ETRN arguments, already validated (see names/node.ts). */
  readonly nodes: readonly string[];
  /** Send ETRN although the server did not advertise it. */
  readonly force?: boolean;
  /** Pause before each ETRN after the first, in ms. */
  readonly delayMs?: number;
  /** Default 'opportunistic'. */
  readonly tls?: TlsMode;
  /** SMTP AUTH before ETRN (RFC 4954). */
  readonly auth?: AuthOptions;
}

export interface AuthOptions extends Credentials {
  /** Allow AUTH on a connection without TLS. */
  readonly allowCleartext?: boolean;
  /** SCRAM client nonce, for test vectors; default random. */
  readonly nonce?: string;
}

/** Most 334 challenges accepted in one AUTH exchange. */
export const MAX_AUTH_STEPS = 8;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export class EtrnSession {
  private current: SessionState = 'greeting';
  private capabilities: Capabilities | null = null;
  private advertised: boolean | null = null;
  private next = 0;
  private readonly outcomes: NodeOutcome[] = [];
  private failure: SessionFailure | null = null;
  private readonly options: SessionOptions;
  private readonly tls: TlsMode;
  private secure: boolean;
  private mechanism: Mechanism | null = null;
  private authSteps = 0;
  private authDone = false;

  constructor(options: SessionOptions) {
    if (options.nodes.length === 0) throw new LocalProtocolError('an ETRN session needs at least one node');
    commands.ehlo(options.heloName); // refuse a bad name before anything is sent
    options.nodes.forEach((n) => commands.etrnCommand(n));
    this.options = options;
    this.tls = options.tls ?? 'opportunistic';
    this.secure = this.tls === 'implicit';
  }

  /** Whether AUTH succeeded. */
  get authenticated(): boolean {
    return this.authDone;
  }

  /** Whether the connection is protected by TLS (implicit, or after STARTTLS). */
  get encrypted(): boolean {
    return this.secure;
  }

  get state(): SessionState {
    return this.current;
  }

  /** Where the session is, for messages. */
  get phase(): string {
    const node = this.options.nodes[this.next];
    return this.current === 'etrn' && node !== undefined ? `${where.etrn} for ${node}` : where[this.current];
  }

  /** True while a reply is awaited; a reply at any other time is unsolicited. */
  get awaitingReply(): boolean {
    return this.current !== 'quit' && this.current !== 'done' && this.current !== 'handshake';
  }

  /** Whether the last EHLO reply listed ETRN (null before EHLO was answered). */
  get etrnAdvertised(): boolean | null {
    return this.advertised;
  }

  get error(): SessionFailure | null {
    return this.failure;
  }

  /** Every node in order: answered, or `ok: false` without a code when never answered. */
  get nodes(): NodeOutcome[] {
    const pending = this.options.nodes.slice(this.outcomes.length).map((node) => ({ node, ok: false }));
    return [...this.outcomes, ...pending];
  }

  /** The capabilities from the last EHLO (empty after HELO), or null before. */
  get serverCapabilities(): Capabilities | null {
    return this.capabilities;
  }

  /** Feeds the next complete reply; returns what to do next. */
  receive(reply: Reply): SessionAction {
    switch (this.current) {
      case 'greeting':
        return this.onGreeting(reply);
      case 'ehlo':
        return this.onEhlo(reply);
      case 'helo':
        return this.onHelo(reply);
      case 'starttls':
        return this.onStarttls(reply);
      case 'auth':
        return this.onAuth(reply);
      case 'etrn':
        return this.onEtrn(reply);
      default:
        throw new LocalProtocolError(`no reply is expected in state ${this.current}`);
    }
  }

  /**
   * Records a failure found outside the protocol (timeout, connection lost,
   * malformed reply). The session ends; the transport closes the connection.
   */
  fail(kind: ErrorKind, message: string): SessionAction {
    if (this.current === 'done') return { type: 'close' };
    if (this.current === 'quit') {
      // Every result is in; a problem after QUIT changes nothing.
      this.current = 'done';
      return { type: 'close' };
    }
    return this.end(kind, message, null, false);
  }

  /**
   * The TLS handshake after STARTTLS succeeded. RFC 3207 §4.2: the client
   * discards what it knew from the server and sends EHLO again.
   */
  secured(): SessionAction {
    if (this.current !== 'handshake') throw new LocalProtocolError(`no TLS handshake in state ${this.current}`);
    this.secure = true;
    this.capabilities = null;
    this.advertised = null;
    return this.send('ehlo', commands.ehlo(this.options.heloName));
  }

  private onStarttls(reply: Reply): SessionAction {
    if (reply.code === 220) {
      this.current = 'handshake';
      return { type: 'starttls' };
    }
    if (reply.code === 421) return this.end('refused', `server closed the session: ${formatReply(reply)}`, reply, false);
    if (this.tls === 'required') {
      return this.end('tls', `server refused STARTTLS: ${formatReply(reply)} (--tls required)`, reply, true);
    }
    return this.afterTls();
  }

  /**
   * The server sent a reply to no outstanding command (found by the
   * transport before it sends the next one, QUIT included): a protocol
   * error, even when every ETRN result is already in.
   */
  unsolicited(message: string): SessionAction {
    if (this.current === 'done') return { type: 'close' };
    return this.end('protocol', message, null, false);
  }

  private onGreeting(reply: Reply): SessionAction {
    if (reply.code === 220) return this.send('ehlo', commands.ehlo(this.options.heloName));
    if (reply.code === 421 || (reply.code >= 400 && reply.code < 500)) {
      return this.end('refused', `server refused the session: ${formatReply(reply)}`, reply, reply.code !== 421);
    }
    if (reply.code >= 500) {
      // RFC 5321 §3.1: after a 554 greeting the client should send QUIT.
      return this.end('unavailable', `server refused the session: ${formatReply(reply)}`, reply, true);
    }
    return this.end('protocol', `unexpected greeting: ${formatReply(reply)}`, reply, false);
  }

  private onEhlo(reply: Reply): SessionAction {
    if (reply.code === 250) {
      this.capabilities = parseCapabilities(reply);
      this.advertised = this.capabilities.has('ETRN');
      if (!this.secure && this.tls !== 'off' && this.capabilities.has('STARTTLS')) {
        return this.send('starttls', commands.starttls());
      }
      return this.afterTls();
    }
    if (reply.code === 421) return this.end('refused', `server closed the session: ${formatReply(reply)}`, reply, false);
    if (reply.code >= 400 && reply.code < 600) {
      // RFC 5321 §3.2: a server that refuses EHLO may still accept HELO.
      return this.send('helo', commands.helo(this.options.heloName));
    }
    return this.end('protocol', `unexpected EHLO reply: ${formatReply(reply)}`, reply, false);
  }

  private onHelo(reply: Reply): SessionAction {
    if (reply.code === 250) {
      this.capabilities = noCapabilities;
      this.advertised = false;
      return this.afterTls();
    }
    if (reply.code === 421) return this.end('refused', `server closed the session: ${formatReply(reply)}`, reply, false);
    if (reply.code >= 400 && reply.code < 500) {
      return this.end('refused', `server refused EHLO and HELO: ${formatReply(reply)}`, reply, true);
    }
    if (reply.code >= 500 && reply.code < 600) {
      return this.end('unavailable', `server refused EHLO and HELO: ${formatReply(reply)}`, reply, true);
    }
    return this.end('protocol', `unexpected HELO reply: ${formatReply(reply)}`, reply, false);
  }

  private afterTls(): SessionAction {
    if (!this.secure && this.tls === 'required') {
      return this.end('tls', 'server does not offer STARTTLS (--tls required)', null, true);
    }
    return this.afterHello();
  }

  private afterHello(): SessionAction {
    if (!this.advertised && !this.options.force) {
      const why =
        this.capabilities === noCapabilities
          ? 'server refused EHLO, so it cannot offer ETRN (use --force to try anyway)'
          : 'server does not offer ETRN: its EHLO reply does not list it (use --force to try anyway)';
      return this.end('unavailable', why, null, true);
    }
    return this.options.auth ? this.startAuth(this.options.auth) : this.sendEtrn();
  }

  private startAuth(auth: AuthOptions): SessionAction {
    this.current = 'auth';
    if (!this.secure && !auth.allowCleartext) {
      return this.end('tls', 'AUTH refused on a connection without TLS (use --auth-cleartext to allow it)', null, true);
    }
    const caps = this.capabilities ?? noCapabilities;
    if (!caps.has('AUTH')) return this.end('auth', 'server does not offer AUTH', null, true);
    const name = chooseMechanism(caps.params('AUTH'));
    if (!name) {
      return this.end('auth', `server offers no supported AUTH mechanism (it offers: ${caps.params('AUTH').join(' ')})`, null, true);
    }
    this.mechanism = createMechanism(name, auth, auth.nonce);
    const initial = this.mechanism.initial;
    if (initial === null) return { type: 'send', line: `AUTH ${name}`, delayMs: 0 };
    // RFC 4954 §4: an empty initial response is sent as "=".
    const encoded = initial.length === 0 ? '=' : initial.toString('base64');
    return { type: 'send', line: `AUTH ${name} ${encoded}`, delayMs: 0, shown: `AUTH ${name} ********` };
  }

  private onAuth(reply: Reply): SessionAction {
    const mechanism = this.mechanism!;
    if (reply.code === 235) {
      this.authDone = true;
      return this.sendEtrn();
    }
    if (reply.code === 334) {
      this.authSteps += 1;
      const text = (reply.lines[0] ?? '').trim();
      if (this.authSteps > MAX_AUTH_STEPS || !BASE64.test(text)) {
        const why = this.authSteps > MAX_AUTH_STEPS ? `more than ${MAX_AUTH_STEPS} AUTH challenges` : 'an AUTH challenge that is not base64';
        return this.end('protocol', `server sent ${why}`, reply, false);
      }
      let response: Buffer;
      try {
        response = mechanism.respond(Buffer.from(text, 'base64'));
      } catch (error) {
        if (!(error instanceof RemoteProtocolError)) throw error;
        return this.end('protocol', error.message, reply, false);
      }
      return { type: 'send', line: response.toString('base64'), delayMs: 0, shown: '********' };
    }
    if (reply.code === 421) return this.end('refused', `server closed the session: ${formatReply(reply)}`, reply, false);
    if (reply.code >= 400 && reply.code < 500) {
      return this.end('refused', `authentication failed temporarily: ${formatReply(reply)}`, reply, true);
    }
    if (reply.code >= 500 && reply.code < 600) {
      return this.end('auth', `authentication failed: ${formatReply(reply)}`, reply, true);
    }
    return this.end('protocol', `unexpected AUTH reply: ${formatReply(reply)}`, reply, false);
  }

  private sendEtrn(): SessionAction {
    const node = this.options.nodes[this.next]!;
    const delayMs = this.next > 0 ? (this.options.delayMs ?? 0) : 0;
    this.current = 'etrn';
    return { type: 'send', line: commands.etrnCommand(node), delayMs };
  }

  private onEtrn(reply: Reply): SessionAction {
    const node = this.options.nodes[this.next]!;
    if (reply.code < 400 && !isAccepted(reply.code)) {
      // Only 250-253 answer ETRN (RFC 1985 §5); a 221 or 354 means the
      // server is in some other conversation.
      return this.end('protocol', `unexpected ETRN reply: ${formatReply(reply)}`, reply, false);
    }
    this.outcomes.push({
      node,
      code: reply.code,
      enhanced: reply.enhanced,
      text: replyText(reply),
      ok: isAccepted(reply.code),
    });
    this.next += 1;
    if (reply.code === 421) {
      // RFC 5321 §4.2.2: 421 means the server is closing the channel.
      return this.end('refused', `server closed the session: ${formatReply(reply)}`, reply, false, `${where.etrn} for ${node}`);
    }
    if (this.next < this.options.nodes.length) return this.sendEtrn();
    return this.quit();
  }

  private send(state: SessionState, line: string): SessionAction {
    this.current = state;
    return { type: 'send', line, delayMs: 0 };
  }

  private quit(): SessionAction {
    this.current = 'quit';
    return { type: 'send', line: commands.quit(), delayMs: 0 };
  }

  private end(
    kind: ErrorKind,
    message: string,
    reply: Reply | null,
    sayQuit: boolean,
    phase = this.phase,
  ): SessionAction {
    this.failure = { kind, phase, message, reply };
    if (sayQuit) return this.quit();
    this.current = 'done';
    return { type: 'close' };
  }
}
