// A small SMTP sink for end-to-end tests: accepts every message on a loopback
// port and records it, so a test can prove that a real MTA delivered mail
// after etrn asked it to. Implements just enough of RFC 5321 for an MTA's
// SMTP client (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT).
import { createServer, type Server, type Socket } from 'node:net';
import { EventEmitter, once } from 'node:events';

export interface SinkMessage {
  from: string;
  to: string[];
  data: string;
}

export interface Sink {
  readonly port: number;
  readonly host: string;
  readonly messages: SinkMessage[];
  /** Resolves once at least `count` messages have arrived; rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs?: number): Promise<SinkMessage[]>;
  close(): Promise<void>;
}

export interface SinkOptions {
  /** Wait this long before accepting each message (a slow delivery host). */
  dataDelayMs?: number;
}

/** Starts a sink on `host` (default 127.0.0.1) and `port` (default: one the OS picks). */
export async function startSink(port = 0, host = '127.0.0.1', options: SinkOptions = {}): Promise<Sink> {
  const messages: SinkMessage[] = [];
  const events = new EventEmitter();
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    serve(socket, options.dataDelayMs ?? 0, (m) => {
      messages.push(m);
      events.emit('message');
    });
  });
  server.listen(port, host);
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('sink: no address');

  return {
    port: address.port,
    host,
    messages,
    waitFor(count, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (messages.length >= count) {
            clearTimeout(timer);
            events.off('message', check);
            resolve(messages);
          }
        };
        const timer = setTimeout(() => {
          events.off('message', check);
          reject(new Error(`sink: ${messages.length} of ${count} messages after ${timeoutMs} ms`));
        }, timeoutMs);
        events.on('message', check);
        check();
      });
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function serve(socket: Socket, dataDelayMs: number, deliver: (m: SinkMessage) => void): void {
  let buffer = '';
  let inData = false;
  let from = '';
  let to: string[] = [];
  let data: string[] = [];
  const reply = (line: string): void => {
    if (!socket.destroyed) socket.write(`${line}\r\n`);
  };
  reply('220 sink.test ESMTP test sink');
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl).replace(/\r$/, '');
      buffer = buffer.slice(nl + 1);
      if (inData) {
        if (line === '.') {
          inData = false;
          const message = { from, to, data: data.join('\r\n') };
          from = '';
          to = [];
          data = [];
          setTimeout(() => {
            deliver(message);
            reply('250 2.0.0 Ok: queued');
          }, dataDelayMs);
        } else {
          data.push(line.startsWith('..') ? line.slice(1) : line);
        }
        continue;
      }
      const verb = line.slice(0, 4).toUpperCase();
      if (verb === 'EHLO') {
        reply('250-sink.test');
        reply('250 8BITMIME');
      } else if (verb === 'HELO') reply('250 sink.test');
      else if (verb === 'MAIL') {
        from = line.replace(/^MAIL FROM:\s*/i, '').replace(/\s.*$/, '');
        reply('250 2.1.0 Ok');
      } else if (verb === 'RCPT') {
        to.push(line.replace(/^RCPT TO:\s*/i, '').replace(/\s.*$/, ''));
        reply('250 2.1.5 Ok');
      } else if (verb === 'DATA') {
        inData = true;
        reply('354 End data with <CR><LF>.<CR><LF>');
      } else if (verb === 'QUIT') {
        reply('221 2.0.0 Bye');
        socket.end();
      } else if (verb === 'RSET' || verb === 'NOOP') reply('250 2.0.0 Ok');
      else reply('502 5.5.2 Command not implemented');
    }
  });
}
