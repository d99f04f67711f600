// Which names that a local MTA accepts mail for are never worth an ETRN:
// localhost itself and address literals. One rule for every discovery
// source (sendmail's class w, Postfix, Exim).

/** localhost, localhost.anything (any case, a trailing dot ignored), and address literals: [127.0.0.1], [IPv6:::1], bare IPv4. */
export function isLocalOrLiteral(name: string): boolean {
  const lower = name.toLowerCase().replace(/\.$/, '');
  return lower === 'localhost' || lower.startsWith('localhost.') || lower.startsWith('[') || /^\d+\.\d+\.\d+\.\d+$/.test(lower);
}
