// Streaming publish: `mqx pub -l` vs `mosquitto_pub -l` with N stdin lines into a local mosquitto,
// counted from a mosquitto_sub's output lines. Prints messages/s and the ratio (target >= 0.5x).
// Usage: node bench/pub-stream.mjs [lines=200000] [qos=0]   (MQX_BIN=path overrides bin/mqx)

import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, openSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './lib/brokers.mjs';

const count = Math.max(1000, Math.min(2_000_000, Number(process.argv[2] ?? 200_000)));
const qos = String(Number(process.argv[3] ?? 0));
const root = fileURLToPath(new URL('..', import.meta.url));
const mqx = process.env.MQX_BIN ?? join(root, 'bin/mqx');
const TIMEOUT_MS = Number(process.env.TIMEOUT_MS ?? 180_000);


function waitFor(child, stream, pattern, what) {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`${what}: timed out; saw ${seen}`)), 10_000);
    stream.on('data', (chunk) => {
      seen += chunk;
      if (pattern.test(seen)) { clearTimeout(timer); resolve(); }
    });
    child.once('exit', () => { clearTimeout(timer); reject(new Error(`${what} exited: ${seen}`)); });
  });
}

function exited(child, what) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${what} did not finish within ${TIMEOUT_MS} ms`)); }, TIMEOUT_MS);
    child.once('exit', (code) => { clearTimeout(timer); code === 0 ? resolve() : reject(new Error(`${what} exited ${code}`)); });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'mqx-stream-'));
const input = join(dir, 'lines.txt');
let text = '';
for (let i = 0; i < count; i++) text += `message number ${String(i).padStart(8, '0')}\n`;
writeFileSync(input, text);

const port = await freePort();
const config = join(dir, 'mosquitto.conf');
// Unlimited queues so a slow subscriber never drops a message and the count stays exact.
// log_type subscribe shows when the counting subscriber is ready, without logging every message.
writeFileSync(config, `listener ${port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\nlog_dest stderr\nlog_type information\nlog_type subscribe\n`);
const broker = spawn('mosquitto', ['-c', config], { stdio: ['ignore', 'ignore', 'pipe'] });

async function once(name, command, args) {
  const id = `counter-${name.split(' ')[0]}`;
  const ready = waitFor(broker, broker.stderr, new RegExp(`${id} \\d stream`), 'mosquitto_sub subscription');
  const subscriber = spawn('mosquitto_sub', ['-p', String(port), '-i', id, '-t', 'stream', '-q', qos, '-C', String(count), '-F', '%l'], { stdio: ['ignore', 'pipe', 'ignore'] });
  // Count the printed lines ourselves: mosquitto_sub -C at QoS 1 can linger after its last message.
  let received = 0;
  let allReceived;
  const delivery = new Promise((resolve, reject) => {
    allReceived = resolve;
    setTimeout(() => reject(new Error(`mosquitto_sub received ${received} of ${count} messages in ${TIMEOUT_MS} ms`)), TIMEOUT_MS).unref();
  });
  subscriber.stdout.on('data', (chunk) => {
    for (const byte of chunk) if (byte === 10) received++;
    if (received >= count) allReceived();
  });
  await ready;
  const fd = openSync(input, 'r');
  const start = process.hrtime.bigint();
  const publisher = spawn(command, [...args, '-p', String(port), '-t', 'stream', '-l', '-q', qos], { stdio: [fd, 'ignore', 'inherit'] });
  closeSync(fd);
  await exited(publisher, name);
  const published = Number(process.hrtime.bigint() - start) / 1e9;
  try {
    await delivery;
  } finally {
    subscriber.kill('SIGTERM');
  }
  const delivered = Number(process.hrtime.bigint() - start) / 1e9;
  return { published, delivered };
}

try {
  await waitFor(broker, broker.stderr, / running\b/, 'mosquitto');
  const results = {};
  for (const [name, command, args] of [['mosquitto_pub -l', 'mosquitto_pub', []], ['mqx pub -l', process.execPath, [mqx, 'pub']]]) {
    results[name] = await once(name, command, args);
  }
  console.log(`${count} lines, QoS ${qos}, publisher stdin from a file, counted from mosquitto_sub's output`);
  const base = results['mosquitto_pub -l'];
  for (const [name, { published, delivered }] of Object.entries(results)) {
    const rate = count / delivered;
    console.log(`${name.padEnd(18)} all delivered in ${delivered.toFixed(2)} s = ${Math.round(rate).toLocaleString('en')} msg/s` +
      ` (publisher exited after ${published.toFixed(2)} s)   ${(base.delivered / delivered).toFixed(2)}x mosquitto_pub`);
  }
} finally {
  broker.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
