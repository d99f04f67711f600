// How much an ATRN relay of one large message grows etrn's memory (issue 14:
// a 50 MB message must not grow it by 50 MB). The scripted ODMR provider
// (test/helpers/odmr-provider.ts) holds one generated message of SIZE_MB;
// `etrn --atrn` runs as a child process and relays it to a local SMTP server
// that counts the body octets and keeps none. The child's resident set size
// (VmRSS in /proc/PID/status) is sampled every 5 ms; the growth is its peak
// less the sample taken when the provider turns the connection around.
//
//   npm run build && node dist/bench/atrn-memory.js [SIZE_MB]
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataEndScanner } from '../src/protocol/atrn.js';
import { startOdmrProvider } from '../test/helpers/odmr-provider.js';

const sizeMb = Number(process.argv[2] ?? 50);
const etrnBin = resolve(fileURLToPath(import.meta.url), '../../../bin/etrn.js');

function rssKiB(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** A local MTA that accepts everything and counts body octets without keeping them. */
async function countingMta(): Promise<{ port: number; bodyBytes: () => number; close: () => void }> {
  let bytes = 0;
  const server = createServer((socket) => {
    socket.on('error', () => undefined);
    socket.write('220 counter.test ESMTP\r\n');
    let inData = false;
    let scanner = new DataEndScanner();
    let pending = '';
    socket.on('data', (chunk: Buffer) => {
      if (inData) {
        const end = scanner.scan(chunk);
        bytes += end < 0 ? chunk.length : end;
        if (end < 0) return;
        inData = false;
        socket.write('250 2.0.0 counted\r\n');
        chunk = chunk.subarray(end);
      }
      pending += chunk.toString('latin1');
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const verb = pending.slice(0, 4).toUpperCase();
        pending = pending.slice(nl + 1);
        if (verb === 'EHLO') socket.write('250-counter.test\r\n250 8BITMIME\r\n');
        else if (verb === 'DATA') {
          inData = true;
          scanner = new DataEndScanner();
          socket.write('354 go ahead\r\n');
          if (pending.length > 0) {
            const rest = Buffer.from(pending, 'latin1');
            pending = '';
            const end = scanner.scan(rest);
            bytes += end < 0 ? rest.length : end;
          }
        } else if (verb === 'QUIT') {
          socket.end('221 bye\r\n');
        } else socket.write('250 ok\r\n');
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as AddressInfo).port, bodyBytes: () => bytes, close: () => server.close() };
}

async function main(): Promise<void> {
  const size = sizeMb * 1024 * 1024;
  const mta = await countingMta();
  const provider = await startOdmrProvider({
    queue: { 'client.test': [{ id: 'big', from: 'a@x.test', to: ['u@client.test'], body: { generatedBytes: size } }] },
    timeoutMs: 120_000,
  });
  const child = spawn(
    process.execPath,
    [etrnBin, '--json', '--atrn', '--auth-user', 'customer', '--auth-cleartext', '--helo', 'site.test', '-t', '60',
      '--relay-to', `127.0.0.1:${mta.port}`, `127.0.0.1:${provider.port}`, 'client.test'],
    { env: { ...process.env, ETRN_PASSWORD: 'secret' }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  let baseline: number | null = null;
  let peak = 0;
  const sampler = setInterval(() => {
    const rss = rssKiB(child.pid!);
    if (rss === null) return;
    if (baseline === null && provider.transcript.some((l) => l.startsWith('S: 250 OK, now reversing'))) baseline = rss;
    if (baseline !== null) peak = Math.max(peak, rss);
  }, 5);
  const started = performance.now();
  const [code] = (await once(child, 'close')) as [number | null];
  clearInterval(sampler);
  const seconds = (performance.now() - started) / 1000;
  const report = JSON.parse(stdout) as { sessions: { atrn: { messages: Record<string, number>; bodyBytes: number } }[] };
  provider.close();
  mta.close();
  const growthMiB = baseline === null ? null : (peak - baseline) / 1024;
  const result = {
    messageMiB: sizeMb,
    exitCode: code,
    messages: report.sessions[0]?.atrn.messages,
    bodyOctetsRelayed: report.sessions[0]?.atrn.bodyBytes,
    bodyOctetsAtLocalMta: mta.bodyBytes(),
    baselineRssMiB: baseline === null ? null : +(baseline / 1024).toFixed(1),
    peakRssMiB: +(peak / 1024).toFixed(1),
    rssGrowthMiB: growthMiB === null ? null : +growthMiB.toFixed(1),
    // The bound: relaying must not grow etrn by the message's size.
    targetMiB: sizeMb,
    seconds: +seconds.toFixed(2),
    providerHoldsAfter: provider.held(),
  };
  console.log(JSON.stringify(result, null, 2));
  // A bench fails only when the run goes wrong, never because a target is missed.
  process.exitCode = code === 0 && growthMiB !== null && mta.bodyBytes() >= sizeMb * 1024 * 1024 ? 0 : 1;
}

await main();
