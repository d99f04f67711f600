// A fleet of loopback SMTP servers that each ask for AUTH SCRAM-SHA-256 with
// a high iteration count and answer every step at once (issue 10 item 3):
// N addresses 127.0.4.x on one port, each with its own salt or one salt for
// all, honest (they verify the client's proof and send a correct v=), plus a
// responder on 127.0.0.1 for the boot check. The servers' own keys are
// derived once, at start, on the thread pool. close() stops everything.
import { randomBytes } from 'node:crypto';
import { type ScriptServer, responder, startScriptServer } from './script-server.js';
import { deriveServerKeys, scramSmtpScript } from './scram-server.js';

export interface ScramFleet {
  readonly port: number;
  readonly addresses: readonly string[];
  readonly boot: ScriptServer;
  /** Commands received per server (AUTH shown as "AUTH SCRAM-SHA-256"). */
  readonly commands: readonly string[][];
  close(): Promise<void>;
}

export interface ScramFleetOptions {
  readonly count: number;
  readonly user: string;
  readonly password: string;
  readonly iterations: number;
  /** One salt for every server (etrn may then derive once) instead of one each. */
  readonly sharedSalt: boolean;
}

/** The i-th fleet address: 127.0.4.1, 127.0.4.2, ... (250 per /24). */
export function scramFleetAddress(i: number): string {
  return `127.0.${4 + Math.floor(i / 250)}.${1 + (i % 250)}`;
}

export async function startScramFleet(o: ScramFleetOptions): Promise<ScramFleet> {
  const addresses = Array.from({ length: o.count }, (_, i) => scramFleetAddress(i));
  const shared = randomBytes(16);
  const accounts = addresses.map(() => ({ user: o.user, password: o.password, iterations: o.iterations, salt: o.sharedSalt ? shared : randomBytes(16) }));
  const keys = o.sharedSalt
    ? Array(o.count).fill(await deriveServerKeys(accounts[0]!))
    : await Promise.all(accounts.map((a) => deriveServerKeys(a)));
  const commands = addresses.map((): string[] => []);
  const servers: ScriptServer[] = [];
  const closeAll = (): Promise<unknown> => Promise.all(servers.splice(0).map((s) => s.close()));
  for (let attempt = 0; servers.length < o.count; attempt++) {
    let port = 0;
    try {
      for (const [i, address] of addresses.entries()) {
        const server = await startScriptServer(scramSmtpScript({ account: accounts[i]! }, commands[i], keys[i]), address, port);
        servers.push(server);
        port = server.port;
      }
    } catch (error) {
      await closeAll(); // EADDRINUSE on one of the addresses: another port
      if (attempt >= 20) throw error;
    }
  }
  const boot = await startScriptServer(responder());
  return {
    port: servers[0]!.port,
    addresses,
    boot,
    commands,
    close: async () => {
      await closeAll();
      await boot.close();
    },
  };
}
