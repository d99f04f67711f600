// Unit tests for the ETRN_HOSTS / --etrn-hosts parser (src/config/etrn-hosts.ts).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MAX_GROUPS, MAX_NODES_PER_GROUP, parseEtrnHosts } from '../../src/config/etrn-hosts.js';
import { EtrnError, InvalidNameError, UsageError, quote } from '../../src/errors.js';

/** Asserts that `spec` is refused with `kind`, a message naming `group` and matching `pattern`. */
function assertRefused(spec: string, kind: typeof UsageError | typeof InvalidNameError, group: string, pattern: RegExp): void {
  assert.throws(
    () => parseEtrnHosts(spec),
    (error: unknown) => {
      assert.ok(error instanceof kind, `expected ${kind.name}, got ${String(error)}`);
      assert.ok(error.message.includes(`ETRN_HOSTS group ${quote(group)}`), `message does not name the group: ${error.message}`);
      assert.match(error.message, pattern);
      return true;
    },
  );
}

describe('parseEtrnHosts: the examples of etrn(1M)', () => {
  test('"s1:c1.1,c1.2 s2:c2.1 s3:c3.1,c3.2,c3.3" gives three groups in order', () => {
    assert.deepEqual(parseEtrnHosts('s1:c1.1,c1.2 s2:c2.1 s3:c3.1,c3.2,c3.3'), [
      { server: 's1', nodes: ['c1.1', 'c1.2'], text: 's1:c1.1,c1.2' },
      { server: 's2', nodes: ['c2.1'], text: 's2:c2.1' },
      { server: 's3', nodes: ['c3.1', 'c3.2', 'c3.3'], text: 's3:c3.1,c3.2,c3.3' },
    ]);
  });

  test('two servers with the same client', () => {
    assert.deepEqual(parseEtrnHosts('s1.domain.com:clnt.domain.com s2.domain.com:clnt.domain.com'), [
      { server: 's1.domain.com', nodes: ['clnt.domain.com'], text: 's1.domain.com:clnt.domain.com' },
      { server: 's2.domain.com', nodes: ['clnt.domain.com'], text: 's2.domain.com:clnt.domain.com' },
    ]);
  });

  test('one server with two clients: two ETRN commands to it', () => {
    assert.deepEqual(parseEtrnHosts('server.domain.com:client1.domain.com,client2.domain.com'), [
      {
        server: 'server.domain.com',
        nodes: ['client1.domain.com', 'client2.domain.com'],
        text: 'server.domain.com:client1.domain.com,client2.domain.com',
      },
    ]);
  });

  test('servers without clients use discovery (empty node list)', () => {
    assert.deepEqual(parseEtrnHosts('server1.domain.com server2.domain.com'), [
      { server: 'server1.domain.com', nodes: [], text: 'server1.domain.com' },
      { server: 'server2.domain.com', nodes: [], text: 'server2.domain.com' },
    ]);
  });

  test('the spec example "s1:c1.1,c1.2 s2:c2.1 s3" mixes both', () => {
    assert.deepEqual(
      parseEtrnHosts('s1:c1.1,c1.2 s2:c2.1 s3').map((g) => [g.server, g.nodes]),
      [
        ['s1', ['c1.1', 'c1.2']],
        ['s2', ['c2.1']],
        ['s3', []],
      ],
    );
  });
});

describe('parseEtrnHosts: separators and empty specs', () => {
  test('an empty or blank spec gives no groups', () => {
    assert.deepEqual(parseEtrnHosts(''), []);
    assert.deepEqual(parseEtrnHosts('  \t\n  '), []);
  });

  test('groups are separated by any run of spaces, tabs and newlines (as from a multi-line value)', () => {
    assert.deepEqual(
      parseEtrnHosts('\n  a.example:x.example \t\tb.example\r\n\n  c.example:y.example  ').map((g) => g.text),
      ['a.example:x.example', 'b.example', 'c.example:y.example'],
    );
  });
});

describe('parseEtrnHosts: servers', () => {
  test('a server name is normalised: A-labels, no trailing dot', () => {
    const [g] = parseEtrnHosts('Bücher.Example.:c.example');
    assert.equal(g?.server, 'xn--bcher-kva.example');
    assert.equal(g?.text, 'Bücher.Example.:c.example');
    assert.equal(parseEtrnHosts('MX.Example.NET.')[0]?.server, 'MX.Example.NET');
  });

  test('an IPv4 server is kept as is', () => {
    assert.deepEqual(parseEtrnHosts('192.0.2.7:c.example'), [{ server: '192.0.2.7', nodes: ['c.example'], text: '192.0.2.7:c.example' }]);
  });

  test('a bracketed IPv6 server; the ":" after "]" starts the clients', () => {
    assert.deepEqual(parseEtrnHosts('[2001:db8::7]:c1.example,c2.example [::1]'), [
      { server: '2001:db8::7', nodes: ['c1.example', 'c2.example'], text: '[2001:db8::7]:c1.example,c2.example' },
      { server: '::1', nodes: [], text: '[::1]' },
    ]);
  });

  test('an empty server', () => {
    assertRefused(':c1', UsageError, ':c1', /has an empty server/);
    assertRefused('[]:c1', UsageError, '[]:c1', /has an empty server/);
  });

  test('an invalid server name', () => {
    assertRefused('ok.example bad_host.example:c1', InvalidNameError, 'bad_host.example:c1', /server-host label "bad_host"/);
    assertRefused('-x.example', InvalidNameError, '-x.example', /server-host/);
    assertRefused('999.1.2.3:c1', InvalidNameError, '999.1.2.3:c1', /not a valid IPv4 address/);
  });

  test('an invalid server keeps InvalidNameError with the server as input', () => {
    assert.throws(
      () => parseEtrnHosts('bad_host:c1'),
      (error: unknown) => error instanceof InvalidNameError && error.input === 'bad_host' && error.code === 'ERR_INVALID_NAME',
    );
  });

  test('a server cannot carry a port', () => {
    assertRefused('s1.example:2525', UsageError, 's1.example:2525', /looks like a port.*--port/);
    assertRefused('s1.example:2525:c1', UsageError, 's1.example:2525:c1', /more than one ":"/);
    assertRefused('[::1]:25', UsageError, '[::1]:25', /looks like a port/);
  });

  test('an IPv6 server must be in brackets', () => {
    assertRefused('2001:db8::1:c1', UsageError, '2001:db8::1:c1', /IPv6 server goes in brackets/);
    assertRefused('::1', UsageError, '::1', /in brackets/);
  });

  test('broken brackets', () => {
    assertRefused('[::1:c1', UsageError, '[::1:c1', /"\[" without "\]"/);
    assertRefused('[::1]c1', UsageError, '[::1]c1', /text after "\]"/);
    assertRefused('[192.0.2.1]:c1', InvalidNameError, '[192.0.2.1]:c1', /must be an IPv6 address/);
    assertRefused('[mx.example]', InvalidNameError, '[mx.example]', /must be an IPv6 address/);
  });
});

describe('parseEtrnHosts: clients', () => {
  test('@domain and #queue clients are allowed', () => {
    assert.deepEqual(parseEtrnHosts('s:@example.org,#queue1,plain.example')[0]?.nodes, ['@example.org', '#queue1', 'plain.example']);
  });

  test('clients are normalised: A-labels, no trailing dot', () => {
    assert.deepEqual(parseEtrnHosts('s:Bücher.example.,@Bücher.example')[0]?.nodes, ['xn--bcher-kva.example', '@xn--bcher-kva.example']);
  });

  test('duplicate clients are removed case-insensitively, keeping the first, in order', () => {
    assert.deepEqual(parseEtrnHosts('s:b.example,A.example,B.EXAMPLE,a.example.,c.example')[0]?.nodes, [
      'b.example',
      'A.example',
      'c.example',
    ]);
  });

  test('duplicates are removed within a group only', () => {
    assert.deepEqual(
      parseEtrnHosts('s1:c.example s2:c.example,C.example').map((g) => g.nodes),
      [['c.example'], ['c.example']],
    );
  });

  test('an empty client list after ":"', () => {
    assertRefused('s1:', UsageError, 's1:', /^ETRN_HOSTS group "s1:" has an empty client list$/);
    assertRefused('[::1]:', UsageError, '[::1]:', /has an empty client list/);
  });

  test('an empty client name: two commas, or a comma at either end', () => {
    assertRefused('a:b,,c', UsageError, 'a:b,,c', /has an empty client name/);
    assertRefused('a:b,', UsageError, 'a:b,', /has an empty client name/);
    assertRefused('a:,b', UsageError, 'a:,b', /has an empty client name/);
    assertRefused('a:,', UsageError, 'a:,', /has an empty client name/);
  });

  test('an invalid client name is InvalidNameError naming the client and the group', () => {
    assert.throws(
      () => parseEtrnHosts('s1:good.example s2:ok.example,c!.example'),
      (error: unknown) => {
        assert.ok(error instanceof InvalidNameError);
        assert.equal(error.input, 'c!.example');
        assert.equal(
          error.message,
          'invalid name "c!.example": client-host label "c!" must be letters, digits and inner hyphens (in ETRN_HOSTS group "s2:ok.example,c!.example")',
        );
        return true;
      },
    );
  });

  test('invalid @domain, #queue and control characters', () => {
    assertRefused('s:@', InvalidNameError, 's:@', /empty/);
    assertRefused('s:#', InvalidNameError, 's:#', /queue name is empty/);
    assertRefused('s:#a/b', InvalidNameError, 's:#a/b', /queue name/);
    assertRefused('s:a\u0000b', InvalidNameError, 's:a\u0000b', /NUL/);
    assertRefused('s:a\u0007b', InvalidNameError, 's:a\u0007b', /control character/);
  });
});

describe('parseEtrnHosts: limits', () => {
  test(`MAX_GROUPS is 1000 and MAX_NODES_PER_GROUP is 1000`, () => {
    assert.equal(MAX_GROUPS, 1000);
    assert.equal(MAX_NODES_PER_GROUP, 1000);
  });

  test('exactly MAX_GROUPS groups are accepted; one more is refused', () => {
    const groups = Array.from({ length: MAX_GROUPS }, (_, i) => `s${i}.example`);
    assert.equal(parseEtrnHosts(groups.join(' ')).length, MAX_GROUPS);
    assert.throws(
      () => parseEtrnHosts([...groups, 'one-more.example'].join(' ')),
      (error: unknown) => error instanceof UsageError && /1001 groups; at most 1000/.test(error.message),
    );
  });

  test('exactly MAX_NODES_PER_GROUP clients are accepted; one more is refused', () => {
    const clients = Array.from({ length: MAX_NODES_PER_GROUP }, (_, i) => `c${i}.example`);
    assert.equal(parseEtrnHosts(`s:${clients.join(',')}`)[0]?.nodes.length, MAX_NODES_PER_GROUP);
    assertRefused(`s:${clients.join(',')},x.example`, UsageError, `s:${clients.join(',')},x.example`, /1001 clients; at most 1000/);
  });
});

describe('parseEtrnHosts: properties', () => {
  const label = fc.stringMatching(/^[a-z][a-z0-9-]{0,8}[a-z0-9]$/);
  const domain = fc.array(label, { minLength: 1, maxLength: 3 }).map((ls) => `${ls.join('.')}.example`);
  const group = fc.record({ server: domain, clients: fc.array(domain, { maxLength: 5 }) });

  test('well-formed groups come back as written, in order', () => {
    fc.assert(
      fc.property(fc.array(group, { maxLength: 6 }), (groups) => {
        const spec = groups.map((g) => (g.clients.length ? `${g.server}:${g.clients.join(',')}` : g.server)).join(' ');
        const got = parseEtrnHosts(spec);
        assert.deepEqual(
          got.map((g) => g.server),
          groups.map((g) => g.server),
        );
        got.forEach((g, i) => assert.deepEqual(g.nodes, [...new Set(groups[i]!.clients)]));
      }),
    );
  });

  test('any text either parses or throws an EtrnError, never anything else', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', 'b', '.', ':', ',', ' ', '[', ']', '@', '#', '1', '-', '\u00fc', '\n') }), (spec) => {
        try {
          for (const g of parseEtrnHosts(spec)) {
            assert.ok(g.server !== '');
            assert.ok(!/\s/.test(g.text));
          }
        } catch (error) {
          assert.ok(error instanceof EtrnError, String(error));
          assert.ok(error.code === 'ERR_USAGE' || error.code === 'ERR_INVALID_NAME', error.code);
        }
      }),
    );
  });
});
