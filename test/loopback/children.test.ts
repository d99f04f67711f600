// The programs etrn runs (postconf, exim -bP, logger for --syslog) get an
// environment without ETRN_PASSWORD or anything else they do not need, and
// --deadline, SIGTERM and SIGINT hold while one of them is slow: the
// program (and its own children) is killed and etrn exits 75, 143 or 130.
// Stubs in a PATH folder record the environment they were given.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runEtrn } from '../helpers/cli.js';
import { type ScriptServer, responder, startScriptServer } from '../helpers/script-server.js';
import { gone, pidFrom } from '../helpers/processes.js';
import { tempDir } from '../helpers/tmp.js';

let server: ScriptServer;
before(async () => {
  server = await startScriptServer(responder());
});
after(async () => {
  await server.close();
});

const SECRET = 'pw-do-not-leak-4711';
const net = (): string[] => ['-p', String(server.port), '--local-port', String(server.port), '--helo', 'me.example'];

/** A folder of stub programs; each records its environment in NAME.env next to it. */
function stubs(scripts: Record<string, string>): { bin: string; envOf: (name: string) => string } {
  const bin = tempDir('stubs');
  for (const [name, body] of Object.entries(scripts)) {
    writeFileSync(join(bin, name), `#!/bin/sh\nenv > '${join(bin, `${name}.env`)}'\n${body}\n`, { mode: 0o755 });
  }
  return { bin, envOf: (name) => readFileSync(join(bin, `${name}.env`), 'utf8') };
}

const pathWith = (bin: string): string => `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`;

/** The environment a stub recorded: it ran, and it holds no secret and nothing etrn does not pass on. */
function assertClean(env: string, name: string): void {
  assert.doesNotMatch(env, new RegExp(SECRET), `${name} got the secret`);
  assert.doesNotMatch(env, /^ETRN_PASSWORD=/m, `${name} got ETRN_PASSWORD`);
  assert.doesNotMatch(env, /^ETRN_UNNEEDED=/m, `${name} got a variable it does not need`);
  assert.match(env, /^LC_ALL=C$/m);
  assert.match(env, /^PATH=/m);
}

describe('child processes get no secrets', () => {
  test('postconf (discovery) and logger (--syslog) run without ETRN_PASSWORD', async () => {
    const { bin, envOf } = stubs({
      postconf: "printf 'node.example\\n\\n\\nhost.example\\nexample\\n'",
      logger: 'cat > /dev/null',
    });
    const run = await runEtrn(['--syslog', '--mta', 'postfix', '--auth-user', 'u', '--auth-cleartext', '--tls', 'off', '-n', ...net(), '127.0.0.1'], {
      env: { PATH: pathWith(bin), ETRN_PASSWORD: SECRET, ETRN_UNNEEDED: 'x' },
    });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /ETRN node\.example/); // postconf's answer was used
    assertClean(envOf('postconf'), 'postconf');
    assertClean(envOf('logger'), 'logger');
  });

  test('exim -bP (discovery) runs without ETRN_PASSWORD', async () => {
    const { bin, envOf } = stubs({ exim4: "echo 'domainlist local_domains = node.example'" });
    const run = await runEtrn(['--mta', 'exim', ...net(), '127.0.0.1'], {
      env: { PATH: pathWith(bin), ETRN_PASSWORD: SECRET, ETRN_UNNEEDED: 'x' },
    });
    assert.equal(run.code, 0, run.stderr);
    assert.ok(server.received.includes('ETRN node.example'), server.received.join('\n'));
    assertClean(envOf('exim4'), 'exim4');
  });
});

/** A postconf that never answers; its `sleep` writes its pid to the returned file. */
function slowPostconf(): { bin: string; pidFile: string } {
  const { bin } = stubs({ postconf: '' });
  const pidFile = join(bin, 'sleep.pid');
  writeFileSync(join(bin, 'postconf'), `#!/bin/sh\nsleep 120 &\necho $! > '${pidFile}'\nwait\n`, { mode: 0o755 });
  return { bin, pidFile };
}

describe('--deadline and signals hold while postconf is slow', () => {
  test('--deadline 1: exit 75 (a timeout, not the 5 s postconf limit), postconf killed, JSON error of kind timeout', async () => {
    const { bin, pidFile } = slowPostconf();
    const before = server.connections.length;
    const run = await runEtrn(['--json', '--deadline', '1', '--mta', 'postfix', ...net(), '127.0.0.1'], {
      env: { PATH: pathWith(bin) },
      killAfterMs: 30_000,
    });
    assert.equal(run.code, 75, run.stderr);
    assert.match(run.stderr, /deadline of 1 s reached/);
    const doc = JSON.parse(run.stdout) as { exitCode: number; error: { kind: string } };
    assert.equal(doc.exitCode, 75);
    assert.equal(doc.error.kind, 'timeout');
    assert.ok(await gone(await pidFrom(pidFile)), "postconf's sleep still runs");
    assert.equal(server.connections.length, before, 'a server was contacted');
  });

  for (const [signal, status] of [['SIGTERM', 143], ['SIGINT', 130]] as const) {
    test(`${signal} while postconf runs: exit ${status}, postconf killed`, async () => {
      const { bin, pidFile } = slowPostconf();
      let child: ChildProcess | undefined;
      const running = runEtrn(['--mta', 'postfix', ...net(), '127.0.0.1'], {
        env: { PATH: pathWith(bin) },
        killAfterMs: 30_000,
        onSpawn: (c) => (child = c),
      });
      const pid = await pidFrom(pidFile); // postconf is running now
      child!.kill(signal);
      const run = await running;
      assert.equal(run.code, status, run.stderr);
      assert.match(run.stderr, /interrupted/);
      assert.ok(await gone(pid), "postconf's sleep still runs");
    });
  }
});

test('a postconf that floods its output is killed at 1 MiB: 78 naming the limit, no server contacted', async () => {
  const { bin } = stubs({ postconf: 'yes node.example' });
  const before = server.connections.length;
  const run = await runEtrn(['--mta', 'postfix', ...net(), '127.0.0.1'], { env: { PATH: pathWith(bin) }, killAfterMs: 30_000 });
  assert.equal(run.code, 78, run.stderr);
  assert.match(run.stderr, /postconf -h -x .* failed: more than 1 MiB of output$/m);
  assert.equal(server.connections.length, before, 'a server was contacted');
});
