// Unit tests for src/config/bounded-read.ts and errno-text.ts: only a
// regular file is read (a symbolic link to one too), up to a size limit;
// a FIFO, a device, a socket or a directory is refused at once, without
// opening it; an aborted run rejects with its reason.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import {
  CONFIG_FILE_MAX_BYTES,
  SECRET_FILE_MAX_BYTES,
  UnreadableFileError,
  formatBytes,
  readRegularFile,
} from '../../src/config/bounded-read.js';
import { errnoText } from '../../src/config/errno-text.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('bounded');
const opts = { what: 'test file', maxBytes: 1024 };
const servers: Server[] = [];
after(() => {
  for (const s of servers) s.close();
});

/** Asserts an UnreadableFileError (a ConfigError, exit 78) naming `path`, whose reason matches. */
async function refused(path: string, reason: RegExp, o = opts): Promise<void> {
  await assert.rejects(readRegularFile(path, o), (error: unknown) => {
    assert.ok(error instanceof UnreadableFileError, String(error));
    assert.equal(error.code, 'ERR_CONFIG');
    assert.equal(error.file, path);
    assert.match(error.reason, reason);
    assert.ok(error.message.startsWith(`${path}: cannot read ${o.what}: `), error.message);
    return true;
  });
}

describe('readRegularFile', () => {
  test('reads a regular file: its text and mode', async () => {
    const path = join(dir, 'plain');
    writeFileSync(path, 'héllo\n', { mode: 0o640 });
    const got = await readRegularFile(path, opts);
    assert.equal(got.text, 'héllo\n');
    assert.equal(got.mode & 0o777, 0o640);
  });

  test('reads a symbolic link to a regular file', async () => {
    const target = join(dir, 'target');
    writeFileSync(target, 'through the link');
    const link = join(dir, 'link');
    symlinkSync(target, link);
    assert.equal((await readRegularFile(link, opts)).text, 'through the link');
  });

  test('a file of exactly the limit is read; one byte more is refused naming the limit', async () => {
    const exact = join(dir, 'exact');
    writeFileSync(exact, 'x'.repeat(1024));
    assert.equal((await readRegularFile(exact, opts)).text.length, 1024);
    const over = join(dir, 'over');
    writeFileSync(over, 'x'.repeat(1025));
    await refused(over, /^larger than the limit of 1 KiB$/);
  });

  test('a FIFO is refused at once, though no writer ever opens it', async () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    await refused(fifo, /^is a FIFO \(named pipe\), not a regular file$/);
  });

  test('a symbolic link to a FIFO is refused too', async () => {
    const fifo = join(dir, 'fifo2');
    execFileSync('mkfifo', [fifo]);
    const link = join(dir, 'fifo-link');
    symlinkSync(fifo, link);
    await refused(link, /^is a FIFO/);
  });

  test('/dev/zero is refused as a device, without reading it (peak RSS stays put)', async () => {
    const before = process.resourceUsage().maxRSS;
    await refused('/dev/zero', /^is a character device, not a regular file$/, { what: 'test file', maxBytes: CONFIG_FILE_MAX_BYTES });
    const grewKiB = process.resourceUsage().maxRSS - before;
    assert.ok(grewKiB < 32 * 1024, `peak RSS grew by ${grewKiB} KiB`);
  });

  test('a directory is refused', async () => {
    await refused(dir, /^is a directory, not a regular file$/);
  });

  test('a unix socket is refused', async () => {
    const path = join(dir, 'sock');
    const server = createServer();
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(path, resolve));
    await refused(path, /^is a socket, not a regular file$/);
  });

  test('a missing file: no such file', async () => {
    await refused(join(dir, 'missing'), /^no such file$/);
  });

  test('a path through a regular file: not a directory', async () => {
    const path = join(dir, 'plain2');
    writeFileSync(path, '');
    await refused(join(path, 'x'), /^a component of the path is not a directory$/);
  });

  test('an aborted signal rejects with its reason, before anything is opened', async () => {
    const path = join(dir, 'plain3');
    writeFileSync(path, 'x');
    const reason = new Error('stop');
    await assert.rejects(readRegularFile(path, { ...opts, signal: AbortSignal.abort(reason) }), (e) => e === reason);
  });

  test('the documented limits: 1 MiB of configuration, 4 KiB of secret', () => {
    assert.equal(formatBytes(CONFIG_FILE_MAX_BYTES), '1 MiB');
    assert.equal(formatBytes(SECRET_FILE_MAX_BYTES), '4 KiB');
    assert.equal(formatBytes(1000), '1000 bytes');
  });
});

describe('errnoText', () => {
  test('maps errno codes to short text; an unknown code is shown as is', () => {
    const e = (code: string): NodeJS.ErrnoException => Object.assign(new Error(code), { code });
    assert.equal(errnoText(e('ENOENT')), 'no such file');
    assert.equal(errnoText(e('EACCES')), 'permission denied');
    assert.equal(errnoText(e('EISDIR')), 'is a directory');
    assert.equal(errnoText(e('EWHATEVER')), 'EWHATEVER');
    assert.equal(errnoText(new Error('plain')), 'plain');
  });
});
