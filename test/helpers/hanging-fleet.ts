// A fleet of loopback SMTP servers for the "hanging servers" test and
// benchmark (issue 11 item 5): N addresses 127.0.x.y on one port, a third
// that accept and never answer, a third that reset every connection, a
// third that answer ETRN with 250; plus a responder on 127.0.0.1 for the
// boot check. Loopback addresses only; close() stops everything.
import { once } from 'node:events';
import { type Server, type Socket, createServer } from 'node:net';
import { type ScriptServer, responder, startScriptServer } from './script-server.js';

export type FleetKind = 'silent' | 'reset' | 'accept';

export interface Fleet {
  readonly port: number;
  readonly addresses: readonly string[];
  /** What the server at addresses[i] does. */
  readonly kinds: readonly FleetKind[];
  readonly boot: ScriptServer;
  /** ETRN commands answered, over all accepting servers. */
  etrns(): number;
  close(): Promise<void>;
}

/** The i-th fleet address: 127.0.2.1, 127.0.2.2, ... (250 per /24). */
export function fleetAddress(i: number): string {
  return `127.0.${2 + Math.floor(i / 250)}.${1 + (i % 250)}`;
}

const KINDS: readonly FleetKind[] = ['silent', 'reset', 'accept'];

export async function startFleet(count: number): Promise<Fleet> {
  const addresses = Array.from({ length: count }, (_, i) => fleetAddress(i));
  const kinds = addresses.map((_, i) => KINDS[i % 3]!);
  const sockets = new Set<Socket>();
  let etrns = 0;
  const handle = (kind: FleetKind) => (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    if (kind === 'reset') socket.resetAndDestroy();
    else if (kind === 'accept') speak(socket, () => (etrns += 1));
    else socket.resume(); // reads, never answers
  };
  const servers: Server[] = [];
  let port = 0;
  for (let attempt = 0; servers.length < count && attempt < 20; attempt++) {
    servers.splice(0).forEach((s) => s.close());
    port = 0;
    try {
      for (const [i, address] of addresses.entries()) {
        const server = createServer(handle(kinds[i]!));
        servers.push(server);
        server.listen(port, address);
        await once(server, 'listening');
        port = (server.address() as { port: number }).port;
      }
    } catch {
      // EADDRINUSE on one of the addresses: another port.
    }
  }
  if (servers.length < count) throw new Error('no port free on every fleet address');
  const boot = await startScriptServer(responder());
  return {
    port,
    addresses,
    kinds,
    boot,
    etrns: () => etrns,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await Promise.all([...servers.map((s) => new Promise((r) => s.close(r))), boot.close()]);
    },
  };
}

/** A minimal well-behaved server: greeting, EHLO with ETRN, 250 to each ETRN, 221 to QUIT. */
function speak(socket: Socket, onEtrn: () => void): void {
  let buffer = '';
  socket.write('220 fleet.test ESMTP\r\n');
  socket.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('latin1');
    for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
      const line = buffer.slice(0, nl).trim();
      buffer = buffer.slice(nl + 1);
      const verb = line.split(' ')[0]!.toUpperCase();
      if (verb === 'EHLO') socket.write('250-fleet.test\r\n250 ETRN\r\n');
      else if (verb === 'ETRN') {
        onEtrn();
        socket.write(`250 2.0.0 Queuing for node ${line.slice(5)} started\r\n`);
      } else if (verb === 'QUIT') socket.end('221 2.0.0 Bye\r\n');
      else socket.write('500 5.5.1 what\r\n');
    }
  });
}
