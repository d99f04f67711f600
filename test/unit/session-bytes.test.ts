// The ETRN session fed raw bytes (src/protocol/session.ts, receiveData):
// its own reply parser, the rule that a reply may only answer a command that
// was written, plaintext behind the 220 to STARTTLS (CVE-2011-0411), and
// "sent" meaning written. Byte by byte and at every split; no sockets.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EtrnSession, type SessionAction, type SessionOptions } from '../../src/protocol/session.js';

function session(nodes: string[] = ['a.example', 'b.example'], extra: Partial<SessionOptions> = {}): EtrnSession {
  return new EtrnSession({ heloName: 'client.example', nodes, ...extra });
}

/** Plays the transport: feeds each server turn in `chunks`, writes every line at once; returns the lines written. */
function converse(s: EtrnSession, turns: readonly string[], split: (text: string) => string[]): string[] {
  const written: string[] = [];
  for (const turn of turns) {
    let action: SessionAction | null = null;
    for (const chunk of split(turn)) {
      assert.equal(action, null, 'a reply completed before its last byte');
      action = s.receiveData(Buffer.from(chunk, 'latin1'));
    }
    assert.ok(action, `no action after ${JSON.stringify(turn)}`);
    if (action.type !== 'send') break;
    written.push(action.line);
    s.written();
  }
  return written;
}

const TURNS = [
  '220 mx.example ESMTP\r\n',
  '250-mx.example\r\n250 ETRN\r\n',
  '250 2.0.0 Queuing for node a.example started\r\n',
  '252 OK, no messages waiting for node b.example\r\n',
];
const EXPECTED = ['EHLO client.example', 'ETRN a.example', 'ETRN b.example', 'QUIT'];

describe('EtrnSession.receiveData: bytes in, actions out', () => {
  test('a whole dialogue fed one byte at a time gives the same commands as whole replies', () => {
    const s = session();
    assert.deepEqual(converse(s, TURNS, (t) => [...t]), EXPECTED);
    assert.equal(s.error, null);
    assert.deepEqual(
      s.nodes.map((n) => [n.node, n.code, n.enhanced, n.sent]),
      [
        ['a.example', 250, '2.0.0', true],
        ['b.example', 252, null, true],
      ],
    );
  });

  test('every two-way split of every reply gives the same commands', () => {
    for (const [i, turn] of TURNS.entries()) {
      for (let cut = 1; cut < turn.length; cut++) {
        const s = session();
        const split = (t: string): string[] => (t === turn ? [t.slice(0, cut), t.slice(cut)] : [t]);
        assert.deepEqual(converse(s, TURNS, split), EXPECTED, `turn ${i}, cut at ${cut}`);
      }
    }
  });

  test('bytes that are not SMTP end the session with a protocol error, not a throw', () => {
    const s = session();
    assert.deepEqual(s.receiveData(Buffer.from('HTTP/1.1 400 Bad Request\r\n')), { type: 'close' });
    assert.equal(s.error?.kind, 'protocol');
    assert.equal(s.error?.phase, 'greeting');
  });

  test('a multi-line ETRN reply whose enhanced code is only on its last line gives that code (issue 11 item 8)', () => {
    const s = session(['a.example']);
    converse(s, [TURNS[0]!, TURNS[1]!, '250-Queuing for node\r\n250 2.0.0 a.example started\r\n'], (t) => [t]);
    assert.equal(s.nodes[0]?.enhanced, '2.0.0');
    assert.equal(s.nodes[0]?.text, 'Queuing for node a.example started');
  });
});

describe('EtrnSession.receiveData: replies that answer nothing written', () => {
  test('a reply that arrives before its command was written is a protocol error', () => {
    const s = session();
    const ehlo = s.receiveData(Buffer.from('220 mx.example\r\n'));
    assert.equal(ehlo?.type, 'send');
    // EHLO not written yet: the server cannot be answering it.
    assert.deepEqual(s.receiveData(Buffer.from('250 mx.example\r\n')), { type: 'close' });
    assert.equal(s.error?.kind, 'protocol');
    assert.match(s.error?.message ?? '', /no command was outstanding/);
  });

  test('two replies in one chunk (the second ahead of its command) are a protocol error', () => {
    const s = session();
    assert.deepEqual(s.receiveData(Buffer.from('220 mx.example\r\n250 mx.example\r\n')), { type: 'close' });
    assert.equal(s.error?.kind, 'protocol');
    assert.match(s.error?.message ?? '', /before the command it answers/);
  });

  test('part of a reply queued behind the greeting counts too', () => {
    const s = session();
    assert.deepEqual(s.receiveData(Buffer.from('220 mx.example\r\n25')), { type: 'close' });
    assert.equal(s.error?.kind, 'protocol');
  });

  test('plaintext after the 220 to STARTTLS is refused before the handshake (CVE-2011-0411)', () => {
    const s = session(['a.example']);
    converse(s, ['220 mx.example\r\n'], (t) => [t]);
    assert.equal(s.receiveData(Buffer.from('250-mx.example\r\n250-STARTTLS\r\n250 ETRN\r\n'))?.type, 'send');
    s.written(); // STARTTLS
    const injected = '220 2.0.0 Ready to start TLS\r\n250-mx.example\r\n250 ETRN\r\n';
    for (let cut = 0; cut <= 1; cut++) {
      const t = session(['a.example']);
      converse(t, ['220 mx.example\r\n', '250-mx.example\r\n250-STARTTLS\r\n250 ETRN\r\n'], (x) => [x]);
      const action = cut === 0 ? t.receiveData(Buffer.from(injected)) : t.receiveData(Buffer.from('220 Ready\r\nE'));
      assert.deepEqual(action, { type: 'close' }, 'no TLS handshake may start');
      assert.equal(t.error?.kind, 'protocol');
      assert.match(t.error?.message ?? '', /after its 220 to STARTTLS.*injection/);
    }
    assert.deepEqual(s.receiveData(Buffer.from('220 2.0.0 Ready to start TLS\r\n')), { type: 'starttls' });
    assert.equal(s.error, null);
  });

  test('bytes during the TLS handshake are unsolicited', () => {
    const s = session(['a.example']);
    converse(s, ['220 mx.example\r\n', '250-mx.example\r\n250-STARTTLS\r\n250 ETRN\r\n'], (t) => [t]);
    assert.deepEqual(s.receiveData(Buffer.from('220 go ahead\r\n')), { type: 'starttls' });
    assert.deepEqual(s.receiveData(Buffer.from('250 early\r\n')), { type: 'close' });
    assert.equal(s.error?.kind, 'protocol');
  });
});

describe('EtrnSession: "sent" means written (issue 11 item 8)', () => {
  test('an ETRN that waits for --delay and is interrupted was not sent', () => {
    const s = session(['a.example', 'b.example'], { delayMs: 5000 });
    converse(s, TURNS.slice(0, 2), (t) => [t]);
    const next = s.receiveData(Buffer.from('250 ok\r\n'));
    assert.deepEqual(next, { type: 'send', line: 'ETRN b.example', delayMs: 5000 });
    // The pause is cut short: the transport never writes the line.
    s.fail('interrupted', 'interrupted');
    assert.deepEqual(
      s.nodes.map((n) => [n.node, n.sent, n.code]),
      [
        ['a.example', true, 250],
        ['b.example', false, undefined],
      ],
    );
  });

  test('an ETRN written and never answered was sent', () => {
    const s = session(['a.example', 'b.example']);
    converse(s, TURNS.slice(0, 3), (t) => [t]);
    s.fail('timeout', 'no reply');
    assert.deepEqual(
      s.nodes.map((n) => n.sent),
      [true, true],
    );
    assert.equal(s.nodes[1]?.code, undefined);
    assert.equal(s.error?.phase, 'etrn');
  });
});
