// Reading a local file that etrn is told to read (--defaults, --sendmail-cf
// and the class files it names, --auth-password-file, --tls-ca): only a
// regular file (a symbolic link to one is fine), only up to a size limit,
// and never in a way that blocks. A FIFO, a device, a socket or a directory
// is a configuration error at once; the run's AbortSignal (--deadline,
// SIGINT, SIGTERM) is honoured between the steps of every read.
import { constants, type Stats } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';
import { ConfigError } from '../errors.js';
import { errnoText } from './errno-text.js';

/** Largest configuration file read: the defaults file, sendmail.cf, a class file, the TLS trust anchors. */
export const CONFIG_FILE_MAX_BYTES = 1024 * 1024;
/** Largest secret file read (--auth-password-file). */
export const SECRET_FILE_MAX_BYTES = 4 * 1024;

export interface BoundedReadOptions {
  /** What the file is, for messages ("defaults file", "password file"). */
  readonly what: string;
  /** Most bytes accepted; a larger file is a ConfigError. */
  readonly maxBytes: number;
  /** The run's stop signal: an abort rejects with its reason. */
  readonly signal?: AbortSignal | undefined;
}

export interface FileText {
  /** The content, decoded as UTF-8. */
  readonly text: string;
  /** The file's mode bits (permissions and type). */
  readonly mode: number;
}

/** "1 MiB", "4 KiB", "100 bytes". */
export function formatBytes(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}

/** What a non-regular file is, for messages. */
export function fileKind(s: Stats): string {
  if (s.isDirectory()) return 'is a directory';
  if (s.isFIFO()) return 'is a FIFO (named pipe)';
  if (s.isSocket()) return 'is a socket';
  if (s.isCharacterDevice()) return 'is a character device';
  if (s.isBlockDevice()) return 'is a block device';
  return 'is not a regular file';
}

/** A file etrn could not or would not read: "FILE: cannot read WHAT: REASON" (exit 78). */
export class UnreadableFileError extends ConfigError {
  /** What the file is ("class file"). */
  readonly what: string;
  /** Why it was not read ("no such file", "is a FIFO (named pipe), not a regular file"). */
  readonly reason: string;
  constructor(path: string, what: string, reason: string) {
    super(`cannot read ${what}: ${reason}`, path);
    this.what = what;
    this.reason = reason;
  }
}

/** Rejects with the signal's reason when it has aborted. */
export function throwIfStopped(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason ?? new Error('aborted');
}

function refuse(path: string, opts: BoundedReadOptions, s: Stats): void {
  if (!s.isFile()) throw new UnreadableFileError(path, opts.what, `${fileKind(s)}, not a regular file`);
  if (s.size > opts.maxBytes) throw tooLarge(path, opts);
}

function tooLarge(path: string, opts: BoundedReadOptions): UnreadableFileError {
  return new UnreadableFileError(path, opts.what, `larger than the limit of ${formatBytes(opts.maxBytes)}`);
}

/**
 * Reads `path` if it is a regular file of at most `maxBytes`. The type is
 * checked before the file is opened (a device is never opened), and again
 * on the open descriptor (the path may have changed in between); the open
 * is non-blocking, so a FIFO put there meanwhile cannot hang etrn. Throws
 * UnreadableFileError (a ConfigError naming the file), or the signal's
 * reason.
 */
export async function readRegularFile(path: string, opts: BoundedReadOptions): Promise<FileText> {
  throwIfStopped(opts.signal);
  const fail = (error: unknown): UnreadableFileError => new UnreadableFileError(path, opts.what, errnoText(error));
  let before: Stats;
  try {
    before = await stat(path);
  } catch (error) {
    throw fail(error);
  }
  refuse(path, opts, before);
  throwIfStopped(opts.signal);
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (error) {
    throw fail(error);
  }
  try {
    const s = await handle.stat();
    refuse(path, opts, s);
    // One byte more than the limit tells a file that grew past it since fstat.
    const buffer = Buffer.alloc(opts.maxBytes + 1);
    let length = 0;
    for (;;) {
      throwIfStopped(opts.signal);
      let bytesRead: number;
      try {
        ({ bytesRead } = await handle.read(buffer, length, buffer.length - length, null));
      } catch (error) {
        throw fail(error);
      }
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > opts.maxBytes) throw tooLarge(path, opts);
    }
    return { text: buffer.toString('utf8', 0, length), mode: s.mode };
  } finally {
    await handle.close().catch(() => undefined);
  }
}
