// The ATRN part of a session's result (RFC 2645 runs only): the domains
// asked for, the ATRN reply, and what became of the messages the provider
// offered over the turned connection. Its exit status: 0 when no mail was
// waiting or every offered message was taken (a refused recipient is the
// provider's to bounce); 75 when any message was deferred or the relay broke
// off before the provider's QUIT; the ETRN rules for everything before.
import { ExitCode, exitCodeForKind, worstExitCode } from './protocol/outcome.js';
import type { ReplyResult, SessionResult } from './result.js';

export interface AtrnMessages {
  readonly offered: number;
  readonly accepted: number;
  readonly refused: number;
  readonly deferred: number;
}

export interface AtrnReport {
  readonly domains: readonly string[];
  /** Where relayed mail went ("localhost:25"). */
  readonly relayTo: string;
  /** Whether EHLO listed ATRN; null when the session never got that far. */
  readonly atrnAdvertised: boolean | null;
  /** Whether the ATRN command was written. */
  readonly sent: boolean;
  /** The provider's reply to ATRN. */
  readonly reply: ReplyResult | null;
  /** 453: nothing was waiting. */
  readonly noMail: boolean;
  /** 250: the connection was turned around and relayed. */
  readonly turned: boolean;
  readonly messages: AtrnMessages;
  /** Recipients the local MTA refused (the provider bounces them). */
  readonly recipientsRefused: number;
  /** Whether the provider ended the relayed session with QUIT. */
  readonly providerQuit: boolean;
  /** Octets of message bodies relayed. */
  readonly bodyBytes: number;
}

export function atrnExitCode(session: SessionResult, atrn: AtrnReport): number {
  const codes: number[] = [];
  if (session.error) codes.push(exitCodeForKind(session.error.kind));
  if (atrn.messages.deferred > 0) codes.push(ExitCode.TEMPFAIL);
  return worstExitCode(codes);
}
