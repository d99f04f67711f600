// Unit tests for src/config/run-program.ts: programs get an environment
// without secrets, and are killed (with their children) on a timeout, on too
// much output and when the run is stopped.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { childEnvironment, runProgram } from '../../src/config/run-program.js';
import { gone, pidFrom } from '../helpers/processes.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('run-program');

describe('childEnvironment', () => {
  test("from etrn's environment: only PATH, LD_LIBRARY_PATH, TZ, MAIL_CONFIG and the C locale; never ETRN_PASSWORD", () => {
    const saved = { ...process.env };
    try {
      process.env.ETRN_PASSWORD = 'secret-1';
      process.env.ETRN_OTHER = 'other';
      process.env.MAIL_CONFIG = '/etc/postfix-out';
      process.env.PATH = '/bin:/usr/bin';
      assert.deepEqual(childEnvironment(), {
        PATH: '/bin:/usr/bin',
        MAIL_CONFIG: '/etc/postfix-out',
        LC_ALL: 'C',
        LANG: 'C',
        ...(saved.TZ === undefined ? {} : { TZ: saved.TZ }),
        ...(saved.LD_LIBRARY_PATH === undefined ? {} : { LD_LIBRARY_PATH: saved.LD_LIBRARY_PATH }),
      });
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  });

  test("from the caller's environment: everything but the secret", () => {
    const env = childEnvironment({ PATH: '/x', LD_LIBRARY_PATH: '/lib/x', ETRN_PASSWORD: 'secret-2' });
    assert.deepEqual(env, { PATH: '/x', LD_LIBRARY_PATH: '/lib/x', LC_ALL: 'C', LANG: 'C' });
  });
});

describe('runProgram', () => {
  test("the program's own environment has no ETRN_PASSWORD", async () => {
    process.env.ETRN_PASSWORD = 'secret-3';
    try {
      const run = await runProgram('/usr/bin/env', []);
      assert.equal(run.failure, null);
      assert.match(run.stdout, /^LC_ALL=C$/m);
      assert.doesNotMatch(run.stdout, /secret-3|ETRN_PASSWORD/);
    } finally {
      delete process.env.ETRN_PASSWORD;
    }
  });

  test('exit status and the first stderr line make the failure', async () => {
    const run = await runProgram('/bin/sh', ['-c', 'echo "LOG: noise" >&2; echo "fatal: bad" >&2; exit 3']);
    assert.equal(run.failure, 'exit status 3: fatal: bad');
  });

  test('a missing program: no such program', async () => {
    const run = await runProgram(join(dir, 'nope'), []);
    assert.equal(run.failure, 'no such program');
  });

  test('too much output: the program and its children are killed, failure names the limit', { timeout: 30_000 }, async () => {
    const pidFile = join(dir, 'yes.pid');
    const run = await runProgram('/bin/sh', ['-c', `yes & echo $! > ${pidFile}; wait`], { maxBytes: 64 * 1024 });
    assert.equal(run.failure, 'more than 64 KiB of output');
    assert.ok(run.stdout.length <= 64 * 1024);
    assert.ok(await gone(await pidFrom(pidFile)), 'yes still runs');
  });

  test('no answer in time: killed with its children, though they hold the pipes open', { timeout: 30_000 }, async () => {
    const pidFile = join(dir, 'sleep.pid');
    const run = await runProgram('/bin/sh', ['-c', `sleep 60 & echo $! > ${pidFile}; wait`], { timeoutMs: 300 });
    assert.equal(run.failure, 'no answer within 0.3 s');
    assert.ok(await gone(await pidFrom(pidFile)), 'sleep still runs');
  });

  test('a stopped run kills the program and rejects with the reason', { timeout: 30_000 }, async () => {
    const pidFile = join(dir, 'stop.pid');
    const controller = new AbortController();
    const reason = new Error('deadline');
    const running = runProgram('/bin/sh', ['-c', `sleep 60 & echo $! > ${pidFile}; wait`], { signal: controller.signal });
    const pid = await pidFrom(pidFile);
    controller.abort(reason);
    await assert.rejects(running, (e) => e === reason);
    assert.ok(await gone(pid), 'sleep still runs');
  });

  test('an already stopped run starts nothing', async () => {
    const reason = new Error('stopped');
    await assert.rejects(runProgram('/bin/true', [], { signal: AbortSignal.abort(reason) }), (e) => e === reason);
  });
});
