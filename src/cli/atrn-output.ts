// The human line for an ATRN session (RFC 2645): what the provider offered
// and what the local MTA did with it. Pure formatting.
import type { AtrnReport } from '../result.js';

/** "ATRN client.test: 3 messages offered, 2 accepted, 0 refused, 1 deferred (relayed to localhost:25)". */
export function formatAtrn(name: string, atrn: AtrnReport): string | null {
  const asked = `${name}: ATRN ${atrn.domains.join(',')}`;
  if (atrn.noMail) return `${asked}: no mail waiting`;
  if (!atrn.turned) return null;
  const m = atrn.messages;
  const recipients = atrn.recipientsRefused > 0 ? `, ${atrn.recipientsRefused} recipient(s) refused (the provider bounces them)` : '';
  return `${asked}: ${m.offered} message(s) offered, ${m.accepted} accepted, ${m.refused} refused, ${m.deferred} deferred${recipients} (relayed to ${atrn.relayTo})`;
}
