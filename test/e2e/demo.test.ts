// `npm run demo` must keep working: it is how a newcomer sees etrn do its job.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../helpers/cli.js';

test('the demo shows a message stuck in the Postfix queue, then delivered after etrn', () => {
  const run = spawnSync(process.execPath, [join(repoRoot, 'scripts/demo.mjs')], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(run.status, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /"delay_reason": "connect to 127\.0\.0\.1\[127\.0\.0\.1\]:\d+: Connection refused"/);
  assert.match(run.stdout, /-> ETRN client\.test\n<- 250 Queuing started/);
  assert.match(run.stdout, /to <user@client\.test>/);
  assert.match(run.stdout, /messages left in the queue: 0/);
});
