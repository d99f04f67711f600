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
  if (isIPv4(host)) return { host, port };
  if (/^[\d.]+$/.test(host)) throw new InvalidNameError(input, 'server-host is not a valid IPv4 address');
  return { host: normalizeDomain(host, 'server-host'), port };
}

/** "host:port", with brackets around an IPv6 address. */
export function formatHostPort(host: string, port: number): string {
  return isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}
