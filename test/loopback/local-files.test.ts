// Every local file etrn reads (--defaults, --sendmail-cf and the class
// files it names, --auth-password-file, --tls-ca) is read only if it is a
// regular file (a symbolic link to one is fine) of at most its documented
// size: a FIFO, /dev/zero, a directory, a unix socket or an oversized file
// is a configuration error (78) at once, naming the file, and no server is
// contacted. A listening scripted server proves the last point.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { CONFIG_FILE_MAX_BYTES, SECRET_FILE_MAX_BYTES } from '../../src/config/bounded-read.js';
import { makeCerts } from '../helpers/certs.js';
import { etrnBin, runEtrn } from '../helpers/cli.js';
import { type ScriptServer, responder, startScriptServer } from '../helpers/script-server.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('local-files');
let server: ScriptServer;
let socketServer: Server;
const socketPath = join(dir, 'socket');

before(async () => {
  server = await startScriptServer(responder());
  socketServer = createServer();
  await new Promise<void>((resolve) => socketServer.listen(socketPath, resolve));
});
after(async () => {
  await server.close();
  socketServer.close();
});

/** One option that names a file: how to run etrn with it, a valid content, its limit. */
interface PathOption {
  readonly name: string;
  /** What the messages call the file. */
  readonly what: string;
  readonly maxBytes: number;
  readonly valid: () => string;
  readonly mode?: number;
  readonly args: (path: string) => string[];
}

const net = (): string[] => ['-p', String(server.port), '--local-port', String(server.port), '--helo', 'me.example'];
let counter = 0;
const fresh = (name: string): string => join(dir, `${name}-${counter++}`);

const options: PathOption[] = [
  {
    name: '--defaults',
    what: 'defaults file',
    maxBytes: CONFIG_FILE_MAX_BYTES,
    valid: () => 'ETRN_HOSTS="127.0.0.1:node.example"\n',
    args: (path) => ['--defaults', path, ...net()],
  },
  {
    name: '--sendmail-cf',
    what: 'sendmail.cf',
    maxBytes: CONFIG_FILE_MAX_BYTES,
    valid: () => 'Cwnode.example\n',
    args: (path) => ['--sendmail-cf', path, ...net(), '127.0.0.1'],
  },
  {
    name: 'a class file named by sendmail.cf (F line)',
    what: 'class file',
    maxBytes: CONFIG_FILE_MAX_BYTES,
    valid: () => 'node.example\n',
    args: (path) => {
      const cf = fresh('sendmail.cf');
      writeFileSync(cf, `Fw${path}\n`);
      return ['--sendmail-cf', cf, ...net(), '127.0.0.1'];
    },
  },
  {
    name: '--auth-password-file',
    what: 'password file',
    maxBytes: SECRET_FILE_MAX_BYTES,
    valid: () => 'secret\n',
    mode: 0o600,
    args: (path) => ['--auth-user', 'u', '--auth-password-file', path, '--auth-cleartext', '--tls', 'off', ...net(), '127.0.0.1', 'node.example'],
  },
  {
    name: '--tls-ca',
    what: 'TLS trust anchors',
    maxBytes: CONFIG_FILE_MAX_BYTES,
    valid: () => readFileSync(makeCerts().caFile, 'utf8'),
    args: (path) => ['--tls-ca', path, ...net(), '127.0.0.1', 'node.example'],
  },
];

/** Runs etrn on `path` as `opt`'s file: 78 naming the file and `reason`, and no connection to the server. */
async function refused(opt: PathOption, path: string, reason: RegExp): Promise<void> {
  const before = server.connections.length;
  const run = await runEtrn(opt.args(path), { killAfterMs: 30_000 });
  assert.equal(run.code, 78, `exit ${run.code} ${run.signal ?? ''}: ${run.stderr}`);
  const line = run.stderr.split('\n').find((l) => l.includes(`${path}: cannot read ${opt.what}`));
  assert.ok(line, run.stderr);
  assert.match(line, reason);
  assert.equal(server.connections.length, before, 'a server was contacted');
}

for (const opt of options) {
  describe(opt.name, () => {
    test('a FIFO: 78 at once, though nobody ever writes to it', async () => {
      const fifo = fresh('fifo');
      execFileSync('mkfifo', [fifo]);
      await refused(opt, fifo, /is a FIFO \(named pipe\), not a regular file$/);
    });

    test('/dev/zero: 78, a character device', async () => {
      await refused(opt, '/dev/zero', /is a character device, not a regular file$/);
    });

    test('a directory: 78', async () => {
      await refused(opt, dir, /is a directory, not a regular file$/);
    });

    test('a unix socket: 78', async () => {
      await refused(opt, socketPath, /is a socket, not a regular file$/);
    });

    test('a regular file one byte over the limit: 78 naming the limit', async () => {
      const big = fresh('big');
      writeFileSync(big, `${opt.valid()}${'#'.repeat(opt.maxBytes)}`);
      const limit = opt.maxBytes === SECRET_FILE_MAX_BYTES ? '4 KiB' : '1 MiB';
      await refused(opt, big, new RegExp(`larger than the limit of ${limit}$`));
    });

    test('a symbolic link to a regular file is read (dry run: exit 0)', async () => {
      const target = fresh('target');
      writeFileSync(target, opt.valid(), { mode: opt.mode ?? 0o644 });
      const link = fresh('link');
      symlinkSync(target, link);
      const run = await runEtrn(['-n', ...opt.args(link)], { killAfterMs: 30_000 });
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /ETRN node\.example/);
    });
  });
}

test('/dev/zero as --defaults: peak RSS stays that of an idle etrn', () => {
  const time = spawnSync('/usr/bin/time', ['-f', 'maxrss=%M', process.execPath, etrnBin, '--defaults', '/dev/zero'], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(time.status, 78, time.stderr);
  const kib = Number(/maxrss=(\d+)/.exec(time.stderr)?.[1]);
  assert.ok(kib > 0 && kib < 150 * 1024, `peak RSS ${kib} KiB`);
});
