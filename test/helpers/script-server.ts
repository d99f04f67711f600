// Scripted loopback SMTP servers for the transport and CLI tests: each
// connection runs a script that sends bytes and reads command lines, so a
// test can play any server, including broken and hostile ones.
import { createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';

export interface Conn {
  readonly socket: Socket;
  /** Sends text as is (no CRLF added). */
  raw(data: string | Buffer): void;
  /** Sends each line with CRLF. */
  send(...lines: string[]): void;
  /** The next command line from the client (without CRLF); null when the client closed. */
  readLine(): Promise<string | null>;
  /** Resolves when the client has closed its side. */
  closed(): Promise<void>;
}

export interface ScriptServer {
  readonly host: string;
  readonly port: number;
  /** Every command line received, over all connections, in order. */
  readonly received: string[];
  /** Lines received per connection. */
  readonly connections: string[][];
  close(): Promise<void>;
}

export type Script = (conn: Conn, index: number) => Promise<void> | void;

const open: ScriptServer[] = [];

/** Starts a scripted server that closeAll() will stop (call it from after()). */
export async function serve(script: Script, host = '127.0.0.1', port = 0): Promise<ScriptServer> {
  const s = await startScriptServer(script, host, port);
  open.push(s);
  return s;
}

export async function closeAll(): Promise<void> {
  await Promise.all(open.splice(0).map((s) => s.close()));
}

/** A port nothing listens on: bound by the OS, then released. */
export async function deadPort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

export async function startScriptServer(script: Script, host = '127.0.0.1', port = 0): Promise<ScriptServer> {
  const received: string[] = [];
  const connections: string[][] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    const mine: string[] = [];
    const index = connections.push(mine) - 1;
    let buffer = '';
    let ended = false;
    const waiting: ((line: string | null) => void)[] = [];
    const lines: string[] = [];
    const closedWaiters: (() => void)[] = [];
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl).replace(/\r$/, '');
        buffer = buffer.slice(nl + 1);
        received.push(line);
        mine.push(line);
        const w = waiting.shift();
        if (w) w(line);
        else lines.push(line);
      }
    });
    const onEnd = (): void => {
      if (ended) return;
      ended = true;
      for (const w of waiting.splice(0)) w(null);
      for (const c of closedWaiters.splice(0)) c();
    };
    socket.on('end', onEnd);
    socket.on('close', () => {
      sockets.delete(socket);
      onEnd();
    });
    socket.on('error', () => undefined);
    const conn: Conn = {
      socket,
      raw: (data) => {
        if (!socket.destroyed) socket.write(data);
      },
      send: (...ls) => {
        if (!socket.destroyed) socket.write(ls.map((l) => `${l}\r\n`).join(''));
      },
      readLine: () =>
        new Promise((resolve) => {
          const line = lines.shift();
          if (line !== undefined) resolve(line);
          else if (ended) resolve(null);
          else waiting.push(resolve);
        }),
      closed: () => new Promise((resolve) => (ended ? resolve() : closedWaiters.push(resolve))),
    };
    Promise.resolve(script(conn, index)).catch(() => socket.destroy());
  });
  server.listen(port, host);
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return {
    host,
    port: address.port,
    received,
    connections,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface ResponderOptions {
  greeting?: string[];
  /** EHLO reply lines; default advertises ETRN. */
  ehlo?: string[];
  helo?: string[];
  /** Reply lines for `ETRN <arg>`; default "250 2.0.0 Queuing for node <arg> started". */
  etrn?: (arg: string, count: number) => string[];
  /** Delay before each reply, in ms. */
  delayMs?: number;
}

/** A well-behaved server whose replies can be changed per command. */
export function responder(options: ResponderOptions = {}): Script {
  return async (conn) => {
    const pause = (): Promise<void> =>
      options.delayMs ? new Promise((r) => setTimeout(r, options.delayMs)) : Promise.resolve();
    await pause();
    conn.send(...(options.greeting ?? ['220 mx.test ESMTP scripted']));
    let etrns = 0;
    for (;;) {
      const line = await conn.readLine();
      if (line === null) return;
      const verb = line.split(' ')[0]!.toUpperCase();
      await pause();
      if (verb === 'EHLO') conn.send(...(options.ehlo ?? ['250-mx.test', '250-PIPELINING', '250 ETRN']));
      else if (verb === 'HELO') conn.send(...(options.helo ?? ['250 mx.test']));
      else if (verb === 'ETRN') {
        etrns += 1;
        const arg = line.slice(5);
        conn.send(...(options.etrn?.(arg, etrns) ?? [`250 2.0.0 Queuing for node ${arg} started`]));
      } else if (verb === 'QUIT') {
        conn.send('221 2.0.0 Bye');
        conn.socket.end();
        return;
      } else conn.send('502 5.5.2 Error: command not recognized');
    }
  };
}
