// The ETRN client session as a state machine (RFC 5321 §3-4, RFC 1985,
// RFC 3207 hooks). Theory of operation: the transport feeds received bytes
// to `receiveData()`; the session's own reply parser joins them into replies
// and `receive()` turns each reply into the one action to take next: send a
// line (after an optional pause), start TLS, derive a SCRAM key, or close.
// The transport reports back when a line was written (`written()`), when TLS
// is up (`secured()`) and when the key is derived (`derived()`: PBKDF2 runs
// off the event loop, in the transport); failures it detects (timeouts, lost connections) come in
// through `fail()`. Bytes that answer no command the session has written are
// a protocol error, and so is plaintext queued behind the 220 to STARTTLS
// (CVE-2011-0411). The session never touches a socket or a timer, so every
// path is testable byte by byte. One command is outstanding at a time: ETRN
// is not pipelined (RFC 2920 §3.1 lists the commands that may be grouped;
// ETRN is not one of them).
import { AuthenticationError, LocalProtocolError, RemoteProtocolError } from '../errors.js';
import { type Capabilities, noCapabilities, parseCapabilities } from './capabilities.js';
import * as commands from './commands.js';
import { type ErrorKind, isAccepted } from './outcome.js';
import { type Reply, type ReplyLimits, ReplyParser, formatReply, replyText, withTrailingEnhanced } from './reply.js';
import { type Credentials, type KeyRequest, type Mechanism, chooseMechanism, createMechanism, prepareCredentials } from './sasl.js';
import { type AuthAllowance, type CertificateCheck, authRefusal } from './auth-policy.js';

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

/**
 * Where a session failed, as the JSON schema names it (connect: before the
 * session, set by the transport; tls: the TLS handshake).
 */
export type SessionPhase = 'connect' | 'greeting' | 'ehlo' | 'helo' | 'starttls' | 'tls' | 'auth' | 'etrn' | 'quit' | 'atrn' | 'relay';

/** The phase of each state. */
const phaseOf: Record<SessionState, SessionPhase> = {
  greeting: 'greeting',
  ehlo: 'ehlo',
  helo: 'helo',
  starttls: 'starttls',
  handshake: 'tls',
  auth: 'auth',
  etrn: 'etrn',
  quit: 'quit',
  done: 'quit',
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
  /** Derive SCRAM's SaltedPassword (PBKDF2) and hand it to `derived()`; never shown. */
  | { readonly type: 'derive'; readonly key: KeyRequest }
  | { readonly type: 'close' };

export interface NodeOutcome {
  readonly node: string;
  /** The ETRN reply, absent when the command was never answered. */
  readonly code?: number;
  readonly enhanced?: string | null;
  readonly text?: string;
  readonly ok: boolean;
  /** Whether the ETRN command was written to the connection. */
  readonly sent: boolean;
}

export interface SessionFailure {
  readonly kind: ErrorKind;
  /** Where it happened. */
  readonly phase: SessionPhase;
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
  /** Limits of the reply parser behind receiveData(). */
  readonly replyLimits?: Partial<ReplyLimits> | undefined;
  /** Sees every received line (cleaned), before it is checked: for transcripts. */
  readonly onLine?: ((line: string) => void) | undefined;
  /** With tls 'implicit': the certificate check of the handshake done before the session (default: not verified). */
  readonly certificate?: CertificateCheck | undefined;
}

export interface AuthOptions extends Credentials, AuthAllowance {
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
  /** The certificate check of the TLS connection (null without TLS). */
  private certificate: CertificateCheck | null;
  private mechanism: Mechanism | null = null;
  private authSteps = 0;
  private authDone = false;
  private readonly parser: ReplyParser;
  /** A line was handed to the transport and not yet reported written. */
  private writing = false;
  /** A key was asked of the transport and not yet derived. */
  private deriving = false;
  /** How many ETRN commands were written. */
  private sentCount = 0;

  constructor(options: SessionOptions) {
    if (options.nodes.length === 0) throw new LocalProtocolError('an ETRN session needs at least one node');
    commands.ehlo(options.heloName); // refuse a bad name before anything is sent
    options.nodes.forEach((n) => commands.etrnCommand(n));
    if (options.auth) prepareCredentials(options.auth); // refuse credentials OpaqueString refuses, before anything is sent
    this.options = options;
    this.tls = options.tls ?? 'opportunistic';
    this.secure = this.tls === 'implicit';
    this.certificate = this.secure ? (options.certificate ?? { verified: false, problem: 'not reported' }) : null;
    this.parser = new ReplyParser(options.replyLimits, options.onLine);
  }

  /** Whether AUTH succeeded. */
  get authenticated(): boolean {
    return this.authDone;
  }

  get state(): SessionState {
    return this.current;
  }

  /** Where the session is, for failures. */
  get phase(): SessionPhase {
    return phaseOf[this.current];
  }

  /**
   * True while a reply is awaited: the greeting, or the reply to a command
   * written; bytes at any other time are unsolicited.
   */
  get awaitingReply(): boolean {
    return !this.writing && !this.deriving && this.current !== 'quit' && this.current !== 'done' && this.current !== 'handshake';
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
    const answered = this.outcomes.length;
    const pending = this.options.nodes.slice(answered).map((node, i) => ({ node, ok: false, sent: answered + i < this.sentCount }));
    return [...this.outcomes, ...pending];
  }

  /**
   * Feeds received bytes, in chunks of any size. Returns the action for the
   * reply they complete, or null while a reply is still incomplete.
   */
  receiveData(chunk: Uint8Array): SessionAction | null {
    if (this.current === 'done') return { type: 'close' };
    if (!this.awaitingReply) {
      return this.unsolicited('server sent data while no command was outstanding (unsolicited reply)');
    }
    let reply: Reply | undefined;
    try {
      this.parser.feed(chunk);
      reply = this.parser.next();
    } catch (error) {
      if (!(error instanceof RemoteProtocolError)) throw error;
      return this.fail('protocol', error.message);
    }
    if (!reply) return null;
    const action = this.receive(reply);
    if (action.type === 'close' || (this.parser.queued === 0 && this.parser.buffered === 0)) return action;
    // Bytes that arrived before our next command answer nothing we sent.
    // After a 220 to STARTTLS they would be plaintext injected into the TLS
    // session to come (CVE-2011-0411): never process them.
    return this.unsolicited(
      action.type === 'starttls'
        ? 'server sent data after its 220 to STARTTLS, before the TLS handshake (possible injection)'
        : 'server sent a reply before the command it answers (unsolicited data)',
    );
  }

  /** The transport wrote the line of the last `send` action: its reply is now awaited. */
  written(): void {
    this.writing = false;
    if (this.current === 'etrn') this.sentCount = Math.max(this.sentCount, this.next + 1);
  }

  /** The key of the last `derive` action (SCRAM's SaltedPassword): returns the response to send. */
  derived(key: Buffer): SessionAction {
    if (!this.deriving || this.current !== 'auth') throw new LocalProtocolError(`no key derivation outstanding in state ${this.current}`);
    this.deriving = false;
    const response = this.mechanism!.derived(key);
    return this.track({ type: 'send', line: response.toString('base64'), delayMs: 0, shown: '********' });
  }

  /** The capabilities from the last EHLO (empty after HELO), or null before. */
  get serverCapabilities(): Capabilities | null {
    return this.capabilities;
  }

  /** Feeds the next complete reply; returns what to do next. */
  receive(reply: Reply): SessionAction {
    return this.track(this.route(reply));
  }

  /** A line to send is outstanding until the transport reports it written. */
  private track(action: SessionAction): SessionAction {
    if (action.type === 'send') this.writing = true;
    return action;
  }

  private route(reply: Reply): SessionAction {
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
    this.deriving = false;
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
   * `certificate` says whether the certificate verified (AUTH depends on it).
   */
  secured(certificate: CertificateCheck): SessionAction {
    if (this.current !== 'handshake') throw new LocalProtocolError(`no TLS handshake in state ${this.current}`);
    this.secure = true;
    this.certificate = certificate;
    this.capabilities = null;
    this.advertised = null;
    return this.track(this.send('ehlo', commands.ehlo(this.options.heloName)));
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
    // No AUTH of any mechanism unless over verified TLS or the user accepted less.
    const refusal = authRefusal(this.certificate, auth);
    if (refusal !== null) return this.end('auth', refusal, null, true);
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
      if (!mechanism.serverVerified) {
        // RFC 5802 §3: SCRAM is mutual; a success the server has not earned
        // is a server that may not know the password (a man in the middle).
        return this.end(
          'auth',
          `authentication failed: the server said ${formatReply(reply)} without proving it knows the password (no verified ${mechanism.name} server signature)`,
          reply,
          true,
        );
      }
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
      let step: ReturnType<Mechanism['respond']>;
      try {
        step = mechanism.respond(Buffer.from(text, 'base64'));
      } catch (error) {
        if (error instanceof AuthenticationError) return this.end('auth', error.message, reply, true);
        if (!(error instanceof RemoteProtocolError)) throw error;
        return this.end('protocol', error.message, reply, false);
      }
      if (step.type === 'derive') {
        this.deriving = true;
        return { type: 'derive', key: step.key };
      }
      return { type: 'send', line: step.data.toString('base64'), delayMs: 0, shown: '********' };
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

  private onEtrn(received: Reply): SessionAction {
    const reply = withTrailingEnhanced(received);
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
      sent: true,
    });
    this.next += 1;
    this.sentCount = Math.max(this.sentCount, this.next);
    if (reply.code === 421) {
      // RFC 5321 §4.2.2: 421 means the server is closing the channel.
      return this.end('refused', `server closed the session: ${formatReply(reply)}`, reply, false);
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
    this.writing = true;
    return { type: 'send', line: commands.quit(), delayMs: 0 };
  }

  private end(kind: ErrorKind, message: string, reply: Reply | null, sayQuit: boolean): SessionAction {
    this.failure = { kind, phase: this.phase, message, reply };
    if (sayQuit) return this.quit();
    this.current = 'done';
    return { type: 'close' };
  }
}
