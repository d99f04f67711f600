// Limits hold for every source (issue 11.3): the client-hosts per server limit
// for discovered names (sendmail class w, Postfix, Exim) and for ETRN_HOSTS
// over its groups; a server-host that only inet_aton would read as an address
// is refused; --source is checked before anything starts.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, InvalidNameError, MAX_NODES_PER_SERVER, UsageError, plan } from '../../src/index.js';
import { runEtrn } from '../helpers/cli.js';
import { closeAll, responder, serve } from '../helpers/script-server.js';
import { tempDir } from '../helpers/tmp.js';

after(closeAll);

const dir = tempDir('limits-sources');
const names = (n: number, tag = 'n'): string[] => Array.from({ length: n }, (_, i) => `${tag}${i}.example`);
const HELO = ['--helo', 'me.example'];

describe(`at most ${MAX_NODES_PER_SERVER} client-hosts per server, from every source`, () => {
  test('sendmail class w: this host plus 999 names pass; plus 1000 is a configuration error', async () => {
    const cf = (n: number): string => {
      const classFile = join(dir, `class-w-${n}`);
      writeFileSync(classFile, `${names(n).join('\n')}\n`);
      const path = join(dir, `sendmail-${n}.cf`);
      writeFileSync(path, `Fw${classFile}\n`);
      return path;
    };
    const options = (n: number) => ({ server: 'mx.example', fqdn: 'me.example', mta: 'sendmail' as const, sendmailCf: cf(n) });
    const ok = await plan(options(MAX_NODES_PER_SERVER - 1));
    assert.equal(ok.sessions.reduce((sum, s) => sum + s.nodes.length, 0), MAX_NODES_PER_SERVER);
    await assert.rejects(plan(options(MAX_NODES_PER_SERVER)), (error: unknown) => {
      assert.ok(error instanceof ConfigError, String(error));
      assert.match(error.message, /too many client-hosts for mx\.example:25: 1001 \(at most 1000\); discovery \(sendmail\) found the names/);
      return true;
    });
    const run = await runEtrn(['-n', ...HELO, '--sendmail-cf', cf(1500), 'mx.example']);
    assert.equal(run.code, 78, run.stderr);
    assert.match(run.stderr, /too many client-hosts for mx\.example:25/);
  });

  test('Postfix (postconf) and Exim (exim -bP) discovery: 78 past the limit', async () => {
    const bin = tempDir('fake-mta');
    const many = names(1200, 'd');
    writeFileSync(join(bin, 'postconf'), `#!/bin/sh\nprintf '%s\\n' '${many.join(', ')}' '' '' 'mail.example' 'example'\n`);
    writeFileSync(join(bin, 'exim4'), `#!/bin/sh\nprintf '%s\\n' 'domainlist local_domains = ${many.join(' : ')}'\n`);
    chmodSync(join(bin, 'postconf'), 0o755);
    chmodSync(join(bin, 'exim4'), 0o755);
    const env = { PATH: `${bin}:${process.env.PATH ?? ''}` };
    for (const mta of ['postfix', 'exim']) {
      const run = await runEtrn(['-n', ...HELO, '--mta', mta, 'mx.example'], { env });
      assert.equal(run.code, 78, `${mta}: ${run.stderr}`);
      assert.match(run.stderr, new RegExp(`too many client-hosts for mx\\.example:25: 1201 \\(at most 1000\\); discovery \\(${mta}\\)`));
    }
    // The same fake MTAs with few names pass, so the refusal above is the limit's.
    writeFileSync(join(bin, 'postconf'), "#!/bin/sh\nprintf '%s\\n' 'a.example, b.example' '' '' 'mail.example' 'example'\n");
    const few = await runEtrn(['-n', ...HELO, '--mta', 'postfix', 'mx.example'], { env });
    assert.equal(few.code, 0, few.stderr);
  });

  test('ETRN_HOSTS: one server over several groups counts once (64 inline, 78 from --defaults with the line)', async () => {
    const spec = `127.0.0.1:${names(600, 'a').join(',')} 127.0.0.2:x.example 127.0.0.1:${names(401, 'b').join(',')}`;
    const inline = await runEtrn([...HELO, '--etrn-hosts', spec]);
    assert.equal(inline.code, 64, inline.stderr);
    assert.match(inline.stderr, /ETRN_HOSTS names 1001 clients for server "127\.0\.0\.1" over its groups; at most 1000/);
    const file = join(dir, 'defaults-many');
    writeFileSync(file, `# many\nETRN_HOSTS="${spec}"\n`);
    const fromFile = await runEtrn([...HELO, '--defaults', file]);
    assert.equal(fromFile.code, 78, fromFile.stderr);
    assert.match(fromFile.stderr, new RegExp(`${file}:2: ETRN_HOSTS names 1001 clients`));
    const exactly = `127.0.0.1:${names(600, 'a').join(',')} 127.0.0.1:${names(400, 'b').join(',')}`;
    const dry = await runEtrn(['-n', ...HELO, '--etrn-hosts', exactly]);
    assert.equal(dry.code, 0, dry.stderr);
  });

  test('library targets naming one server twice count together', async () => {
    const targets = [
      { server: 'mx.example', nodes: names(600, 'a') },
      { server: 'MX.example:25', nodes: names(401, 'b') },
    ];
    await assert.rejects(plan({ targets, fqdn: 'me.example' }), (e: unknown) => e instanceof UsageError && /1001/.test(e.message));
  });
});

describe('a server-host whose last label is all digits (or that reads as a number) is refused with 64', () => {
  for (const host of ['0x7f.1', '127.1', '2130706433', '0x7f000001', '0177.0.0.1', '127.0.0.1.', 'mx.example.123']) {
    test(host, async () => {
      const s = await serve(responder());
      const run = await runEtrn([...HELO, `${host}:${s.port}`, 'a.example']);
      assert.equal(run.code, 64, run.stderr);
      assert.match(run.stderr, /not a valid IPv4 address \(a dotted quad\) nor a host name/);
      assert.ok(run.stderr.includes(`"${host}:${s.port}"`), run.stderr);
      const group = await runEtrn([...HELO, '-p', String(s.port), '--etrn-hosts', `${host}:a.example`]);
      assert.equal(group.code, 64, group.stderr);
      assert.equal(s.connections.length, 0, 'nothing connects (each of these is 127.0.0.1 to inet_aton)');
    });
  }

  test('a dotted quad and names with digits elsewhere are accepted', async () => {
    for (const host of ['127.0.0.1', 'mx1.example', '123.example', 'a.0x7f']) {
      const p = await plan({ server: host, nodes: ['a.example'], fqdn: 'me.example' });
      assert.equal(p.sessions[0]!.host, host);
    }
    await assert.rejects(plan({ server: '127.1', nodes: ['a.example'], fqdn: 'me.example' }), InvalidNameError);
  });
});

describe('--source is checked before anything starts', () => {
  const bad: ReadonlyArray<[string, string[], RegExp]> = [
    ['a name', ['--source', 'me.example'], /--source must be an IPv4 or IPv6 address of this host, not "me\.example"/],
    ['control characters, escaped', ['--source', '127.0.0.1\u001b[2J\u202e'], /not "127\.0\.0\.1\\x1B\[2J\\u\{202E\}"/],
    ['a bracketed address', ['--source', '[::1]'], /not "\[::1\]"/],
    ['IPv6 with -4', ['-4', '--source', '::1'], /--source "::1" is an IPv6 address, but -4 was given/],
    ['IPv6 to an IPv4 server', ['--source', '::1'], /is an IPv6 address, but server-host "127\.0\.0\.1" is IPv4/],
    ['an address not of this host', ['--source', '192.0.2.1'], /--source "192\.0\.2\.1" is not an address of this host/],
  ];
  for (const [what, args, pattern] of bad) {
    test(`${what}: 64, nothing connects`, async () => {
      const s = await serve(responder());
      const run = await runEtrn([...HELO, ...args, `127.0.0.1:${s.port}`, 'a.example']);
      assert.equal(run.code, 64, run.stderr);
      assert.match(run.stderr, pattern);
      assert.equal(s.connections.length, 0);
    });
  }

  test('with a server name, the source family is the family resolved', async () => {
    const p = await plan({ server: 'mx.example', nodes: ['a.example'], fqdn: 'me.example', sourceAddress: '127.0.0.1' });
    assert.equal(p.family, 4);
    const none = await plan({ server: 'mx.example', nodes: ['a.example'], fqdn: 'me.example' });
    assert.equal(none.family, undefined);
  });

  test('a good source still works', async () => {
    let seen = '';
    const s = await serve(async (conn, i) => {
      seen = conn.socket.remoteAddress ?? '';
      await responder()(conn, i);
    });
    const run = await runEtrn([...HELO, '--source', '127.0.0.9', `127.0.0.1:${s.port}`, 'a.example']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(seen, '127.0.0.9');
  });
});
