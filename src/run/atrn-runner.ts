// Running one ATRN session (RFC 2645): make sure the local MTA answers,
// then connect to the provider and run the customer's session (TLS and AUTH
// by the ETRN rules, transport/dialogue.ts) up to the ATRN reply; after 250,
// relay the turned connection to the local MTA (transport/relay.ts). The
// session's facts become a SessionResult with its `atrn` report.
import { isIP } from 'node:net';
import { formatHostPort } from '../names/server.js';
import { AtrnSession } from '../protocol/atrn.js';
import { mayRetryInClear } from '../protocol/auth-policy.js';
import type { ErrorKind } from '../protocol/outcome.js';
import { replyText } from '../protocol/reply.js';
import type { AtrnReport, NodeResult, SessionResult } from '../result.js';
import { type SessionPlan, emptySession } from './plan.js';
import { type SessionContext, connectToAny } from './session-runner.js';
import { stopReason } from '../transport/abort.js';
import { ConnectError } from '../transport/connect.js';
import { type DialogueSettings, converse } from '../transport/dialogue.js';
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
  let addresses;
  try {
    addresses = await ctx.resolve(s.host);
  } catch (error) {
    dismiss(local);
    return failed(s, to, 'nohost', error instanceof HostNotFoundError ? error.message : String(error));
  }
  const connected = await connectToAny(s, ctx, addresses);
  if (connected instanceof ConnectError) {
    dismiss(local);
    return failed(s, to, connected.kind, connected.message);
  }
  const { socket, address } = connected;
  const dialogue = await converse(socket, settings(s, ctx, address), ctx.tlsMode);
  if (dialogue.failure) {
    dismiss(local);
    const { kind, phase, message } = dialogue.failure;
    return { ...emptySession(s, { kind, phase, message, reply: null }), address, atrn: report(s, to, {}) };
  }
  const session = dialogue.session;
  const atrnReply = session.atrnReplyRaw;
  const reply = atrnReply && { code: atrnReply.code, enhanced: atrnReply.enhanced, text: replyText(atrnReply) };
  const verdict = session.atrnReply;
  let outcome: RelayOutcome | null = null;
  if (dialogue.turned) {
    trace('==', `provider turned the connection around; relaying to ${formatHostPort(to.host, to.port)}`);
    outcome = await relay({ provider: dialogue.turned, local, timeoutMs: ctx.timeoutMs, signal: ctx.signal, trace });
  } else {
    dismiss(local);
  }
  const ok = verdict?.type === 'turn' || verdict?.type === 'nomail';
  const nodes: NodeResult[] = s.nodes.map((node) => ({
    node,
    sent: session.atrnSent,
    ...(reply ? { code: reply.code, enhanced: reply.enhanced, text: reply.text } : {}),
    ok,
  }));
  const failure = session.error ?? (outcome?.failure ? { ...outcome.failure, phase: 'relay' as const, reply: null } : null);
  return {
    server: s.server,
    port: s.port,
    address,
    tls: dialogue.tls,
    authenticated: session.authenticated,
    etrnAdvertised: null,
    error: failure && { kind: failure.kind, message: failure.message, phase: failure.phase, reply: failure.reply && { code: failure.reply.code, enhanced: failure.reply.enhanced, text: replyText(failure.reply) } },
    nodes,
    atrn: report(s, to, {
      atrnAdvertised: session.atrnAdvertised,
      sent: session.atrnSent,
      reply,
      noMail: verdict?.type === 'nomail',
      turned: dialogue.turned !== null,
      ...(outcome
        ? {
            messages: {
              offered: outcome.counts.offered,
              accepted: outcome.counts.accepted,
              refused: outcome.counts.refused,
              deferred: outcome.counts.deferred,
            },
            recipientsRefused: outcome.counts.recipientsRefused,
            providerQuit: outcome.counts.quit,
            bodyBytes: outcome.bodyBytes,
          }
        : {}),
    }),
  };
}

function settings(s: SessionPlan, ctx: SessionContext, address: string): DialogueSettings<AtrnSession> {
  const trace = ctx.trace(s.label);
  return {
    connector: ctx.connector,
    address,
    port: s.port,
    localAddress: ctx.sourceAddress,
    timeoutMs: ctx.timeoutMs,
    signal: ctx.signal,
    trace,
    tlsHost: isIP(s.host) ? address : s.host,
    tls: ctx.tls,
    deriveKey: ctx.deriveKey,
    retryInClear: mayRetryInClear(ctx.auth),
    newSession: (tlsMode, certificate) =>
      new AtrnSession({
        heloName: ctx.heloName,
        domains: s.nodes,
        tls: tlsMode,
        auth: ctx.auth,
        replyLimits: ctx.replyLimits,
        onLine: (line) => trace('<-', line),
        certificate,
      }),
  };
}
