// Issue 11 items 5 and 6: 300 servers where a third never answer, a third
// reset and a third accept, `-t 3` and otherwise default options (the boot
// check pointed at a local responder, as --etrn-hosts turns it on): every
// node is reported, exit 75, and the run is not held up by the hanging
// servers (a generous bound here; bench/hanging-servers.ts measures it).
// Nothing but etrn's own lines reaches stderr: no MaxListenersExceededWarning.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type Fleet, startFleet } from '../helpers/hanging-fleet.js';
import { runEtrn } from '../helpers/cli.js';
import { jobsForFdLimit } from '../../src/transport/fd-limit.js';

const SERVERS = 300;
const TIMEOUT_S = 3;
let fleet: Fleet;

before(async () => {
  fleet = await startFleet(SERVERS);
});
after(() => fleet.close());

function args(fleet: Fleet, extra: string[]): string[] {
  const spec = fleet.addresses.map((a, i) => `${a}:n${i}.example`).join(' ');
  return [...extra, '-t', String(TIMEOUT_S), '-p', String(fleet.port), '--local-port', String(fleet.boot.port), '--helo', 'client.example', '--etrn-hosts', spec];
}

interface Doc {
  exitCode: number;
  error: unknown;
  sessions: { address: string | null; error: { kind: string; phase: string } | null; nodes: { node: string; ok: boolean; sent: boolean }[] }[];
}

describe('300 servers, a third hanging, a third resetting, a third accepting', { concurrency: false }, () => {
  test('--json: every node reported with its own outcome, exit 75, well within a multiple of -t, stderr empty', async () => {
    const run = await runEtrn(args(fleet, ['--json']), { killAfterMs: 120_000 });
    assert.equal(run.code, 75, run.stderr);
    assert.equal(run.stderr, '', 'no Node warning (MaxListenersExceededWarning) or other line on stderr');
    // Serialised in waves of 16 this took 21 s; concurrency makes it one timeout.
    assert.ok(run.elapsedMs < TIMEOUT_S * 1000 * 4, `took ${Math.round(run.elapsedMs)} ms with -t ${TIMEOUT_S}`);
    const doc = JSON.parse(run.stdout) as Doc;
    assert.equal(doc.exitCode, 75);
    assert.equal(doc.sessions.length, SERVERS);
    doc.sessions.forEach((s, i) => {
      assert.deepEqual(s.nodes.map((n) => n.node), [`n${i}.example`]);
      const kind = fleet.kinds[i];
      if (kind === 'accept') {
        assert.equal(s.error, null, `server ${i}`);
        assert.deepEqual([s.nodes[0]!.ok, s.nodes[0]!.sent], [true, true]);
      } else {
        assert.equal(s.error?.kind, kind === 'silent' ? 'timeout' : 'refused', `server ${i}: ${JSON.stringify(s.error)}`);
        assert.equal(s.error?.phase, 'greeting', `server ${i}`);
        assert.deepEqual([s.nodes[0]!.ok, s.nodes[0]!.sent], [false, false]);
      }
    });
    assert.equal(fleet.etrns(), SERVERS / 3);
  });

  test('-q: stderr holds only etrn\'s own lines, one per failed session and node, no Node warning', async () => {
    const run = await runEtrn(args(fleet, ['-q']), { killAfterMs: 120_000 });
    assert.equal(run.code, 75);
    assert.equal(run.stdout, '');
    const lines = run.stderr.split('\n').filter((l) => l !== '');
    for (const line of lines) assert.match(line, /^etrn: 127\.0\.\d+\.\d+:\d+: /, `not an etrn line: ${line}`);
    assert.doesNotMatch(run.stderr, /Warning|MaxListeners/);
    assert.equal(lines.length, (SERVERS * 2 * 2) / 3, 'an error line and a node line for each failed session');
  });
});

describe('the default --jobs follows the open-file limit', () => {
  test('half of what is left after 32, within 16..1000', () => {
    assert.equal(jobsForFdLimit(20_000), 1000);
    assert.equal(jobsForFdLimit(1024), 496);
    assert.equal(jobsForFdLimit(256), 112);
    assert.equal(jobsForFdLimit(null), 112, 'unknown: 256 assumed');
    assert.equal(jobsForFdLimit(40), 16);
    assert.equal(jobsForFdLimit(Number.MAX_SAFE_INTEGER), 1000);
  });
});
