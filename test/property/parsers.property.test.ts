// Properties of the configuration parsers (src/config/): sendmail.cf class w
// and class files never throw on any text and never yield a word with white
// space in it; ETRN_HOSTS and shell assignment files either parse into safe
// names or refuse with the project's own error classes.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isIPv4, isIPv6 } from 'node:net';
import fc from 'fast-check';
import { ConfigError, InvalidNameError, UsageError } from '../../src/errors.js';
import { parseClassFile, parseSendmailCf } from '../../src/config/sendmail-cf.js';
import { parseEtrnHosts } from '../../src/config/etrn-hosts.js';
import { parseShellAssignments } from '../../src/config/shell-assign.js';
import { CONTROL_OR_SPACE, cfLike, isLdhName, nameLike } from './arbitraries.js';

const RUNS = { numRuns: 2000 };
const anyText = fc.oneof(cfLike, fc.string({ unit: 'binary', maxLength: 300 }), fc.string({ unit: 'grapheme', maxLength: 100 }));
const lineCount = (text: string): number => text.split(/\r?\n/).length;

describe('parseSendmailCf', () => {
  test('never throws; words and class file paths carry no white space; lines are in range', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const cf = parseSendmailCf(text, 'sendmail.cf');
        const lines = lineCount(text);
        for (const entry of cf.entries) {
          assert.ok(entry.line >= 1 && entry.line <= lines, `line ${entry.line} of ${lines}`);
          if ('word' in entry) {
            assert.notEqual(entry.word, '');
            assert.doesNotMatch(entry.word, /\s/, `word ${JSON.stringify(entry.word)}`);
            assert.ok(!entry.word.includes('$'), 'macros are not taken as words');
            assert.equal(entry.file, 'sendmail.cf');
          } else {
            assert.match(entry.path, /^\//, 'class files are absolute paths');
            assert.doesNotMatch(entry.path, /\s/, `path ${JSON.stringify(entry.path)}`);
            assert.ok(!entry.path.includes('$') && !entry.path.startsWith('|'));
          }
        }
        for (const w of cf.warnings) {
          assert.ok(w.line >= 1 && w.line <= lines);
          assert.equal(w.file, 'sendmail.cf');
        }
      }),
      RUNS,
    );
  });

  test('only class w is read: the same text with every w renamed gives no entries', () => {
    fc.assert(
      fc.property(cfLike, (text) => {
        const renamed = text.replace(/([CF])w/g, '$1X').replace(/([CF])\{w\}/g, '$1{X}');
        assert.deepEqual(parseSendmailCf(renamed, 'f').entries, []);
      }),
      RUNS,
    );
  });

  test('a Cw line of valid names gives exactly those names, in order', () => {
    const names = fc.array(fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?(\.[a-z0-9]{1,10}){0,3}$/), { minLength: 1, maxLength: 8 });
    fc.assert(
      fc.property(names, fc.constantFrom('Cw', 'C{w}', 'Cw ', 'C{w}\t'), fc.constantFrom(' ', '\t', '  '), (words, head, sep) => {
        const cf = parseSendmailCf(`# comment\n${head}${words.join(sep)} # trailing comment\n`, 'f');
        assert.deepEqual(cf.entries.map((e) => ('word' in e ? e.word : null)), words);
      }),
    );
  });
});

describe('parseClassFile', () => {
  test('never throws; words carry no white space and no "#"; lines are in range', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const words = parseClassFile(text, '/etc/mail/local-host-names');
        const lines = lineCount(text);
        for (const w of words) {
          assert.notEqual(w.word, '');
          assert.doesNotMatch(w.word, /\s/, `word ${JSON.stringify(w.word)}`);
          assert.ok(!w.word.includes('#'), 'comments are cut');
          assert.ok(w.line >= 1 && w.line <= lines);
          assert.equal(w.file, '/etc/mail/local-host-names');
        }
      }),
      RUNS,
    );
  });

  test('a CR, LF or CRLF between two names always separates them', () => {
    fc.assert(
      fc.property(fc.constantFrom('\r\n', '\n', '\r', ' \r\n', '\t\n'), (sep) => {
        const words = parseClassFile(`a.example${sep}QUIT${sep}`, 'f').map((w) => w.word);
        assert.deepEqual(words, ['a.example', 'QUIT']);
      }),
    );
  });
});

describe('parseEtrnHosts', () => {
  const specLike = fc
    .array(
      fc.oneof(
        nameLike,
        fc.constantFrom(':', ',', ' ', '\t', '\n', '[::1]', '[', ']', 'mx.example', 'a.example', '@b.example', '#q'),
      ),
      { maxLength: 20 },
    )
    .map((parts) => parts.join(''));

  test('gives safe servers and nodes, or throws UsageError / InvalidNameError naming a group', () => {
    fc.assert(
      fc.property(specLike, (spec) => {
        let groups;
        try {
          groups = parseEtrnHosts(spec);
        } catch (error) {
          assert.ok(error instanceof UsageError || error instanceof InvalidNameError, `threw ${String(error)}`);
          return;
        }
        for (const g of groups) {
          assert.ok(isIPv4(g.server) || isIPv6(g.server) || isLdhName(g.server), `server ${JSON.stringify(g.server)}`);
          for (const n of g.nodes) {
            assert.doesNotMatch(n, CONTROL_OR_SPACE);
            assert.ok(n.startsWith('#') || isLdhName(n.replace(/^@/, '')), `node ${JSON.stringify(n)}`);
          }
          assert.ok(spec.includes(g.text), 'text is the group as written');
        }
      }),
      RUNS,
    );
  });
});

describe('parseShellAssignments', () => {
  const shellLike = fc
    .array(
      fc.oneof(
        fc.constantFrom('ETRN_HOSTS=', 'export ', 'X=', '$X', '${X}', '${X:-y}', '$(', ')', '`', "'", '"', '\\', ';', '#', '\n', '\r\n', ' ', '\t', 'unset X', 'echo hi', '$1', '$$', '\ufeff'),
        nameLike,
      ),
      { maxLength: 30 },
    )
    .map((parts) => parts.join(''));

  test('never throws anything but ConfigError; values and lines are sane', () => {
    fc.assert(
      fc.property(shellLike, (text) => {
        let parsed;
        try {
          parsed = parseShellAssignments(text, '/etc/default/sendmail');
        } catch (error) {
          assert.ok(error instanceof ConfigError, `threw ${String(error)}`);
          assert.match(error.message, /^\/etc\/default\/sendmail:\d+: /, 'names the file and line');
          return;
        }
        for (const [name, v] of parsed.vars) {
          assert.match(name, /^[A-Za-z_][A-Za-z0-9_]*$/);
          assert.equal(typeof v.value, 'string');
          assert.ok(v.line >= 1 && v.line <= lineCount(text), `line ${v.line}`);
        }
      }),
      RUNS,
    );
  });
});
