// Name resolution for server-host: the system resolver (getaddrinfo, so
// /etc/hosts and nsswitch apply), with IP literals passed through and the
// RFC 6761 §6.4 ".invalid" names answered "not found" without a query.
import { isIP } from 'node:net';
import { EtrnError } from '../errors.js';

export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

/** Resolves a host name to its addresses, in the resolver's order. */
export type Resolver = (host: string, family: 4 | 6 | undefined) => Promise<ResolvedAddress[]>;

/** Thrown by a Resolver when the name does not resolve. */
export class HostNotFoundError extends EtrnError {
  readonly host: string;
  constructor(host: string, reason: string) {
    super('ERR_HOST_NOT_FOUND', `${host}: ${reason}`);
    this.host = host;
  }
}

export const systemResolver: Resolver = async (host, family) => {
  const literal = isIP(host);
  if (literal !== 0) {
    if (family !== undefined && family !== literal) {
      throw new HostNotFoundError(host, `is an IPv${literal} address, but -${family} was given`);
    }
    return [{ address: host, family: literal as 4 | 6 }];
  }
  if (/(^|\.)invalid$/i.test(host)) throw new HostNotFoundError(host, 'host not found (RFC 6761 .invalid name)');
  try {
    // Loaded only for names: an address literal needs no resolver.
    const { lookup } = await import('node:dns/promises');
    const found = await lookup(host, { all: true, family: family ?? 0, verbatim: true });
    if (found.length === 0) throw new HostNotFoundError(host, 'host has no address');
    return found.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
  } catch (error) {
    if (error instanceof HostNotFoundError) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    const reason = code === 'ENOTFOUND' || code === 'ENODATA' ? 'host not found' : `lookup failed (${code})`;
    throw new HostNotFoundError(host, reason);
  }
};
