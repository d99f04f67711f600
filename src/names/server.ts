// Parsing of the server-host argument: a host name, an IPv4 address, or a
// bracketed IPv6 address (RFC 3986 §3.2.2 style), each optionally followed by
// ":port".
import { isIPv4, isIPv6 } from 'node:net';
import { InvalidNameError } from '../errors.js';
import { normalizeDomain } from './node.js';

export interface ServerAddress {
  /** Host name (A-labels), IPv4 address, or IPv6 address without brackets. */
  readonly host: string;
  /** The port given with the host, if any. */
  readonly port: number | undefined;
}

export function parsePort(text: string, what = 'port'): number {
  if (!/^\d{1,5}$/.test(text)) throw new InvalidNameError(text, `${what} must be a number from 1 to 65535`);
  const port = Number(text);
  if (port < 1 || port > 65535) throw new InvalidNameError(text, `${what} must be a number from 1 to 65535`);
  return port;
}

export function parseServer(input: string): ServerAddress {
  try {
    return parseServerParts(input);
  } catch (error) {
    if (!(error instanceof InvalidNameError) || error.input === input) throw error;
    // Name the whole argument, not the part that was wrong.
    throw new InvalidNameError(input, error.reason);
  }
}

function parseServerParts(input: string): ServerAddress {
  if (input.startsWith('[')) {
    const close = input.indexOf(']');
    if (close < 0) throw new InvalidNameError(input, 'server-host has "[" without "]"');
    const address = input.slice(1, close);
    if (!isIPv6(address)) throw new InvalidNameError(input, 'server-host in brackets must be an IPv6 address');
    const rest = input.slice(close + 1);
    if (rest === '') return { host: address, port: undefined };
    if (!rest.startsWith(':')) throw new InvalidNameError(input, 'server-host has text after "]"');
    return { host: address, port: parsePort(rest.slice(1), 'server-host port') };
  }
  if (isIPv6(input)) return { host: input, port: undefined };
  const colon = input.lastIndexOf(':');
  const host = colon < 0 ? input : input.slice(0, colon);
  const port = colon < 0 ? undefined : parsePort(input.slice(colon + 1), 'server-host port');
  return { host: serverHostName(host), port };
}

/** Labels that inet_aton reads as numbers: decimal, octal (leading 0) or hexadecimal (0x). */
const INET_ATON_PART = /^(?:0x[0-9a-f]*|[0-9]+)$/i;

/**
 * A server-host without port or brackets: a dotted-quad IPv4 address as it
 * is, else a host name in A-labels. A name whose last label is all digits is
 * no host name (RFC 3696 §2: no top-level domain is all-numeric), and the
 * system resolver would read it, or one made of 1–4 hexadecimal or octal
 * parts, as an address in inet_aton's shorthand (`127.1`, `0x7f.1`,
 * `2130706433`, `0x7f000001` are all 127.0.0.1): refused, since only a
 * dotted quad is taken as an IPv4 address. Throws InvalidNameError.
 */
export function serverHostName(host: string): string {
  if (isIPv4(host)) return host;
  const name = normalizeDomain(host, 'server-host');
  const labels = name.split('.');
  if (/^\d+$/.test(labels.at(-1)!) || (labels.length <= 4 && labels.every((l) => INET_ATON_PART.test(l)))) {
    throw new InvalidNameError(
      host,
      'server-host is not a valid IPv4 address (a dotted quad) nor a host name (a numeric last label, RFC 3696 §2)',
    );
  }
  return name;
}

/** "host:port", with brackets around an IPv6 address. */
export function formatHostPort(host: string, port: number): string {
  return isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}
