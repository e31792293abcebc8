// Receive throughput of `mqx sub` against `mosquitto_sub`: 200,000 QoS 0 messages published with
// `mosquitto_pub -l` from a file while the subscriber (-C N) prints them into a pipe; separate runs.
// A second mode sends the same messages as one burst of pre-encoded packets, so the broker and
// subscriber (not mosquitto_pub) set the pace. Usage: node bench/sub-stream.mjs [messages=200000] [rounds=3]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, writeFileSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './lib/brokers.mjs';

const messages = Number(process.argv[2] ?? 200_000);
const rounds = Number(process.argv[3] ?? 3);
const mqx = fileURLToPath(new URL('../bin/mqx', import.meta.url));
const LIMIT_MS = 120_000;


async function startBroker(dir) {
  const port = await freePort();
  const config = join(dir, 'mosquitto.conf');
  writeFileSync(config, `listener ${port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\n`);
  const broker = spawn('mosquitto', ['-c', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise((resolve, reject) => {
    let log = '';
    const timer = setTimeout(() => reject(new Error(`mosquitto did not start: ${log}`)), 10_000);
    broker.stderr.on('data', (chunk) => { log += chunk; if (/ running/.test(log)) { clearTimeout(timer); resolve(); } });
    broker.once('exit', () => reject(new Error(`mosquitto exited: ${log}`)));
  });
  return { port, broker };
}

/** QoS 0 PUBLISH packets for every line, encoded by hand: a burst no client library slows down. */
function encodeBurst(lines) {
  const topic = Buffer.from('bench/data');
  const packets = lines.map((line) => {
    const payload = Buffer.from(line);
    let remaining = 2 + topic.length + payload.length;
    const length = [];
    do { let byte = remaining % 128; remaining = Math.floor(remaining / 128); if (remaining > 0) byte |= 128; length.push(byte); } while (remaining > 0);
    return Buffer.concat([Buffer.from([0x30, ...length, topic.length >> 8, topic.length & 255]), topic, payload]);
  });
  const connect = Buffer.from([0x10, 12, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 2, 0, 60, 0, 0]);
  return Buffer.concat([connect, ...packets, Buffer.from([0xe0, 0])]);
}

/** Sends the pre-encoded burst on one raw TCP connection. */
function publishBurst(port, burst) {
  const socket = createConnection({ host: '127.0.0.1', port }, () => socket.end(burst));
  socket.on('error', () => {});
  socket.resume();
}

/** One run: start the subscriber, wait until it is subscribed, publish, time until it exits. */
function runOnce(label, command, args, port, publishNow) {
  return new Promise((resolve, reject) => {
    const sub = spawn(command, [...args, '-p', String(port), '-t', 'bench/#', '-C', String(messages + 1)], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let bytes = 0;
    let started = 0;
    let stderr = '';
    const killer = setTimeout(() => { sub.kill('SIGKILL'); reject(new Error(`${label} did not finish within ${LIMIT_MS} ms (${bytes} bytes read); ${stderr}`)); }, LIMIT_MS);
    sub.stderr.on('data', (chunk) => { stderr += chunk; });
    sub.stdout.on('data', (chunk) => {
      bytes += chunk.length;
      if (started === 0) {
        // The retained "ready" message arrived: the subscription is in place, start publishing.
        started = performance.now();
        publishNow();
      }
    });
    sub.on('close', (code) => {
      clearTimeout(killer);
      if (code !== 0) { reject(new Error(`${label} exited ${code}: ${stderr}`)); return; }
      const seconds = (performance.now() - started) / 1000;
      resolve({ seconds, rate: messages / seconds, bytes });
    });
  });
}

function publishOnly(port, file) {
  const started = performance.now();
  const result = spawnSync('mosquitto_pub', ['-p', String(port), '-t', 'nobody/data', '-l'], { stdio: [openSync(file, 'r'), 'ignore', 'inherit'], timeout: LIMIT_MS });
  if (result.status !== 0) throw new Error('mosquitto_pub failed');
  return messages / ((performance.now() - started) / 1000);
}

const dir = mkdtempSync(join(tmpdir(), 'mqx-sub-bench-'));
const file = join(dir, 'lines.txt');
const lines = Array.from({ length: messages }, (_, i) => `message ${i} ${'x'.repeat(32)}`);
writeFileSync(file, lines.join('\n') + '\n');
const burst = encodeBurst(lines);
const { port, broker } = await startBroker(dir);
try {
  spawnSync('mosquitto_pub', ['-p', String(port), '-t', 'bench/ready', '-r', '-m', 'ready']);
  const ceiling = publishOnly(port, file);
  console.log(`messages per run: ${messages}, payload 42 bytes, QoS 0, ${rounds} rounds each, interleaved`);
  console.log(`publisher alone (mosquitto_pub -l, no subscriber): ${Math.round(ceiling)} msg/s`);
  const median = (list) => list.map((r) => r.rate).sort((a, b) => a - b)[Math.floor(list.length / 2)];
  const modes = [
    ['mosquitto_pub -l from a file (the publisher sets the pace)', () => spawn('mosquitto_pub', ['-p', String(port), '-t', 'bench/data', '-l'], { stdio: [openSync(file, 'r'), 'ignore', 'inherit'] })],
    ['burst: all PUBLISH packets pre-encoded on one socket (broker and subscriber set the pace)', () => publishBurst(port, burst)],
  ];
  for (const [mode, publishNow] of modes) {
    console.log(`\n${mode}`);
    const results = { mosquitto_sub: [], mqx: [] };
    for (let round = 0; round < rounds; round++) {
      results.mosquitto_sub.push(await runOnce('mosquitto_sub', 'mosquitto_sub', [], port, publishNow));
      results.mqx.push(await runOnce('mqx sub', process.execPath, [mqx, 'sub'], port, publishNow));
    }
    for (const [name, list] of Object.entries(results)) {
      console.log(`  ${name.padEnd(14)} ${list.map((r) => `${Math.round(r.rate)}`).join(' / ')} msg/s  (median ${Math.round(median(list))}, ${list[0].bytes} bytes out)`);
    }
    const ratio = median(results.mqx) / median(results.mosquitto_sub);
    console.log(`  ratio mqx/mosquitto_sub: ${ratio.toFixed(2)}x (target >= 0.5x)`);
  }
} finally {
  broker.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
