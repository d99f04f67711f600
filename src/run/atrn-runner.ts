// Running one ATRN session (RFC 2645): make sure the local MTA answers,
// then connect to the provider and run the customer's session (TLS and AUTH
// by the ETRN rules, transport/dialogue.ts) up to the ATRN reply; after 250,
// relay the turned connection to the local MTA (transport/relay.ts). The
// session's facts become a SessionResult with its `atrn` report.
import { formatHostPort } from '../names/server.js';
import { AtrnSession } from '../protocol/atrn.js';
import type { ErrorKind } from '../protocol/outcome.js';
import { replyText } from '../protocol/reply.js';
import type { SessionFailure } from '../protocol/session.js';
import type { AtrnReport, NodeResult, SessionError, SessionResult } from '../result.js';
import { type SessionPlan, emptySession } from './plan.js';
import { type SessionContext, connectToAny, dialogueSettings } from './session-runner.js';
import { stopReason } from '../transport/abort.js';
import { ConnectError } from '../transport/connect.js';
import { type DialogueResult, type DialogueSettings, converse } from '../transport/dialogue.js';
import { type LocalMta, LocalMtaError, openLocalMta } from '../transport/local-mta.js';
import { type RelayOutcome, relay } from '../transport/relay.js';
import { HostNotFoundError } from '../transport/resolve.js';

export interface RelayTarget {
  readonly host: string;
  readonly port: number;
}

const noMessages = { offered: 0, accepted: 0, refused: 0, deferred: 0 } as const;

function report(s: SessionPlan, to: RelayTarget, fields: Partial<AtrnReport>): AtrnReport {
  return {
    domains: s.nodes,
    relayTo: formatHostPort(to.host, to.port),
    atrnAdvertised: null,
    sent: false,
    reply: null,
    noMail: false,
    turned: false,
    messages: noMessages,
    recipientsRefused: 0,
    providerQuit: false,
    bodyBytes: 0,
    ...fields,
  };
}

function failed(s: SessionPlan, to: RelayTarget, kind: ErrorKind, message: string): SessionResult {
  return { ...emptySession(s, { kind, message, phase: 'connect', reply: null }), atrn: report(s, to, {}) };
}

/** Says QUIT to a local MTA that will not be needed after all. */
function dismiss(local: LocalMta): void {
  local.socket.on('error', () => undefined);
  local.socket.resume();
  local.socket.end('QUIT\r\n');
  setTimeout(() => local.socket.destroy(), 2000).unref();
}

/** The provider reached, its dialogue held up to the ATRN reply. */
interface Reached {
  readonly address: string;
  readonly dialogue: Extract<DialogueResult<AtrnSession>, { readonly failure: null }>;
}

export async function runAtrnSession(s: SessionPlan, ctx: SessionContext, to: RelayTarget): Promise<SessionResult> {
  if (ctx.signal?.aborted) return failed(s, to, stopReason(ctx.signal).kind, `${stopReason(ctx.signal).message} before the session started`);
  const trace = ctx.trace(s.label);
  // The local MTA first: no ATRN when there is nowhere to deliver to.
  let local: LocalMta;
  try {
    local = await openLocalMta({ ...to, connector: ctx.connector, timeoutMs: ctx.timeoutMs, signal: ctx.signal, trace });
  } catch (error) {
    const e = error instanceof LocalMtaError ? error : new LocalMtaError('refused', String(error));
    return failed(s, to, e.kind, `${e.message}; provider not contacted`);
  }
  const reached = await reachProvider(s, ctx, to);
  if ('failed' in reached) {
    dismiss(local);
    return reached.failed;
  }
  const { dialogue } = reached;
  let outcome: RelayOutcome | null = null;
  if (dialogue.turned) {
    trace('==', `provider turned the connection around; relaying to ${formatHostPort(to.host, to.port)}`);
    outcome = await relay({ provider: dialogue.turned, local, timeoutMs: ctx.timeoutMs, signal: ctx.signal, trace });
  } else {
    dismiss(local);
  }
  return sessionResult(s, to, reached, outcome);
}

/**
 * Resolves the provider, connects to one of its addresses and runs the
 * customer's dialogue up to the ATRN reply; a failure on the way comes back
 * as the session's result (the caller dismisses the local MTA).
 */
async function reachProvider(s: SessionPlan, ctx: SessionContext, to: RelayTarget): Promise<Reached | { readonly failed: SessionResult }> {
  let addresses;
  try {
    addresses = await ctx.resolve(s.host);
  } catch (error) {
    return { failed: failed(s, to, 'nohost', error instanceof HostNotFoundError ? error.message : String(error)) };
  }
  const connected = await connectToAny(s, ctx, addresses);
  if (connected instanceof ConnectError) return { failed: failed(s, to, connected.kind, connected.message) };
  const { socket, address } = connected;
  const dialogue = await converse(socket, settings(s, ctx, address), ctx.tlsMode);
  if (dialogue.failure) {
    const { kind, phase, message } = dialogue.failure;
    return { failed: { ...emptySession(s, { kind, phase, message, reply: null }), address, atrn: report(s, to, {}) } };
  }
  return { address, dialogue };
}

/** The session's facts once the ATRN reply is in (and the relay is over, when the provider turned). */
function sessionResult(s: SessionPlan, to: RelayTarget, { address, dialogue }: Reached, outcome: RelayOutcome | null): SessionResult {
  const session = dialogue.session;
  const atrnReply = session.atrnReplyRaw;
  const reply = atrnReply && { code: atrnReply.code, enhanced: atrnReply.enhanced, text: replyText(atrnReply) };
  const verdict = session.atrnReply;
  const ok = verdict?.type === 'turn' || verdict?.type === 'nomail';
  const nodes: NodeResult[] = s.nodes.map((node) => ({
    node,
    sent: session.atrnSent,
    ...(reply ? { code: reply.code, enhanced: reply.enhanced, text: reply.text } : {}),
    ok,
  }));
  return {
    server: s.server,
    port: s.port,
    address,
    tls: dialogue.tls,
    authenticated: session.authenticated,
    etrnAdvertised: null,
    error: sessionError(session.error, outcome),
    nodes,
    atrn: report(s, to, {
      atrnAdvertised: session.atrnAdvertised,
      sent: session.atrnSent,
      reply,
      noMail: verdict?.type === 'nomail',
      turned: dialogue.turned !== null,
      ...(outcome ? relayed(outcome) : {}),
    }),
  };
}

/** The session's own failure, else the relay's; null when neither failed. */
function sessionError(own: SessionFailure | null, outcome: RelayOutcome | null): SessionError | null {
  const failure = own ?? (outcome?.failure ? { ...outcome.failure, phase: 'relay' as const, reply: null } : null);
  return failure && { kind: failure.kind, message: failure.message, phase: failure.phase, reply: failure.reply && { code: failure.reply.code, enhanced: failure.reply.enhanced, text: replyText(failure.reply) } };
}

/** What the relay counted, for the ATRN report. */
function relayed(outcome: RelayOutcome): Partial<AtrnReport> {
  return {
    messages: {
      offered: outcome.counts.offered,
      accepted: outcome.counts.accepted,
      refused: outcome.counts.refused,
      deferred: outcome.counts.deferred,
    },
    recipientsRefused: outcome.counts.recipientsRefused,
    providerQuit: outcome.counts.quit,
    bodyBytes: outcome.bodyBytes,
  };
}

function settings(s: SessionPlan, ctx: SessionContext, address: string): DialogueSettings<AtrnSession> {
  return dialogueSettings(s, ctx, address, (tlsMode, certificate, onLine) =>
    new AtrnSession({
      heloName: ctx.heloName,
      domains: s.nodes,
      tls: tlsMode,
      auth: ctx.auth,
      replyLimits: ctx.replyLimits,
      onLine,
      certificate,
    }),
  );
}
