// npm run demo: etrn doing its job in one command. Brings up the Postfix lab
// (unpacked from Debian's package, private configuration on loopback),
// queues a message for client.test whose delivery host is down, shows it
// stuck in the queue, starts the delivery host, runs `etrn -v`, shows the
// message delivered, and tears everything down. Needs root (Postfix's own
// accounts) and lab/install-postfix.sh (run by `npm run demo`).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { reservePort, startPostfix } from '../dist/test/lab/postfix.js';
import { startSink } from '../dist/test/lab/sink.js';

const etrn = fileURLToPath(new URL('../bin/etrn.js', import.meta.url));
const say = (text) => console.log(`\n\u001b[1m== ${text}\u001b[0m`);

const sinkPort = await reservePort();
say(`starting Postfix on 127.0.0.1, relaying client.test to 127.0.0.1:${sinkPort} (down for now)`);
const lab = await startPostfix({ sinkPort });
let sink;
try {
  console.log(`Postfix ${lab.version} listening on 127.0.0.1:${lab.port}`);
  say('queueing a message for user@client.test');
  await lab.queueMessage('user@client.test', 'etrn demo');
  say('the delivery host is down, so the message waits in the queue (retry in an hour)');
  console.log(JSON.stringify(await lab.queue(), null, 2));
  say(`the link comes up: the delivery host listens on 127.0.0.1:${sinkPort}`);
  sink = await startSink(sinkPort);
  const args = ['-v', '-p', String(lab.port), '--helo', 'demo.example', '127.0.0.1', 'client.test'];
  say(`etrn ${args.join(' ')}`);
  const run = spawnSync(process.execPath, [etrn, ...args], { encoding: 'utf8', timeout: 30_000 });
  process.stdout.write(run.stderr + run.stdout);
  console.log(`(exit status ${run.status})`);
  say('Postfix delivered the message at once:');
  const [message] = await sink.waitFor(1, 20_000);
  console.log(`to ${message.to.join(', ')} from ${message.from}`);
  console.log(message.data.split('\r\n').filter((l) => /^(Subject|Received):/.test(l)).join('\n'));
  console.log(`messages left in the queue: ${(await lab.queueIds()).length}`);
  if (run.status !== 0) process.exitCode = 1;
} finally {
  say('tearing down');
  await sink?.close();
  await lab.stop();
}
