// Human-readable output: one line per node, one line per session error,
// dry-run listings and -v transcript lines. Pure formatting; main.ts writes.
import { formatHostPort } from '../names/server.js';
import { exitCodeForNodeReply } from '../protocol/outcome.js';
import type { EtrnResult, NodeResult, SessionResult } from '../result.js';
import type { TraceEvent } from '../run.js';

export interface Lines {
  readonly out: string[];
  readonly err: string[];
}

function sessionName(s: SessionResult): string {
  const where = formatHostPort(s.server, s.port);
  return s.address && s.address !== s.server ? `${where} [${s.address}]` : where;
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
    if (s.error) err.push(`etrn: ${name}: ${s.error.message}`);
    for (const n of s.nodes) {
      if (n.ok) out.push(`${name}: ${n.node}: accepted: ${replyOf(n)}`);
      else if (n.code !== undefined) {
        const how = exitCodeForNodeReply(n.code) === 75 ? 'failed temporarily' : 'refused';
        err.push(`etrn: ${name}: ETRN ${n.node} ${how}: ${replyOf(n)}`);
      } else {
        // The node whose reply the session was waiting for when it failed was sent.
        const inFlight = s.error?.message.endsWith(`(while receiving the ETRN reply for ${n.node})`) ?? false;
        err.push(`etrn: ${name}: ${n.node}: ${inFlight ? 'sent, no reply' : 'not sent'}`);
      }
    }
  }
  return { out, err };
}

/** The dry-run listing: each session and its commands. */
export function formatPlan(result: EtrnResult, heloName: string, bootCheck: string | null): string[] {
  const lines: string[] = [];
  if (bootCheck) lines.push(`boot check: wait for ${bootCheck}`);
  result.sessions.forEach((s, i) => {
    lines.push(`session ${i + 1}: ${formatHostPort(s.server, s.port)}: EHLO ${heloName}`);
    for (const n of s.nodes) lines.push(`  ETRN ${n.node}`);
  });
  return lines;
}

export function formatTrace(event: TraceEvent, prefixed: boolean): string {
  return `${prefixed ? `[${event.session}] ` : ''}${event.direction} ${event.text}`;
}
