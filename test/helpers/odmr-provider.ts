// A scripted On-Demand Mail Relay provider (RFC 2645) on a loopback port,
// for tests: no ODMR server ships in Debian. It holds queued messages per
// domain, offers AUTH PLAIN and ATRN, refuses ATRN before AUTH (530),
// answers 453 when nothing waits for the domains asked, and after 250 turns
// the connection around and delivers as an SMTP client (RFC 5321), deleting
// a message only after 250 to the end of its DATA. A recipient refused with
// 5xx is bounced (recorded), one deferred with 4xx stays queued. It records
// what it holds, delivered and bounced, and the dialogue. Fault switches
// make it hang after the turn or drop the connection in the middle of DATA.
import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import { type AddressInfo, type Server, type Socket, createServer } from 'node:net';
import { TLSSocket } from 'node:tls';

export interface QueuedMessage {
  readonly id: string;
  readonly from: string;
  to: string[];
  /** The body (headers and text, CRLF line ends), or the size of a generated one. */
  readonly body: string | { readonly generatedBytes: number };
}

export interface OdmrProviderOptions {
  /** domain → messages waiting. */
  readonly queue: Record<string, QueuedMessage[]>;
  /** user → password for AUTH PLAIN. */
  readonly users?: Record<string, string>;
  /** Leave ATRN (or AUTH) out of the EHLO reply. */
  readonly noAtrn?: boolean;
  readonly noAuth?: boolean;
  /** Answer ATRN with this line instead of by the queue (e.g. "450 4.7.0 ATRN request refused"). */
  readonly atrnReply?: string;
  /** After 250, say nothing more (a provider that turns and then hangs). */
  readonly hangAfterTurn?: boolean;
  /** Close the connection after this many octets of the first body. */
  readonly dropMidDataAfter?: number;
  /** Bound for every wait on the peer, in ms. Default 60 s. */
  readonly timeoutMs?: number;
  /** Offer STARTTLS (RFC 3207) with this key and certificate (PEM). */
  readonly tls?: { readonly key: string; readonly cert: string };
}

export interface Bounce {
  readonly id: string;
  readonly rcpt: string;
  readonly reply: string;
}

export interface OdmrProvider {
  readonly port: number;
  /** domain → ids still held. */
  held(): Record<string, string[]>;
  readonly delivered: string[];
  readonly bounced: Bounce[];
  /** Every line read and written, "C: " from the customer, "S: " by the provider (bodies left out). */
  readonly transcript: string[];
  /** Whether an ATRN command arrived. */
  atrnSeen(): boolean;
  /** Resolves once `count` sessions have ended (the turned delivery finished or the connection closed). */
  sessionsEnded(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

class LineIO {
  private buffer = '';
  private readonly onData: (chunk: string) => void;
  private readonly lines: string[] = [];
  private waiter: ((line: string | null) => void) | null = null;
  private closed = false;

  constructor(readonly socket: Socket) {
    socket.setEncoding('latin1');
    this.onData = (chunk: string) => {
      this.buffer += chunk;
      let nl: number;
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        this.lines.push(this.buffer.slice(0, nl).replace(/\r$/, ''));
        this.buffer = this.buffer.slice(nl + 1);
      }
      this.wake();
    };
    socket.on('data', this.onData);
    const end = (): void => {
      this.closed = true;
      this.wake();
    };
    socket.on('close', end);
    socket.on('end', end);
    socket.on('error', end);
  }

  private wake(): void {
    if (!this.waiter) return;
    if (this.lines.length > 0) {
      const w = this.waiter;
      this.waiter = null;
      w(this.lines.shift()!);
    } else if (this.closed) {
      const w = this.waiter;
      this.waiter = null;
      w(null);
    }
  }

  /** The next line, or null when the connection closed or `timeoutMs` passed. */
  line(timeoutMs: number): Promise<string | null> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        resolve(null);
      }, timeoutMs);
      this.waiter = (line) => {
        clearTimeout(timer);
        resolve(line);
      };
      this.wake();
    });
  }

  /** A whole reply: its lines (the last one decides). */
  async reply(timeoutMs: number): Promise<string[] | null> {
    const lines: string[] = [];
    for (;;) {
      const line = await this.line(timeoutMs);
      if (line === null) return null;
      lines.push(line);
      if (!/^\d{3}-/.test(line)) return lines;
    }
  }

  /** Stops reading the plain socket (before a TLS handshake takes it over). */
  release(): Socket {
    this.socket.off('data', this.onData);
    this.socket.setEncoding('binary' as BufferEncoding);
    return this.socket;
  }

  write(text: string): boolean {
    if (this.socket.destroyed || !this.socket.writable) return false;
    return this.socket.write(text, 'latin1');
  }
}

export async function startOdmrProvider(options: OdmrProviderOptions): Promise<OdmrProvider> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const users = options.users ?? { customer: 'secret' };
  const queue = new Map(Object.entries(options.queue).map(([d, ms]) => [d.toLowerCase(), [...ms]]));
  const delivered: string[] = [];
  const bounced: Bounce[] = [];
  const transcript: string[] = [];
  const sockets = new Set<Socket>();
  let atrn = false;
  const ended: (() => void)[] = [];
  let endings = 0;
  const sessionDone = (): void => {
    endings += 1;
    ended.splice(0).forEach((f) => f());
  };

  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    void serve(new LineIO(socket)).finally(() => {
      socket.destroy();
      sessionDone();
    });
  });

  const say = (io: LineIO, line: string): void => {
    transcript.push(`S: ${line}`);
    io.write(`${line}\r\n`);
  };
  const hear = async (io: LineIO): Promise<string | null> => {
    const line = await io.line(timeoutMs);
    if (line !== null) transcript.push(`C: ${/^AUTH /i.test(line) ? 'AUTH ********' : line}`);
    return line;
  };

  async function serve(first: LineIO): Promise<void> {
    let io = first;
    say(io, '220 provider.test ESMTP scripted ODMR provider');
    let authed = false;
    let secure = false;
    for (;;) {
      const line = await hear(io);
      if (line === null) return;
      const [verb = '', ...rest] = line.split(' ');
      const arg = rest.join(' ');
      switch (verb.toUpperCase()) {
        case 'EHLO':
          say(io, '250-provider.test');
          if (options.tls && !secure) say(io, '250-STARTTLS');
          if (!options.noAuth) say(io, '250-AUTH PLAIN CRAM-MD5');
          if (!options.noAtrn) say(io, '250-ATRN');
          say(io, '250 8BITMIME');
          break;
        case 'AUTH': {
          const [mech = '', initial] = arg.split(' ');
          if (!options.noAuth && mech.toUpperCase() === 'CRAM-MD5') {
            // RFC 2195, which fetchmail's ODMR mode tries first.
            const challenge = `<${process.pid}.${Date.now()}@provider.test>`;
            say(io, `334 ${Buffer.from(challenge).toString('base64')}`);
            const [user = '', digest = ''] = Buffer.from((await hear(io)) ?? '', 'base64').toString('utf8').split(' ');
            const secret = users[user];
            authed = secret !== undefined && createHmac('md5', secret).update(challenge).digest('hex') === digest;
            say(io, authed ? '235 2.7.0 Authentication successful' : '535 5.7.8 Authentication credentials invalid');
            break;
          }
          if (options.noAuth || mech.toUpperCase() !== 'PLAIN') {
            say(io, '504 5.5.4 mechanism not supported');
            break;
          }
          let response = initial;
          if (response === undefined) {
            say(io, '334 ');
            response = (await hear(io)) ?? '';
          }
          const [, user = '', pass = ''] = Buffer.from(response, 'base64').toString('utf8').split('\u0000');
          authed = users[user] !== undefined && users[user] === pass;
          say(io, authed ? '235 2.7.0 Authentication successful' : '535 5.7.8 Authentication credentials invalid');
          break;
        }
        case 'ATRN': {
          atrn = true;
          if (!authed) {
            say(io, '530 5.7.0 Authentication required');
            break;
          }
          if (options.atrnReply) {
            say(io, options.atrnReply);
            break;
          }
          const domains = arg.split(',').map((d) => d.trim().toLowerCase()).filter((d) => d !== '');
          const waiting = domains.flatMap((d) => queue.get(d) ?? []);
          if (waiting.length === 0) {
            say(io, '453 You have no mail');
            break;
          }
          say(io, '250 OK, now reversing the connection');
          await turn(io, domains);
          return;
        }
        case 'STARTTLS': {
          if (!options.tls || secure) {
            say(io, '502 5.5.1 STARTTLS not offered');
            break;
          }
          say(io, '220 2.0.0 Ready to start TLS');
          const plain = io.release();
          const tls = new TLSSocket(plain, { isServer: true, key: options.tls.key, cert: options.tls.cert });
          tls.on('error', () => undefined);
          sockets.add(tls);
          await once(tls, 'secure');
          io = new LineIO(tls);
          secure = true;
          transcript.push('-- TLS established');
          break;
        }
        case 'QUIT':
          say(io, '221 2.0.0 Bye');
          io.socket.end();
          return;
        case 'NOOP':
        case 'RSET':
          say(io, '250 2.0.0 Ok');
          break;
        default:
          say(io, '502 5.5.2 Command not implemented');
      }
    }
  }

  /** The provider as the SMTP client on the turned connection. */
  async function turn(io: LineIO, domains: readonly string[]): Promise<void> {
    if (options.hangAfterTurn) {
      transcript.push('-- provider hangs after the turn');
      // Read (the greeting) and never answer, until the customer gives up and closes.
      while ((await io.line(timeoutMs)) !== null);
      return;
    }
    const ask = async (line: string): Promise<string[] | null> => {
      say(io, line);
      const reply = await io.reply(timeoutMs);
      reply?.forEach((l) => transcript.push(`C: ${l}`));
      return reply;
    };
    const greeting = await io.reply(timeoutMs);
    greeting?.forEach((l) => transcript.push(`C: ${l}`));
    if (!greeting || !greeting.at(-1)!.startsWith('220')) return;
    const ehlo = await ask('EHLO provider.test');
    if (!ehlo || !ehlo.at(-1)!.startsWith('250')) return;
    for (const domain of domains) {
      const messages = queue.get(domain) ?? [];
      for (const message of [...messages]) {
        const outcome = await deliver(io, ask, message);
        if (outcome === 'lost') return;
        if (outcome === 'done') messages.splice(messages.indexOf(message), 1);
      }
    }
    await ask('QUIT');
    io.socket.end();
  }

  type Ask = (line: string) => Promise<string[] | null>;
  const code = (reply: string[]): number => Number(reply.at(-1)!.slice(0, 3));

  /** One message: 'done' (delete it), 'kept' (try later), 'lost' (connection gone: kept). */
  async function deliver(io: LineIO, ask: Ask, message: QueuedMessage): Promise<'done' | 'kept' | 'lost'> {
    const mail = await ask(`MAIL FROM:<${message.from}>`);
    if (!mail) return 'lost';
    if (code(mail) >= 500) {
      for (const rcpt of message.to) bounced.push({ id: message.id, rcpt, reply: mail.join(' ') });
      return 'done';
    }
    if (code(mail) >= 400) return 'kept';
    const accepted: string[] = [];
    const later: string[] = [];
    for (const rcpt of message.to) {
      const reply = await ask(`RCPT TO:<${rcpt}>`);
      if (!reply) return 'lost';
      if (code(reply) < 400) accepted.push(rcpt);
      else if (code(reply) < 500) later.push(rcpt);
      else bounced.push({ id: message.id, rcpt, reply: reply.join(' ') });
    }
    if (accepted.length === 0) {
      if (!(await ask('RSET'))) return 'lost';
      message.to = later;
      return later.length > 0 ? 'kept' : 'done';
    }
    const data = await ask('DATA');
    if (!data) return 'lost';
    if (code(data) !== 354) {
      message.to = [...accepted, ...later];
      return code(data) >= 500 ? bounceAll(message, data) : 'kept';
    }
    transcript.push(`S: (body of ${message.id})`);
    if (!(await sendBody(io, message))) {
      transcript.push(`-- provider dropped the connection in the body of ${message.id}`);
      io.socket.destroy();
      return 'lost';
    }
    const end = await ask('.');
    if (!end) return 'lost';
    if (code(end) >= 400 && code(end) < 500) {
      message.to = [...accepted, ...later];
      return 'kept';
    }
    if (code(end) >= 500) return bounceAll(message, end);
    delivered.push(message.id);
    message.to = later;
    return later.length > 0 ? 'kept' : 'done';
  }

  function bounceAll(message: QueuedMessage, reply: string[]): 'done' {
    for (const rcpt of message.to) bounced.push({ id: message.id, rcpt, reply: reply.join(' ') });
    return 'done';
  }

  /** Writes the body dot-stuffed (not its final "."), honouring backpressure. False: dropped on purpose. */
  async function sendBody(io: LineIO, message: QueuedMessage): Promise<boolean> {
    const limit = options.dropMidDataAfter;
    let sent = 0;
    const put = async (text: string): Promise<boolean> => {
      if (limit !== undefined && sent + text.length > limit) {
        io.write(text.slice(0, Math.max(0, limit - sent)));
        return false;
      }
      sent += text.length;
      if (!io.write(text) && !io.socket.destroyed) await once(io.socket, 'drain');
      return true;
    };
    if (typeof message.body === 'string') {
      const lines = message.body.replace(/\r?\n$/, '').split(/\r?\n/);
      return put(lines.map((l) => (l.startsWith('.') ? `.${l}` : l)).join('\r\n') + '\r\n');
    }
    const header = `From: <${message.from}>\r\nTo: <${message.to.join('>, <')}>\r\nSubject: ${message.id}\r\n\r\n`;
    if (!(await put(header))) return false;
    const line = `${'x'.repeat(998)}\r\n`;
    const chunk = line.repeat(64);
    let left = message.body.generatedBytes;
    while (left > 0) {
      const piece = left >= chunk.length ? chunk : line.repeat(Math.max(1, Math.ceil(left / line.length)));
      if (!(await put(piece))) return false;
      left -= piece.length;
    }
    return true;
  }

  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    port,
    held: () => Object.fromEntries([...queue].map(([d, ms]) => [d, ms.map((m) => m.id)])),
    delivered,
    bounced,
    transcript,
    atrnSeen: () => atrn,
    sessionsEnded(count, wait = 60_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`provider: ${endings} of ${count} sessions ended within ${wait} ms`)), wait);
        const check = (): void => {
          if (endings >= count) {
            clearTimeout(timer);
            resolve();
          } else ended.push(check);
        };
        check();
      });
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A plain test message. */
export function testMessage(id: string, from: string, to: string[], text = `This is ${id}.`): QueuedMessage {
  const body = `From: <${from}>\r\nTo: <${to.join('>, <')}>\r\nSubject: ${id}\r\nMessage-ID: <${id}@provider.test>\r\n\r\n${text}\r\n.starts with a dot\r\n`;
  return { id, from, to: [...to], body };
}
