// Properties of name validation (src/names/) and of the command builders
// (src/protocol/commands.ts), the two gates between user input and the wire:
// for any string, validators either return a name that obeys the LDH, "@"
// and "#" rules and carries no control or space, or refuse with an
// InvalidNameError that names the input; builders either return exactly one
// safe line or throw LocalProtocolError.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isIPv4, isIPv6 } from 'node:net';
import fc from 'fast-check';
import { InvalidNameError, LocalProtocolError, quote } from '../../src/errors.js';
import { normalizeDomain, normalizeNode, normalizeNodes } from '../../src/names/node.js';
import { parseServer } from '../../src/names/server.js';
import * as commands from '../../src/protocol/commands.js';
import { EtrnSession } from '../../src/protocol/session.js';
import { CONTROL_OR_SPACE, isLdhName, nameLike, serverLike } from './arbitraries.js';

const RUNS = { numRuns: 2000 };

/** Calls `fn`; a throw must be an InvalidNameError about `input`, naming it JSON-quoted. */
function acceptOrRefuse<T>(input: string, fn: (s: string) => T): T | null {
  try {
    return fn(input);
  } catch (error) {
    if (!(error instanceof InvalidNameError)) throw new Error(`threw ${String(error)} for ${JSON.stringify(input)}`);
    return null;
  }
}

function refusal(input: string, fn: (s: string) => unknown): InvalidNameError | null {
  try {
    fn(input);
    return null;
  } catch (error) {
    if (error instanceof InvalidNameError) return error;
    throw error;
  }
}

describe('normalizeDomain', () => {
  test('accepts only LDH names without controls or spaces, or throws InvalidNameError', () => {
    fc.assert(
      fc.property(nameLike, (input) => {
        const name = acceptOrRefuse(input, (s) => normalizeDomain(s));
        if (name === null) return;
        assert.doesNotMatch(name, CONTROL_OR_SPACE);
        assert.ok(isLdhName(name), `accepted ${JSON.stringify(input)} as ${JSON.stringify(name)}`);
      }),
      RUNS,
    );
  });

  test('is idempotent on what it accepts', () => {
    fc.assert(
      fc.property(nameLike, (input) => {
        const name = acceptOrRefuse(input, (s) => normalizeDomain(s));
        if (name !== null) assert.equal(normalizeDomain(name), name);
      }),
      RUNS,
    );
  });

  test('every refusal names the input, JSON-quoted', () => {
    fc.assert(
      fc.property(nameLike, (input) => {
        const error = refusal(input, (s) => normalizeDomain(s));
        if (error === null) return;
        assert.equal(error.input, input);
        assert.ok(error.message.includes(quote(input)), error.message);
      }),
      RUNS,
    );
  });
});

describe('normalizeNode', () => {
  const nodeLike = fc.oneof(nameLike, nameLike.map((s) => `@${s}`), nameLike.map((s) => `#${s}`));

  test('accepts a domain, @domain or #queue without controls or spaces, or throws InvalidNameError', () => {
    fc.assert(
      fc.property(nodeLike, (input) => {
        const node = acceptOrRefuse(input, normalizeNode);
        if (node === null) return;
        assert.doesNotMatch(node, CONTROL_OR_SPACE);
        if (node.startsWith('#')) assert.match(node, /^#[A-Za-z0-9._-]{1,253}$/);
        else if (node.startsWith('@')) assert.ok(isLdhName(node.slice(1)), node);
        else assert.ok(isLdhName(node), node);
      }),
      RUNS,
    );
  });

  test('every refusal names the whole argument, JSON-quoted ("@" and "#" included)', () => {
    fc.assert(
      fc.property(nodeLike, (input) => {
        const error = refusal(input, normalizeNode);
        if (error === null) return;
        assert.equal(error.input, input);
        assert.ok(error.message.includes(quote(input)), error.message);
      }),
      RUNS,
    );
  });

  test('normalizeNodes keeps order and drops case-insensitive duplicates', () => {
    const valid = fc.array(fc.constantFrom('a.example', 'A.EXAMPLE', 'b.example.', '@c.example', '@C.Example', '#q1', '#Q1', 'xn--bcher-kva.example', 'bücher.example'), { maxLength: 12 });
    fc.assert(
      fc.property(valid, (inputs) => {
        const nodes = normalizeNodes(inputs);
        const keys = nodes.map((n) => n.toLowerCase());
        assert.equal(new Set(keys).size, keys.length);
        const expected: string[] = [];
        for (const i of inputs) {
          const n = normalizeNode(i);
          if (!expected.some((e) => e.toLowerCase() === n.toLowerCase())) expected.push(n);
        }
        assert.deepEqual(nodes, expected);
      }),
    );
  });
});

describe('parseServer', () => {
  test('gives an IPv4, IPv6 or LDH host and a port from 1 to 65535, or throws InvalidNameError', () => {
    fc.assert(
      fc.property(serverLike, (input) => {
        const server = acceptOrRefuse(input, parseServer);
        if (server === null) return;
        assert.doesNotMatch(server.host, CONTROL_OR_SPACE);
        assert.ok(isIPv4(server.host) || isIPv6(server.host) || isLdhName(server.host), `host ${JSON.stringify(server.host)} from ${JSON.stringify(input)}`);
        if (server.port !== undefined) assert.ok(Number.isInteger(server.port) && server.port >= 1 && server.port <= 65535);
      }),
      RUNS,
    );
  });

  test('every refusal names the whole server-host argument, JSON-quoted', () => {
    fc.assert(
      fc.property(serverLike, (input) => {
        const error = refusal(input, parseServer);
        if (error === null) return;
        assert.ok(error.message.includes(quote(input)), `${JSON.stringify(input)} refused with: ${error.message}`);
      }),
      RUNS,
    );
  });
});

describe('command builders', () => {
  const builders = [
    ['EHLO', commands.ehlo],
    ['HELO', commands.helo],
    ['ETRN', commands.etrnCommand],
  ] as const;

  for (const [verb, build] of builders) {
    test(`${verb}: one line "${verb} <argument>" without CR, LF, NUL or controls, or LocalProtocolError naming the argument`, () => {
      fc.assert(
        fc.property(fc.oneof(nameLike, fc.string({ unit: 'binary', maxLength: 600 })), (arg) => {
          let line: string;
          try {
            line = build(arg);
          } catch (error) {
            assert.ok(error instanceof LocalProtocolError, `threw ${String(error)}`);
            assert.ok(error.message.includes(quote(arg)), error.message);
            return;
          }
          assert.equal(line, `${verb} ${arg}`);
          assert.doesNotMatch(line.slice(verb.length + 1), CONTROL_OR_SPACE);
          assert.ok(!/[\r\n\u0000]/.test(line));
          assert.ok(line.length <= 510, 'fits an SMTP command line');
        }),
        RUNS,
      );
    });
  }

  test('whatever normalizeNode accepts, the ETRN builder sends (the two gates agree)', () => {
    fc.assert(
      fc.property(fc.oneof(nameLike, nameLike.map((s) => `@${s}`), nameLike.map((s) => `#${s}`)), (input) => {
        const node = acceptOrRefuse(input, normalizeNode);
        if (node !== null) assert.equal(commands.etrnCommand(node), `ETRN ${node}`);
      }),
      RUNS,
    );
  });

  test('whatever normalizeDomain accepts as an EHLO name, the EHLO and HELO builders send', () => {
    fc.assert(
      fc.property(nameLike, (input) => {
        const name = acceptOrRefuse(input, (s) => normalizeDomain(s, 'EHLO name'));
        if (name === null) return;
        assert.equal(commands.ehlo(name), `EHLO ${name}`);
        assert.equal(commands.helo(name), `HELO ${name}`);
      }),
      RUNS,
    );
  });

  test('an EtrnSession takes safe names and refuses any unsafe EHLO name or node with LocalProtocolError', () => {
    fc.assert(
      fc.property(nameLike, fc.array(nameLike, { minLength: 1, maxLength: 4 }), (heloName, nodes) => {
        const unsafe = [heloName, ...nodes].some((s) => CONTROL_OR_SPACE.test(s) || s === '' || s.length > 500);
        let thrown: unknown = null;
        try {
          new EtrnSession({ heloName, nodes });
        } catch (error) {
          thrown = error;
        }
        if (thrown === null) assert.ok(!unsafe, 'an unsafe name was taken');
        else {
          assert.ok(thrown instanceof LocalProtocolError, `threw ${String(thrown)}`);
          assert.ok(unsafe, thrown.message);
        }
      }),
      RUNS,
    );
  });
});
