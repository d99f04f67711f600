// Unit tests for class w discovery (src/config/class-w-discovery.ts), with real files
// in a temporary directory.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalFromHosts, discoverSendmailNodes } from '../../src/config/class-w-discovery.js';
import { ConfigError } from '../../src/errors.js';
import { ExitCode, exitCodeForKind } from '../../src/protocol/outcome.js';

let dir = '';
let counter = 0;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'etrn-discovery-'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes `text` to a new file in the temporary directory and returns its path. */
async function file(text: string, name = `f${counter++}`): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

const FQDN = 'mail.example.com';

describe('discoverSendmailNodes', () => {
  test('the host name comes first, then class w in file order', async () => {
    const hostsFile = await file('z.example\n# comment\ny.example x.example\n');
    const cf = await file(`Cwb.example a.example\nFw${hostsFile} %[^\\#]\nCwc.example\n`);
    const got = await discoverSendmailNodes(cf, FQDN);
    assert.deepEqual(got.nodes, [FQDN, 'b.example', 'a.example', 'z.example', 'y.example', 'x.example', 'c.example']);
    assert.deepEqual(got.warnings, []);
  });

  test('localhost names and address literals are left out', async () => {
    const hostsFile = await file('localhost\n[127.0.0.1]\n[IPv6:::1]\nlocalhost.localdomain\nreal.example\n');
    const cf = await file(`Cwlocalhost\nC{w}localhost.localdomain [127.0.0.1]\nFw-o ${hostsFile}\n`);
    const got = await discoverSendmailNodes(cf, FQDN);
    assert.deepEqual(got.nodes, [FQDN, 'real.example']);
  });

  test('duplicates are removed case-insensitively, the first kept', async () => {
    const hostsFile = await file('A.example\nMAIL.EXAMPLE.COM\nb.example.\n');
    const cf = await file(`Cwa.example b.example\nCwMail.Example.Com\nFw${hostsFile}\n`);
    const got = await discoverSendmailNodes(cf, FQDN);
    assert.deepEqual(got.nodes, [FQDN, 'a.example', 'b.example']);
  });

  test('a name that contains the host name, or that the host name contains, is kept', async () => {
    const cf = await file('Cwmail.example.com.au webmail.example.com example.com mailxexample.com mail\n');
    const got = await discoverSendmailNodes(cf, FQDN);
    assert.deepEqual(got.nodes, [FQDN, 'mail.example.com.au', 'webmail.example.com', 'example.com', 'mailxexample.com', 'mail']);
  });

  test('internationalised names are returned as A-labels', async () => {
    const cf = await file('Cwbücher.example\n');
    const got = await discoverSendmailNodes(cf, FQDN);
    assert.deepEqual(got.nodes, [FQDN, 'xn--bcher-kva.example']);
  });

  test('an invalid name in a class file is skipped with a warning naming file and line', async () => {
    const hostsFile = await file('good.example\nbad_name.example\nalso..bad\nfine.example\n');
    const cf = await file(`Fw${hostsFile}\n`);
    const got = await discoverSendmailNodes(cf, FQDN);
    assert.deepEqual(got.nodes, [FQDN, 'good.example', 'fine.example']);
    assert.equal(got.warnings.length, 2);
    assert.deepEqual(
      got.warnings.map((w) => [w.file, w.line]),
      [
        [hostsFile, 2],
        [hostsFile, 3],
      ],
    );
    assert.match(got.warnings[0]?.message ?? '', /bad_name\.example/);
  });

  test('an invalid name on a Cw line is skipped with a warning', async () => {
    const cf = await file('Cwok.example\nCwno_way.example\n');
    const got = await discoverSendmailNodes(cf, FQDN);
    assert.deepEqual(got.nodes, [FQDN, 'ok.example']);
    assert.equal(got.warnings.length, 1);
    assert.equal(got.warnings[0]?.file, cf);
    assert.equal(got.warnings[0]?.line, 2);
  });

  test('a missing mandatory class file is a configuration error naming the file', async () => {
    const missing = join(dir, 'no-such-local-host-names');
    const cf = await file(`Cwa.example\nFw${missing} %[^\\#]\n`);
    await assert.rejects(discoverSendmailNodes(cf, FQDN), (error: unknown) => {
      assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
      assert.equal(error.code, 'ERR_CONFIG');
      assert.ok(error.message.includes(missing), `message does not name the file: ${error.message}`);
      return true;
    });
    assert.equal(exitCodeForKind('config'), ExitCode.CONFIG);
    assert.equal(ExitCode.CONFIG, 78);
  });

  test('a missing optional class file is skipped with a warning', async () => {
    const missing = join(dir, 'no-such-optional');
    const cf = await file(`Cwa.example\nFw-o ${missing} %[^\\#]\nCwb.example\n`);
    const got = await discoverSendmailNodes(cf, FQDN);
    assert.deepEqual(got.nodes, [FQDN, 'a.example', 'b.example']);
    assert.equal(got.warnings.length, 1);
    assert.equal(got.warnings[0]?.line, 2);
    assert.ok(got.warnings[0]?.message.includes(missing));
  });

  test('a missing sendmail.cf is a configuration error naming it', async () => {
    const missing = join(dir, 'no-such-sendmail.cf');
    await assert.rejects(discoverSendmailNodes(missing, FQDN), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.file, missing);
      assert.ok(error.message.includes(missing));
      return true;
    });
  });

  test('warnings of sendmail.cf are passed on', async () => {
    const cf = await file('Cw$j a.example\nFw|/usr/bin/hosts\n');
    const got = await discoverSendmailNodes(cf, FQDN);
    assert.deepEqual(got.nodes, [FQDN, 'a.example']);
    assert.deepEqual(
      got.warnings.map((w) => w.line),
      [1, 2],
    );
  });

  test('a sendmail.cf without class w gives just the host name', async () => {
    const cf = await file('V10/Berkeley\nCPREDIRECT\n');
    assert.deepEqual((await discoverSendmailNodes(cf, FQDN)).nodes, [FQDN]);
  });

  test('the host name loses its trailing dot', async () => {
    const cf = await file('Cwa.example\n');
    assert.deepEqual((await discoverSendmailNodes(cf, `${FQDN}.`)).nodes, [FQDN, 'a.example']);
  });
});

describe('canonicalFromHosts', () => {
  const hosts = [
    '# /etc/hosts',
    '127.0.0.1\tlocalhost',
    '127.0.1.1\tmail.example.com mail   # this host',
    '192.0.2.9  other.example.com other',
    '',
  ].join('\n');

  test('the qualified first name of the line that lists the short name is returned', () => {
    assert.equal(canonicalFromHosts(hosts, 'mail'), 'mail.example.com');
    assert.equal(canonicalFromHosts(hosts, 'other'), 'other.example.com');
  });

  test('the short name is matched case-insensitively', () => {
    assert.equal(canonicalFromHosts(hosts, 'MAIL'), 'mail.example.com');
  });

  test('a name not listed gives null', () => {
    assert.equal(canonicalFromHosts(hosts, 'nohost'), null);
  });

  test('a line whose names are all unqualified gives null', () => {
    assert.equal(canonicalFromHosts('192.0.2.1 box box2\n', 'box'), null);
  });

  test('a name that appears only in a comment is not found', () => {
    assert.equal(canonicalFromHosts('192.0.2.1 box.example.com # alias mail\n', 'mail'), null);
  });

  test('the address column is not a name', () => {
    assert.equal(canonicalFromHosts('mail foo.example\n', 'mail'), null);
  });

  test('an empty file gives null', () => {
    assert.equal(canonicalFromHosts('', 'mail'), null);
  });
});
