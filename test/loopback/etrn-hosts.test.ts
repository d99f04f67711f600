// --etrn-hosts and --defaults: several scripted servers on 127.0.0.x sharing
// one port, each group getting exactly its ETRN commands, concurrently, after
// one boot check; a malformed SPEC or file sends nothing.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { tempDir } from '../helpers/tmp.js';
import { join } from 'node:path';
import { runEtrn } from '../helpers/cli.js';
import { type Script, type ScriptServer, responder, startScriptServer } from '../helpers/script-server.js';

const servers: ScriptServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

/** One server per address, all on the same port (the port ETRN_HOSTS cannot carry). */
async function fleet(scripts: Script[]): Promise<{ port: number; servers: ScriptServer[] }> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const first = await startScriptServer(scripts[0]!, '127.0.0.2');
    const group = [first];
    try {
      for (let i = 1; i < scripts.length; i++) group.push(await startScriptServer(scripts[i]!, `127.0.0.${i + 2}`, first.port));
      servers.push(...group);
      return { port: first.port, servers: group };
    } catch {
      await Promise.all(group.map((s) => s.close())); // port taken on another address: try another
    }
  }
  throw new Error('no common free port');
}

const tmp = tempDir('hosts');
const etrns = (s: ScriptServer): string[] => s.received.filter((l) => l.startsWith('ETRN'));

test('--etrn-hosts: each group gets exactly its ETRN commands, after one boot check', async () => {
  const local = await startScriptServer(responder());
  servers.push(local);
  const { port, servers: [s2, s3, s4] } = await fleet([responder(), responder(), responder()]);
  const spec = '127.0.0.2:c1.example,c2.example  127.0.0.3:c3.example\n127.0.0.4:c4.example,C4.example';
  const run = await runEtrn(['-v', '--json', '-p', String(port), '--local-port', String(local.port), '--helo', 'me.example', '--etrn-hosts', spec]);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(etrns(s2!), ['ETRN c1.example', 'ETRN c2.example']);
  assert.deepEqual(etrns(s3!), ['ETRN c3.example']);
  assert.deepEqual(etrns(s4!), ['ETRN c4.example']);
  assert.equal(local.connections.length, 1, 'one boot check for the whole run');
  const doc = JSON.parse(run.stdout);
  assert.deepEqual(doc.sessions.map((s: { server: string }) => s.server), ['127.0.0.2', '127.0.0.3', '127.0.0.4']);
});

test('a slow server does not serialise the others: groups run concurrently', async () => {
  const slow: Script = responder({ delayMs: 700 });
  const { port, servers: group } = await fleet([slow, slow, slow, slow]);
  const spec = group.map((s) => `${s.host}:a.example,b.example`).join(' ');
  const run = await runEtrn(['--json', '-t', '5', '-p', String(port), '--helo', 'me.example', '-b', '--boot-wait', '0', '--local-port', String(port), '--etrn-hosts', spec]);
  // The boot check fails (nothing on 127.0.0.1:port) and etrn stops: prove it, then run without it below.
  assert.equal(run.code, 75);
  assert.ok(group.every((s) => s.connections.length === 0));
  const local = await startScriptServer(responder());
  servers.push(local);
  const started = performance.now();
  const ok = await runEtrn(['--json', '-t', '5', '-p', String(port), '--helo', 'me.example', '--local-port', String(local.port), '--etrn-hosts', spec]);
  const elapsed = performance.now() - started;
  assert.equal(ok.code, 0, ok.stderr);
  // Each session: greeting, EHLO, 2 ETRN = 4 replies of 0.7 s = 2.8 s; serialised, 4 servers would take 11 s.
  assert.ok(elapsed < 8000, `took ${elapsed} ms`);
  assert.ok(group.every((s) => etrns(s).length === 2));
});

test('-j 1 runs the groups one at a time', async () => {
  let running = 0;
  let most = 0;
  // A session counts from its EHLO to its QUIT (etrn does not wait for the
  // 221, so the server may still be closing the last one when the next opens).
  const counting: Script = async (conn) => {
    await new Promise((r) => setTimeout(r, 50));
    conn.send('220 mx.test ESMTP');
    for (let line = await conn.readLine(); line !== null; line = await conn.readLine()) {
      if (line.startsWith('EHLO')) {
        running += 1;
        most = Math.max(most, running);
        conn.send('250-mx.test', '250 ETRN');
      } else if (line.startsWith('ETRN')) {
        await new Promise((r) => setTimeout(r, 50));
        conn.send('250 OK');
      } else if (line === 'QUIT') {
        running -= 1;
        conn.send('221 bye');
        conn.socket.end();
        return;
      }
    }
  };
  const local = await startScriptServer(responder());
  servers.push(local);
  const { port, servers: group } = await fleet([counting, counting, counting]);
  const spec = group.map((s) => `${s.host}:a.example`).join(' ');
  const run = await runEtrn(['-j', '1', '-p', String(port), '--local-port', String(local.port), '--helo', 'me.example', '--etrn-hosts', spec]);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(most, 1);
  const parallel = await runEtrn(['-j', '3', '-p', String(port), '--local-port', String(local.port), '--helo', 'me.example', '--etrn-hosts', spec]);
  assert.equal(parallel.code, 0);
  assert.equal(most, 3);
});

test('one dead server does not stop the others; every node is reported, the status is the worst', async () => {
  const local = await startScriptServer(responder());
  servers.push(local);
  const { port, servers: [good] } = await fleet([responder()]);
  const run = await runEtrn(['--json', '-p', String(port), '--local-port', String(local.port), '--helo', 'me.example', '--etrn-hosts', `127.0.0.9:x.example ${good!.host}:a.example`]);
  assert.equal(run.code, 75);
  const doc = JSON.parse(run.stdout);
  assert.equal(doc.sessions[0].error.kind, 'refused');
  assert.deepEqual(doc.sessions[0].nodes, [{ node: 'x.example', ok: false, sent: false }]);
  assert.equal(doc.sessions[1].nodes[0].ok, true);
});

for (const [spec, why] of [
  ['127.0.0.2:a.example 127.0.0.3:', /empty client list/],
  [':a.example', /empty server/],
  ['127.0.0.2:a.example,,b.example', /empty/],
  ['127.0.0.2:a.example 127.0.0.3:bad_name', /bad_name/],
  ['127.0.0.2:a.example 127.0.0.3:2525', /port/],
] as const) {
  test(`a malformed SPEC (${spec}) is exit 64 naming the group, and nothing is sent`, async () => {
    const { port, servers: group } = await fleet([responder(), responder()]);
    const run = await runEtrn(['-p', String(port), '--helo', 'me.example', '--etrn-hosts', spec]);
    assert.equal(run.code, 64, run.stderr);
    assert.match(run.stderr, why);
    assert.equal(run.stderr.trim().split('\n').length, 1);
    assert.ok(group.every((s) => s.connections.length === 0));
  });
}

test('--defaults FILE reads ETRN_HOSTS with shell quoting and runs every group', async () => {
  const local = await startScriptServer(responder());
  servers.push(local);
  const { port, servers: [s2, s3] } = await fleet([responder(), responder()]);
  const file = join(tmp, 'sendmail');
  writeFileSync(
    file,
    [
      '# /etc/default/sendmail',
      'QUEUEINTERVAL=30m',
      'export ETRN_HOSTS="127.0.0.2:one.example',
      '  127.0.0.3:"\'two.example,three.example\'',
      'MODE=daemon',
      '',
    ].join('\n'),
  );
  const run = await runEtrn(['-p', String(port), '--local-port', String(local.port), '--helo', 'me.example', '--defaults', file]);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(etrns(s2!), ['ETRN one.example']);
  assert.deepEqual(etrns(s3!), ['ETRN two.example', 'ETRN three.example']);
  assert.match(run.stdout, /127\.0\.0\.3:\d+: three\.example: accepted: 250/);
});

test('--defaults with an unterminated quote is exit 78 naming file and line, nothing sent', async () => {
  const { port, servers: [s2] } = await fleet([responder()]);
  const file = join(tmp, 'broken');
  writeFileSync(file, 'A=1\nETRN_HOSTS="127.0.0.2:a.example\nB=2\n');
  const run = await runEtrn(['-p', String(port), '--helo', 'me.example', '--defaults', file]);
  assert.equal(run.code, 78);
  assert.match(run.stderr, new RegExp(`${file}:2: .*quote`));
  assert.equal(s2!.connections.length, 0);
});

test('--defaults with a missing file is exit 78 naming it; without ETRN_HOSTS there is nothing to do', async () => {
  const missing = await runEtrn(['--defaults', join(tmp, 'nope')]);
  assert.equal(missing.code, 78);
  assert.match(missing.stderr, /nope: .*no such file/);
  const empty = join(tmp, 'empty');
  writeFileSync(empty, 'MODE=daemon\n');
  const none = await runEtrn(['--defaults', empty]);
  assert.equal(none.code, 0);
  assert.match(none.stdout, /nothing to do/);
});

test('--syslog sends one line per node to logger(1) with mail priorities', async () => {
  const local = await startScriptServer(responder());
  servers.push(local);
  const { port } = await fleet([responder({ etrn: (a) => (a === 'bad.example' ? ['459 4.7.1 no'] : ['250 OK']) })]);
  const bin = tempDir('logger');
  const record = join(bin, 'record');
  writeFileSync(join(bin, 'logger'), `#!/bin/sh\necho "ARGS $*" > '${record}'\ncat >> '${record}'\n`);
  chmodSync(join(bin, 'logger'), 0o755);
  const run = await runEtrn(['--syslog', '-q', '-p', String(port), '--local-port', String(local.port), '--helo', 'me.example', '--etrn-hosts', '127.0.0.2:good.example,bad.example'], {
    env: { PATH: `${bin}:${process.env.PATH ?? ''}` },
  });
  assert.equal(run.code, 69);
  const logged = readFileSync(record, 'utf8').split('\n');
  assert.match(logged[0]!, /^ARGS --tag etrn --id=\d+ --prio-prefix$/);
  assert.ok(logged.some((l) => /^<22>127\.0\.0\.2:\d+: good\.example: accepted: 250 OK$/.test(l)), logged.join('\n'));
  assert.ok(logged.some((l) => /^<19>127\.0\.0\.2:\d+: ETRN bad\.example refused: 459 4\.7\.1 no$/.test(l)), logged.join('\n'));
  assert.equal(run.stdout, '');
});

test('--dry-run with --etrn-hosts lists one session per group and contacts nothing', async () => {
  const run = await runEtrn(['-n', '--helo', 'me.example', '--etrn-hosts', 's1.example:c1.example,c2.example s2.example:c3.example']);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(
    run.stdout,
    'boot check: wait for localhost:25\nsession 1: s1.example:25: EHLO me.example\n  ETRN c1.example\n  ETRN c2.example\nsession 2: s2.example:25: EHLO me.example\n  ETRN c3.example\n',
  );
});
