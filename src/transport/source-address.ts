// --source: the local address every connection is made from. Checked before
// anything starts (a usage error, 64, naming the input escaped): it must be
// an IPv4 or IPv6 address literal, of the family in use (-4/-6, or a server
// given as an address), and an address of this host (bound once, as a UDP
// socket, which sends nothing). For a server given by name, the source's
// family limits the addresses tried to that family, as -4/-6 would.
import { createSocket } from 'node:dgram';
import { isIP } from 'node:net';
import { UsageError, quote } from '../errors.js';

/** The family of `source`, or a UsageError: not an address, or not of `family`. */
export function sourceFamily(source: string, family: 4 | 6 | undefined): 4 | 6 {
  const found = isIP(source);
  if (found === 0) throw new UsageError(`--source must be an IPv4 or IPv6 address of this host, not ${quote(source)}`);
  if (family !== undefined && found !== family) {
    throw new UsageError(`--source ${quote(source)} is an IPv${found} address, but -${family} was given`);
  }
  return found as 4 | 6;
}

/** Refuses a server given as an address of the other family than the source's. */
export function checkServerFamily(source: string, sourceFam: 4 | 6, server: string): void {
  const found = isIP(server);
  if (found !== 0 && found !== sourceFam) {
    throw new UsageError(`--source ${quote(source)} is an IPv${sourceFam} address, but server-host ${quote(server)} is IPv${found}`);
  }
}

/** Resolves when `source` can be bound here; a UsageError when it is no address of this host. */
export function checkSourceBindable(source: string, family: 4 | 6): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(family === 6 ? 'udp6' : 'udp4');
    socket.once('error', (error: NodeJS.ErrnoException) => {
      socket.close();
      const why = error.code === 'EADDRNOTAVAIL' ? 'is not an address of this host' : `cannot be used (${error.code ?? error.message})`;
      reject(new UsageError(`--source ${quote(source)} ${why}`));
    });
    socket.bind({ address: source, port: 0, exclusive: true }, () => {
      socket.close();
      resolve();
    });
  });
}
