// The benchmark's SMTP server, run as a child process of bench/bench.ts so
// that its event loop and timers share nothing with the process that measures:
// a well-behaved scripted server (test/helpers/script-server.ts) that waits
// `delayMs` before every reply, listening on one port on each of `hosts`
// (loopback addresses only), plus optionally an instant responder on
// 127.0.0.1 for etrn's boot check. It counts connections and commands and
// records when they happen (CLOCK_MONOTONIC, shared with the parent), so the
// bench can check every run and split its wall time.
//
// Protocol with the parent (IPC): argv[2] is the JSON config; the child sends
// { type: 'ready', port, bootPort } once listening; { cmd: 'stats' } is
// answered with { type: 'stats', stats } (and the counters reset); the child
// { cmd: 'idle' } is answered with { type: 'idle', active } once no
// connection is open (or after 5 s); the child exits on { cmd: 'close' } or
// when the parent goes away.
import { type Conn, type ScriptServer, responder, startScriptServer } from '../test/helpers/script-server.js';

export interface ServerConfig {
  /** Pause before each reply, in ms. */
  readonly delayMs: number;
  /** Loopback addresses to listen on, all on one port. */
  readonly hosts: readonly string[];
  /** Also start an instant responder on 127.0.0.1 (the boot check's "local MTA"). */
  readonly bootResponder: boolean;
}

export interface ServerStats {
  readonly connections: number;
  /** Most sessions open at once (from accept to the client's QUIT or FIN). */
  readonly maxActive: number;
  /** Command lines received, by verb. */
  readonly verbs: Record<string, number>;
  /** Monotonic ms (process.hrtime) of the first accepted connection, the last QUIT and the last client FIN; null if none. */
  readonly firstAcceptMs: number | null;
  readonly lastQuitMs: number | null;
  readonly lastEndMs: number | null;
  /** Connections on the boot responder (not counted above). */
  readonly bootConnections: number;
  /** Client turnaround: from this server writing a reply to the client's next bytes (median, 90th percentile, ms; null if none). */
  readonly turnMedianMs: number | null;
  readonly turnP90Ms: number | null;
  /** This server's own pause: from a command's bytes (or the accept) to the reply written; delayMs plus timer lateness. */
  readonly waitMedianMs: number | null;
  readonly turns: number;
}

export type ToParent =
  | { type: 'ready'; port: number; bootPort: number | null }
  | { type: 'stats'; stats: ServerStats }
  | { type: 'idle'; active: number }
  | { type: 'error'; message: string };
/** stats: the counters since the last stats (then reset); idle: answered once no connection is open (5 s at most). */
export type ToChild = { cmd: 'stats' } | { cmd: 'idle' } | { cmd: 'close' };

const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;
const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1)$/;

let connections = 0;
let active = 0;
let maxActive = 0;
let verbs: Record<string, number> = {};
let firstAcceptMs: number | null = null;
let lastQuitMs: number | null = null;
let lastEndMs: number | null = null;
let bootConnections = 0;
let turns: number[] = [];
let waits: number[] = [];

function quantile(xs: number[], q: number): number | null {
  if (xs.length === 0) return null;
  const sorted = [...xs].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! * 100) / 100;
}

function takeStats(): ServerStats {
  const stats = {
    connections,
    maxActive,
    verbs,
    firstAcceptMs,
    lastQuitMs,
    lastEndMs,
    bootConnections,
    turnMedianMs: quantile(turns, 0.5),
    turnP90Ms: quantile(turns, 0.9),
    waitMedianMs: quantile(waits, 0.5),
    turns: turns.length,
  };
  turns = [];
  waits = [];
  connections = 0;
  maxActive = active;
  verbs = {};
  firstAcceptMs = lastQuitMs = lastEndMs = null;
  bootConnections = 0;
  return stats;
}

/** Wraps the scripted responder so that every connection and command line is counted and timed. */
function counted(delayMs: number) {
  const inner = responder({ delayMs });
  return async (conn: Conn, index: number): Promise<void> => {
    connections += 1;
    active += 1;
    maxActive = Math.max(maxActive, active);
    firstAcceptMs ??= nowMs();
    // A session counts as open until the client's QUIT (or its FIN, or the
    // close, whichever comes first), not until this server's own end: after
    // QUIT the responder still pauses before its 221, and the client has
    // moved on. (Counting to the FIN overstates concurrency: etrn starts its
    // next session as soon as QUIT is written, and when a whole wave ends at
    // once this server may see the new connections before the old FINs.)
    let open = true;
    const gone = (): void => {
      if (open) active -= 1;
      open = false;
    };
    // Timing of each turn: bytes in (a command), our reply out, the client's next bytes.
    let lastIn = nowMs();
    let sentAt: number | null = null;
    conn.socket.on('data', () => {
      const now = nowMs();
      if (sentAt !== null) turns.push(now - sentAt);
      sentAt = null;
      lastIn = now;
    });
    const seen: Conn = {
      socket: conn.socket,
      raw: conn.raw,
      send: (...lines) => {
        conn.send(...lines);
        sentAt = nowMs();
        waits.push(sentAt - lastIn);
      },
      closed: conn.closed,
      readLine: async () => {
        const line = await conn.readLine();
        if (line !== null) {
          const verb = line.split(' ')[0]!.toUpperCase();
          verbs[verb] = (verbs[verb] ?? 0) + 1;
          if (verb === 'QUIT') {
            lastQuitMs = nowMs();
            gone();
          }
        }
        return line;
      },
    };
    conn.socket.once('end', () => {
      lastEndMs = nowMs();
      gone();
    });
    conn.socket.once('close', gone);
    await inner(seen, index);
  };
}

async function listenAll(config: ServerConfig): Promise<ScriptServer[]> {
  const script = counted(config.delayMs);
  // The first address picks a free port; the others must get the same one.
  // A port taken on another address makes us start over, a few times at most.
  for (let attempt = 1; ; attempt++) {
    const servers: ScriptServer[] = [];
    try {
      const first = await startScriptServer(script, config.hosts[0]!, 0);
      servers.push(first);
      for (let i = 1; i < config.hosts.length; i += 50) {
        servers.push(...(await Promise.all(config.hosts.slice(i, i + 50).map((h) => startScriptServer(script, h, first.port)))));
      }
      return servers;
    } catch (error) {
      await Promise.all(servers.map((s) => s.close()));
      if (attempt >= 5 || (error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    }
  }
}

/** Resolves once no connection is open, polling every 5 ms for 5 s at most. */
async function whenIdle(): Promise<void> {
  for (let i = 0; i < 1000 && active > 0; i++) await new Promise((r) => setTimeout(r, 5));
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as ServerConfig;
  if (!Array.isArray(config.hosts) || config.hosts.length === 0 || !config.hosts.every((h) => LOOPBACK.test(h))) {
    throw new Error('hosts must be a non-empty list of loopback addresses');
  }
  const servers = await listenAll(config);
  let boot: ScriptServer | null = null;
  if (config.bootResponder) {
    const instant = responder();
    boot = await startScriptServer((conn, i) => {
      bootConnections += 1;
      return instant(conn, i);
    }, '127.0.0.1', 0);
  }
  const close = async (): Promise<void> => {
    await Promise.all([...servers, ...(boot ? [boot] : [])].map((s) => s.close()));
    process.exit(0);
  };
  process.on('message', (message: ToChild) => {
    if (message.cmd === 'stats') send({ type: 'stats', stats: takeStats() });
    else if (message.cmd === 'idle') void whenIdle().then(() => send({ type: 'idle', active }));
    else if (message.cmd === 'close') void close();
  });
  process.on('disconnect', () => void close());
  send({ type: 'ready', port: servers[0]!.port, bootPort: boot?.port ?? null });
}

function send(message: ToParent): void {
  process.send?.(message);
}

main().catch((error: unknown) => {
  send({ type: 'error', message: (error as Error)?.message ?? String(error) });
  process.exit(1);
});
