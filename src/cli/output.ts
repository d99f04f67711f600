// Human-readable output: one line per node, one line per session error,
// dry-run listings and -v transcript lines. Pure formatting; main.ts writes.
import { safeLine } from '../escape.js';
import { formatHostPort } from '../names/server.js';
import { ExitCode, exitCodeForNodeReply } from '../protocol/outcome.js';
import type { SessionPhase } from '../protocol/session.js';
import type { EtrnResult, NodeResult, SessionError, SessionResult } from '../result.js';
import type { TraceEvent } from '../run/index.js';
import { formatAtrn } from './atrn-output.js';

export interface Lines {
  readonly out: string[];
  readonly err: string[];
}

function sessionName(s: SessionResult): string {
  const where = formatHostPort(s.server, s.port);
  return s.address && s.address !== s.server ? `${where} [${s.address}]` : where;
}

/** Where each phase is, in the words of Postfix's SMTP client ("while receiving the EHLO reply"). */
const where: Record<SessionPhase, string> = {
  connect: 'connecting',
  greeting: 'receiving the initial server greeting',
  ehlo: 'receiving the EHLO reply',
  helo: 'receiving the HELO reply',
  starttls: 'receiving the STARTTLS reply',
  tls: 'performing the TLS handshake',
  auth: 'authenticating (AUTH)',
  etrn: 'receiving the ETRN reply',
  quit: 'sending QUIT',
  atrn: 'receiving the ATRN reply',
  relay: 'relaying the provider\'s mail to the local MTA',
};

/** The last node whose ETRN was written: the one in flight (or answered by the reply that ended the session). */
function lastSent(s: SessionResult): NodeResult | undefined {
  return [...s.nodes].reverse().find((n) => n.sent);
}

/** "while receiving the ETRN reply for a.example", from the error's phase and the nodes' facts. */
export function describeWhere(s: SessionResult, error: SessionError): string {
  if (error.phase !== 'etrn') return where[error.phase];
  const node = lastSent(s);
  if (node && (node.code === undefined || error.reply !== null)) return `${where.etrn} for ${node.node}`;
  return 'waiting to send the next ETRN (--delay)';
}

function replyOf(n: NodeResult): string {
  return [n.code, n.enhanced, n.text].filter((p) => p !== undefined && p !== null && p !== '').join(' ');
}

/** The lines for a finished run: accepted nodes on stdout, everything that failed on stderr. */
export function formatResult(result: EtrnResult): Lines {
  const out: string[] = [];
  const err: string[] = [];
  for (const s of result.sessions) {
    const name = sessionName(s);
    if (s.error) err.push(`etrn: ${name}: ${s.error.message} (while ${describeWhere(s, s.error)})`);
    if (s.atrn) {
      const line = formatAtrn(name, s.atrn);
      if (line) (s.atrn.messages.deferred > 0 ? err : out).push(s.atrn.messages.deferred > 0 ? `etrn: ${line}` : line);
      continue;
    }
    for (const n of s.nodes) {
      if (n.ok) out.push(`${name}: ${n.node}: accepted: ${replyOf(n)}`);
      else if (n.code !== undefined) {
        const how = exitCodeForNodeReply(n.code) === ExitCode.TEMPFAIL ? 'failed temporarily' : 'refused';
        err.push(`etrn: ${name}: ETRN ${n.node} ${how}: ${replyOf(n)}`);
      } else {
        err.push(`etrn: ${name}: ${n.node}: ${n.sent ? 'sent, no reply' : 'not sent'}`);
      }
    }
  }
  return { out, err };
}

/** The dry-run listing: each session and its commands. */
export function formatPlan(
  result: EtrnResult,
  heloName: string,
  bootCheck: string | null,
  relay: { readonly host: string; readonly port: number } | null = null,
): string[] {
  const lines: string[] = [];
  const relayTo = relay && formatHostPort(relay.host, relay.port);
  if (bootCheck) lines.push(`boot check: wait for ${relayTo ?? bootCheck}`);
  result.sessions.forEach((s, i) => {
    lines.push(`session ${i + 1}: ${formatHostPort(s.server, s.port)}: EHLO ${heloName}`);
    if (relayTo) lines.push(`  ATRN ${s.nodes.map((n) => n.node).join(',')} (relayed to ${relayTo})`);
    else for (const n of s.nodes) lines.push(`  ETRN ${n.node}`);
  });
  return lines;
}

/** One -v line, escaped and cut like every printed line (the server's text is shown, never obeyed). */
export function formatTrace(event: TraceEvent, prefixed: boolean): string {
  return safeLine(`${prefixed ? `[${event.session}] ` : ''}${event.direction} ${event.text}`);
}
