// SMTP reply parser (RFC 5321 §4.2, §4.5.3.1.5; enhanced codes RFC 3463 /
// RFC 2034). Bytes go in, in chunks of any size; complete replies come out.
// Pure: no sockets, no timers. Every limit is enforced as bytes arrive, so a
// server cannot make the parser buffer more than `maxLineLength` of one line.
import { RemoteProtocolError } from '../errors.js';
import { quote } from '../escape.js';

export interface Reply {
  /** The three-digit reply code, 200-599. */
  readonly code: number;
  /** The RFC 3463 enhanced status code of the first line ("2.0.0"), or null. */
  readonly enhanced: string | null;
  /** The text of each line, without code, separator and enhanced code; cleaned of controls. */
  readonly lines: readonly string[];
}

export interface ReplyLimits {
  /** Longest reply line in octets, CRLF excluded (RFC 5321 §4.5.3.1.5 says 510; servers exceed it). */
  readonly maxLineLength: number;
  /** Most lines in one reply. */
  readonly maxLines: number;
  /** Most octets in one reply, line ends included. */
  readonly maxReplyBytes: number;
}

export const defaultReplyLimits: ReplyLimits = Object.freeze({
  maxLineLength: 2048,
  maxLines: 200,
  maxReplyBytes: 65536,
});

const LF = 0x0a;
const CR = 0x0d;
const ENHANCED = /^([245])\.(\d{1,3})\.(\d{1,3})(?: +|$)/;

/** The reply's text as one line: its lines joined by a space. */
export function replyText(reply: Reply): string {
  return reply.lines.join(' ').trim();
}

/** "250 2.0.0 text" — how a reply is shown in messages. */
export function formatReply(reply: Reply): string {
  const text = replyText(reply);
  return [String(reply.code), reply.enhanced ?? '', text].filter((p) => p !== '').join(' ');
}

/** Replaces control characters and undecodable bytes so text is safe on one terminal line. */
export function cleanText(bytes: Uint8Array): string {
  // eslint-disable-next-line no-control-regex
  return Buffer.from(bytes).toString('utf8').replace(/[\u0000-\u001f\u007f-\u009f\ufffd]/g, '?');
}

export class ReplyParser {
  readonly limits: ReplyLimits;
  private pending: Buffer[] = [];
  private pendingLength = 0;
  private code = 0;
  private lines: string[] = [];
  private replyBytes = 0;
  private readonly ready: Reply[] = [];
  private failed: RemoteProtocolError | null = null;

  private readonly onLine: ((line: string) => void) | undefined;

  /** `onLine` sees every received line (cleaned), before it is checked: for transcripts. */
  constructor(limits: Partial<ReplyLimits> = {}, onLine?: (line: string) => void) {
    this.limits = { ...defaultReplyLimits, ...limits };
    this.onLine = onLine;
  }

  /** Octets received that do not yet form a complete reply. */
  get buffered(): number {
    return this.pendingLength + this.replyBytes;
  }

  /** Complete replies not yet taken with next(). */
  get queued(): number {
    return this.ready.length;
  }

  /** Feeds received bytes. Throws RemoteProtocolError when the bytes are not SMTP replies. */
  feed(chunk: Uint8Array): void {
    if (this.failed) throw this.failed;
    try {
      let start = 0;
      for (;;) {
        const nl = chunk.indexOf(LF, start);
        if (nl < 0) break;
        this.pushPending(chunk.subarray(start, nl));
        this.endLine();
        start = nl + 1;
      }
      if (start < chunk.length) this.pushPending(chunk.subarray(start));
    } catch (error) {
      if (error instanceof RemoteProtocolError) this.failed = error;
      throw error;
    }
  }

  /** The next complete reply, if one has arrived. */
  next(): Reply | undefined {
    return this.ready.shift();
  }

  private pushPending(part: Uint8Array): void {
    if (part.length === 0) return;
    this.pendingLength += part.length;
    // +1 allows the CR of a CRLF that has not been seen yet.
    if (this.pendingLength > this.limits.maxLineLength + 1) {
      throw new RemoteProtocolError(`reply line longer than ${this.limits.maxLineLength} octets`);
    }
    this.pending.push(Buffer.from(part));
  }

  private endLine(): void {
    let line = Buffer.concat(this.pending, this.pendingLength);
    this.pending = [];
    this.pendingLength = 0;
    this.replyBytes += line.length + 1;
    if (line.length > 0 && line[line.length - 1] === CR) line = line.subarray(0, line.length - 1);
    if (line.length > this.limits.maxLineLength) {
      throw new RemoteProtocolError(`reply line longer than ${this.limits.maxLineLength} octets`);
    }
    if (this.replyBytes > this.limits.maxReplyBytes) {
      throw new RemoteProtocolError(`reply longer than ${this.limits.maxReplyBytes} octets`);
    }
    const shown = cleanText(line);
    this.onLine?.(shown);
    const code = parseCode(line);
    if (code === null) {
      throw new RemoteProtocolError(`not an SMTP reply: ${quote(shown)}`);
    }
    if (this.lines.length > 0 && code !== this.code) {
      throw new RemoteProtocolError(
        `reply lines carry different codes (${this.code}, then ${code}): ${quote(shown)}`,
      );
    }
    this.code = code;
    const sep = line.length > 3 ? line[3] : undefined;
    if (sep !== undefined && sep !== 0x20 && sep !== 0x2d) {
      throw new RemoteProtocolError(`not an SMTP reply: ${quote(shown)}`);
    }
    this.lines.push(line.length > 4 ? cleanText(line.subarray(4)) : '');
    if (this.lines.length > this.limits.maxLines) {
      throw new RemoteProtocolError(`reply has more than ${this.limits.maxLines} lines`);
    }
    if (sep === 0x2d) return; // "250-": continuation follows
    this.ready.push(buildReply(this.code, this.lines));
    this.lines = [];
    this.replyBytes = 0;
  }
}

/**
 * The reply with the enhanced code of its last line when its first line has
 * none (servers that put the code on the last line of a multi-line ETRN
 * reply), stripped from that line's text. Other replies come back as they are.
 */
export function withTrailingEnhanced(reply: Reply): Reply {
  const last = reply.lines.length - 1;
  if (reply.enhanced !== null || last < 1) return reply;
  const m = ENHANCED.exec(reply.lines[last]!);
  if (!m || m[1] !== String(Math.floor(reply.code / 100))) return reply;
  const lines = reply.lines.map((text, i) => (i === last ? text.slice(m[0].length) : text));
  return Object.freeze({ code: reply.code, enhanced: `${m[1]}.${m[2]}.${m[3]}`, lines: Object.freeze(lines) });
}

function parseCode(line: Uint8Array): number | null {
  if (line.length < 3) return null;
  const [a, b, c] = [line[0]!, line[1]!, line[2]!];
  if (a < 0x32 || a > 0x35) return null; // 2xx-5xx only
  if (b < 0x30 || b > 0x39 || c < 0x30 || c > 0x39) return null;
  return (a - 0x30) * 100 + (b - 0x30) * 10 + (c - 0x30);
}

function buildReply(code: number, lines: string[]): Reply {
  const cls = String(Math.floor(code / 100));
  let enhanced: string | null = null;
  const stripped = lines.map((text, i) => {
    const m = ENHANCED.exec(text);
    if (!m || m[1] !== cls) return text;
    const value = `${m[1]}.${m[2]}.${m[3]}`;
    if (i === 0) enhanced = value;
    else if (value !== enhanced) return text;
    return text.slice(m[0].length);
  });
  return Object.freeze({ code, enhanced, lines: Object.freeze(stripped) });
}

