// Unit tests for the ETRN session state machine (src/protocol/session.ts):
// replies go in, actions come out; no sockets, no timers.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalProtocolError } from '../../src/errors.js';
import type { Reply } from '../../src/protocol/reply.js';
import { EtrnSession, type SessionAction, type SessionOptions } from '../../src/protocol/session.js';

/** A reply with the given code and lines (no enhanced code). */
function r(code: number, ...lines: string[]): Reply {
  return { code, enhanced: null, lines: lines.length > 0 ? lines : [''] };
}

const send = (line: string, delayMs = 0): SessionAction => ({ type: 'send', line, delayMs });
const close: SessionAction = { type: 'close' };

const GREETING = r(220, 'mx.example ESMTP');
const EHLO_WITH_ETRN = r(250, 'mx.example Hello', 'PIPELINING', 'ETRN', 'SIZE 10240000');
const EHLO_WITHOUT_ETRN = r(250, 'mx.example Hello', 'PIPELINING', 'SIZE 10240000');

function session(nodes: string[] = ['a.example', 'b.example'], extra: Partial<SessionOptions> = {}): EtrnSession {
  return new EtrnSession({ heloName: 'client.example', nodes, ...extra });
}

/** Feeds the replies in order and returns the action after each. */
function feed(s: EtrnSession, ...replies: Reply[]): SessionAction[] {
  return replies.map((reply) => s.receive(reply));
}

/** A session that has been greeted and has sent its first ETRN. */
function atFirstEtrn(nodes: string[], extra: Partial<SessionOptions> = {}): EtrnSession {
  const s = session(nodes, extra);
  feed(s, GREETING, EHLO_WITH_ETRN);
  assert.equal(s.state, 'etrn');
  return s;
}

describe('EtrnSession: the normal dialogue', () => {
  test('a session sends EHLO, one ETRN per node in order, then QUIT', () => {
    const s = session(['a.example', '@b.example', '#q1']);
    const actions = feed(
      s,
      GREETING,
      EHLO_WITH_ETRN,
      r(250, 'Queuing for node a.example started'),
      r(251, 'Already started'),
      r(252, 'OK, no messages waiting'),
    );
    assert.deepEqual(actions, [
      send('EHLO client.example'),
      send('ETRN a.example'),
      send('ETRN @b.example'),
      send('ETRN #q1'),
      send('QUIT'),
    ]);
    assert.equal(s.state, 'quit');
    assert.equal(s.error, null);
    assert.equal(s.etrnAdvertised, true);
    assert.equal(s.awaitingReply, false);
  });

  test('every node of a successful session is recorded with its reply', () => {
    const s = session(['a.example', 'b.example']);
    feed(s, GREETING, EHLO_WITH_ETRN);
    s.receive({ code: 250, enhanced: '2.0.0', lines: ['Queuing for node a.example started'] });
    s.receive(r(253, 'OK, 3 pending messages for node b.example started'));
    assert.deepEqual(s.nodes, [
      { node: 'a.example', code: 250, enhanced: '2.0.0', text: 'Queuing for node a.example started', ok: true, sent: true },
      { node: 'b.example', code: 253, enhanced: null, text: 'OK, 3 pending messages for node b.example started', ok: true, sent: true },
    ]);
  });

  test('the states go greeting, ehlo, etrn, quit', () => {
    const s = session(['a.example']);
    assert.equal(s.state, 'greeting');
    assert.equal(s.awaitingReply, true);
    s.receive(GREETING);
    assert.equal(s.state, 'ehlo');
    s.receive(EHLO_WITH_ETRN);
    assert.equal(s.state, 'etrn');
    s.receive(r(250, 'ok'));
    assert.equal(s.state, 'quit');
  });

  test('before any reply, every node is listed as not accepted and without a code', () => {
    const s = session(['a.example', 'b.example']);
    assert.deepEqual(s.nodes, [
      { node: 'a.example', ok: false, sent: false },
      { node: 'b.example', ok: false, sent: false },
    ]);
    assert.equal(s.etrnAdvertised, null);
    assert.equal(s.serverCapabilities, null);
  });

  test('the capabilities of the EHLO reply are kept', () => {
    const s = session(['a.example']);
    feed(s, GREETING, EHLO_WITH_ETRN);
    assert.equal(s.serverCapabilities?.has('ETRN'), true);
    assert.deepEqual(s.serverCapabilities?.params('SIZE'), ['10240000']);
  });

  test('ETRN advertised in lower case counts as advertised', () => {
    const s = session(['a.example']);
    const actions = feed(s, GREETING, r(250, 'mx.example', 'etrn'));
    assert.deepEqual(actions[1], send('ETRN a.example'));
    assert.equal(s.etrnAdvertised, true);
  });

  test('a word ETRN in the greeting line of the EHLO reply does not count as advertised', () => {
    const s = session(['a.example']);
    feed(s, GREETING, r(250, 'ETRN', 'PIPELINING'));
    assert.equal(s.etrnAdvertised, false);
    assert.equal(s.error?.kind, 'unavailable');
  });

  test('a reply after QUIT was sent is refused as a caller error', () => {
    const s = session(['a.example']);
    feed(s, GREETING, EHLO_WITH_ETRN, r(250, 'ok'));
    assert.throws(() => s.receive(r(221, 'bye')), LocalProtocolError);
  });

  test('a failure after QUIT is no error and closes the session', () => {
    const s = session(['a.example']);
    feed(s, GREETING, EHLO_WITH_ETRN, r(250, 'ok'));
    assert.deepEqual(s.fail('refused', 'connection reset'), close);
    assert.equal(s.error, null);
    assert.equal(s.state, 'done');
    assert.equal(s.nodes[0]?.ok, true);
  });

  test('a failure after the session is done only closes again', () => {
    const s = session(['a.example']);
    s.receive(r(421, 'go away'));
    const error = s.error;
    assert.deepEqual(s.fail('timeout', 'late'), close);
    assert.equal(s.error, error);
  });
});

describe('EtrnSession: ETRN not advertised', () => {
  test('an EHLO reply without ETRN ends the session as unavailable with QUIT', () => {
    const s = session(['a.example', 'b.example']);
    const actions = feed(s, GREETING, EHLO_WITHOUT_ETRN);
    assert.deepEqual(actions[1], send('QUIT'));
    assert.equal(s.error?.kind, 'unavailable');
    assert.match(s.error?.message ?? '', /does not offer ETRN/);
    assert.equal(s.etrnAdvertised, false);
    assert.equal(s.state, 'quit');
    assert.deepEqual(s.nodes, [
      { node: 'a.example', ok: false, sent: false },
      { node: 'b.example', ok: false, sent: false },
    ]);
  });

  test('with force, ETRN is sent although the EHLO reply does not list it', () => {
    const s = session(['a.example'], { force: true });
    const actions = feed(s, GREETING, EHLO_WITHOUT_ETRN, r(250, 'started'));
    assert.deepEqual(actions, [send('EHLO client.example'), send('ETRN a.example'), send('QUIT')]);
    assert.equal(s.etrnAdvertised, false);
    assert.equal(s.error, null);
    assert.equal(s.nodes[0]?.ok, true);
  });

  test('an EHLO refused with 500 is followed by HELO', () => {
    const s = session(['a.example']);
    const actions = feed(s, GREETING, r(500, 'Command unrecognized'));
    assert.deepEqual(actions[1], send('HELO client.example'));
    assert.equal(s.state, 'helo');
    assert.equal(s.error, null);
  });

  for (const code of [502, 550, 554]) {
    test(`an EHLO refused with ${code} is followed by HELO`, () => {
      const s = session(['a.example']);
      assert.deepEqual(feed(s, GREETING, r(code, 'no'))[1], send('HELO client.example'));
    });
  }

  test('a HELO accepted without force ends the session as unavailable with QUIT', () => {
    const s = session(['a.example']);
    const actions = feed(s, GREETING, r(500, 'no EHLO'), r(250, 'mx.example'));
    assert.deepEqual(actions[2], send('QUIT'));
    assert.equal(s.error?.kind, 'unavailable');
    assert.match(s.error?.message ?? '', /ETRN/);
    assert.equal(s.etrnAdvertised, false);
    assert.equal(s.serverCapabilities?.keywords.size, 0);
  });

  test('a HELO accepted with force goes on with ETRN', () => {
    const s = session(['a.example'], { force: true });
    const actions = feed(s, GREETING, r(500, 'no EHLO'), r(250, 'mx.example'), r(250, 'started'));
    assert.deepEqual(actions, [
      send('EHLO client.example'),
      send('HELO client.example'),
      send('ETRN a.example'),
      send('QUIT'),
    ]);
    assert.equal(s.error, null);
    assert.equal(s.etrnAdvertised, false);
  });

  test('a HELO refused with 5xx after EHLO was refused is unavailable, with QUIT', () => {
    const s = session(['a.example']);
    const actions = feed(s, GREETING, r(500, 'no'), r(501, 'no'));
    assert.deepEqual(actions[2], send('QUIT'));
    assert.equal(s.error?.kind, 'unavailable');
  });

  test('a HELO refused with 421 closes without QUIT', () => {
    const s = session(['a.example']);
    const actions = feed(s, GREETING, r(500, 'no'), r(421, 'closing'));
    assert.deepEqual(actions[2], close);
    assert.equal(s.error?.kind, 'refused');
    assert.equal(s.state, 'done');
  });

  test('an EHLO answered with 421 is refused and the connection closed without QUIT', () => {
    const s = session(['a.example']);
    const actions = feed(s, GREETING, r(421, 'mx.example closing'));
    assert.deepEqual(actions[1], close);
    assert.equal(s.error?.kind, 'refused');
    assert.equal(s.error?.reply?.code, 421);
    assert.equal(s.state, 'done');
    assert.equal(s.error?.phase, 'ehlo');
  });

  test('an EHLO answered with a 3xx code is a protocol error', () => {
    const s = session(['a.example']);
    assert.deepEqual(feed(s, GREETING, r(354, 'what'))[1], close);
    assert.equal(s.error?.kind, 'protocol');
  });
});

describe('EtrnSession: the greeting', () => {
  test('a 554 greeting is unavailable and answered with QUIT', () => {
    const s = session(['a.example']);
    assert.deepEqual(s.receive(r(554, 'No SMTP service here')), send('QUIT'));
    assert.equal(s.error?.kind, 'unavailable');
    assert.equal(s.error?.reply?.code, 554);
    assert.match(s.error?.message ?? '', /554/);
    assert.equal(s.error?.phase, 'greeting');
    assert.deepEqual(s.nodes, [{ node: 'a.example', ok: false, sent: false }]);
  });

  test('a 421 greeting is refused and the connection closed without QUIT', () => {
    const s = session(['a.example']);
    assert.deepEqual(s.receive(r(421, 'Service not available')), close);
    assert.equal(s.error?.kind, 'refused');
    assert.equal(s.state, 'done');
    assert.equal(s.awaitingReply, false);
  });

  test('another 4xx greeting is refused', () => {
    const s = session(['a.example']);
    s.receive(r(450, 'busy'));
    assert.equal(s.error?.kind, 'refused');
  });

  for (const code of [250, 221, 354]) {
    test(`a ${code} greeting is a protocol error and closes the connection`, () => {
      const s = session(['a.example']);
      assert.deepEqual(s.receive(r(code, 'odd')), close);
      assert.equal(s.error?.kind, 'protocol');
      assert.equal(s.state, 'done');
    });
  }
});

describe('EtrnSession: ETRN replies', () => {
  for (const code of [250, 251, 252, 253]) {
    test(`an ETRN reply of ${code} accepts the node`, () => {
      const s = atFirstEtrn(['a.example', 'b.example']);
      assert.deepEqual(s.receive(r(code, 'fine')), send('ETRN b.example'));
      assert.deepEqual(s.nodes[0], { node: 'a.example', code, enhanced: null, text: 'fine', ok: true, sent: true });
    });
  }

  for (const code of [458, 459, 500, 501, 502, 504, 550]) {
    test(`an ETRN reply of ${code} refuses the node and the next node is still sent`, () => {
      const s = atFirstEtrn(['a.example', 'b.example']);
      assert.deepEqual(s.receive(r(code, 'not for you')), send('ETRN b.example'));
      assert.deepEqual(s.receive(r(250, 'ok')), send('QUIT'));
      assert.deepEqual(s.nodes[0], { node: 'a.example', code, enhanced: null, text: 'not for you', ok: false, sent: true });
      assert.equal(s.nodes[1]?.ok, true);
      assert.equal(s.error, null);
    });
  }

  test('a 421 to the second ETRN closes the session and leaves later nodes unanswered', () => {
    const s = atFirstEtrn(['a.example', 'b.example', 'c.example', 'd.example']);
    assert.deepEqual(s.receive(r(250, 'ok')), send('ETRN b.example'));
    assert.deepEqual(s.receive(r(421, 'shutting down')), close);
    assert.equal(s.state, 'done');
    assert.equal(s.error?.kind, 'refused');
    assert.equal(s.error?.phase, 'etrn');
    const nodes = s.nodes;
    assert.equal(nodes[1]?.node, 'b.example');
    assert.equal(nodes[1]?.sent, true);
    assert.equal(nodes[0]?.ok, true);
    assert.equal(nodes[0]?.code, 250);
    assert.equal(nodes[1]?.code, 421);
    assert.equal(nodes[1]?.ok, false);
    assert.deepEqual(nodes[2], { node: 'c.example', ok: false, sent: false });
    assert.deepEqual(nodes[3], { node: 'd.example', ok: false, sent: false });
    assert.ok(!('code' in nodes[2]!));
  });

  for (const code of [300, 354]) {
    test(`a ${code} reply to ETRN is a protocol error`, () => {
      const s = atFirstEtrn(['a.example', 'b.example']);
      assert.deepEqual(s.receive(r(code, 'go ahead')), close);
      assert.equal(s.error?.kind, 'protocol');
      assert.equal(s.state, 'done');
      assert.ok(!('code' in s.nodes[0]!));
      assert.equal(s.nodes[0]?.ok, false);
    });
  }

  test('the text of a multi-line ETRN reply is joined', () => {
    const s = atFirstEtrn(['a.example']);
    s.receive(r(250, 'Queuing for node', 'a.example started'));
    assert.equal(s.nodes[0]?.text, 'Queuing for node a.example started');
  });
});

describe('EtrnSession: failures from the transport', () => {
  test('a timeout in the middle of the session leaves unanswered nodes without a code', () => {
    const s = atFirstEtrn(['a.example', 'b.example', 'c.example']);
    s.receive(r(250, 'ok'));
    s.written(); // ETRN b.example
    assert.deepEqual(s.fail('timeout', 'no reply within 30 s'), close);
    assert.equal(s.state, 'done');
    assert.equal(s.error?.kind, 'timeout');
    assert.equal(s.error?.message, 'no reply within 30 s');
    assert.equal(s.error?.reply, null);
    assert.equal(s.error?.phase, 'etrn');
    assert.deepEqual(s.nodes, [
      { node: 'a.example', code: 250, enhanced: null, text: 'ok', ok: true, sent: true },
      { node: 'b.example', ok: false, sent: true },
      { node: 'c.example', ok: false, sent: false },
    ]);
  });

  test('a failure while waiting for the greeting names that phase', () => {
    const s = session(['a.example']);
    s.fail('timeout', 'no greeting');
    assert.equal(s.error?.phase, 'greeting');
  });

  test('a failure while waiting for the EHLO reply names that phase', () => {
    const s = session(['a.example']);
    s.receive(GREETING);
    s.fail('protocol', 'not SMTP');
    assert.equal(s.error?.kind, 'protocol');
    assert.equal(s.error?.phase, 'ehlo');
  });

  test('phase is etrn, and the node whose ETRN reply is awaited is the last one sent', () => {
    const s = atFirstEtrn(['a.example', 'b.example']);
    s.written();
    assert.equal(s.phase, 'etrn');
    assert.deepEqual(s.nodes.map((n) => n.sent), [true, false]);
    s.receive(r(250, 'ok'));
    s.written();
    assert.equal(s.phase, 'etrn');
    assert.deepEqual(s.nodes.map((n) => n.sent), [true, true]);
  });
});

describe('EtrnSession: options', () => {
  test('delayMs applies only to the ETRN commands after the first', () => {
    const s = session(['a.example', 'b.example', 'c.example'], { delayMs: 1500 });
    const actions = feed(s, GREETING, EHLO_WITH_ETRN, r(250, 'ok'), r(250, 'ok'), r(250, 'ok'));
    assert.deepEqual(actions, [
      send('EHLO client.example', 0),
      send('ETRN a.example', 0),
      send('ETRN b.example', 1500),
      send('ETRN c.example', 1500),
      send('QUIT', 0),
    ]);
  });

  test('without delayMs no ETRN waits', () => {
    const s = atFirstEtrn(['a.example', 'b.example']);
    const action = s.receive(r(250, 'ok'));
    assert.equal(action.type === 'send' ? action.delayMs : -1, 0);
  });

  test('the constructor refuses a node with CR or LF', () => {
    assert.throws(() => session(['a.example\r\nRSET']), LocalProtocolError);
    assert.throws(() => session(['a.example', 'b.example\n']), LocalProtocolError);
  });

  test('the constructor refuses an EHLO name with CR or LF', () => {
    assert.throws(
      () => new EtrnSession({ heloName: 'client.example\r\nMAIL FROM:<x>', nodes: ['a.example'] }),
      LocalProtocolError,
    );
    assert.throws(() => new EtrnSession({ heloName: 'client\n', nodes: ['a.example'] }), LocalProtocolError);
  });

  test('the constructor refuses a session without nodes', () => {
    assert.throws(() => new EtrnSession({ heloName: 'client.example', nodes: [] }), LocalProtocolError);
  });
});
