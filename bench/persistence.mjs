// QoS 1 fan-in with persistence: mqx in memory vs mqx with `persistence true` (every acknowledged
// message fsynced before its PUBACK, group commit) vs Debian's mosquitto with `persistence true`
// (which saves on autosave_interval only). A persistent subscriber (clean session off) makes every
// message part of the state the store must keep. Broker on core 0, this load on core 1.
//
// Usage: npm run build && node bench/persistence.mjs [--seconds 5] [--publishers 10] [--repeat 3]
//          [--brokers mqx-memory,mqx-persistence,mosquitto] [--json]   (runs interleaved; medians reported)

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encode } from '../dist/src/codec/index.js';
import { freePort } from './lib/brokers.mjs';

const args = process.argv.slice(2);
const value = (name, fallback) => { const i = args.indexOf(`--${name}`); return i < 0 ? fallback : args[i + 1]; };
const seconds = Math.max(1, Math.min(60, Number(value('seconds', '5'))));
const publishers = Math.max(1, Math.min(100, Number(value('publishers', '10'))));
const kinds = value('brokers', 'mqx-memory,mqx-persistence,mosquitto').split(',');
const json = args.includes('--json');
const repeat = Math.max(1, Math.min(20, Number(value('repeat', '3'))));
const WINDOW = 20;
const BACKLOG = 2000;
const brokerModule = fileURLToPath(new URL('../dist/src/broker/broker.js', import.meta.url));

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));


async function startBroker(kind) {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), `mqx-bench-persist-`));
  let command;
  if (kind === 'mosquitto') {
    const conf = join(dir, 'mosquitto.conf');
    writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location ${dir}/\nmax_queued_messages 0\nlog_dest none\n`);
    command = ['mosquitto', '-c', conf];
  } else {
    const persistence = kind === 'mqx-persistence';
    const script = `import { createBroker } from ${JSON.stringify(brokerModule)};
      const b = createBroker({ persistence: ${persistence}, persistence_location: ${JSON.stringify(dir)}, max_queued_messages: 0, sys_interval: 0, listeners: [{ port: ${port}, host: '127.0.0.1' }] });
      await b.listen(); process.on('SIGTERM', () => b.close().then(() => process.exit(0)));`;
    command = [process.execPath, ...(process.env.MQX_NODE_FLAGS ?? '').split(' ').filter(Boolean), '--input-type=module', '-e', script];
  }
  const child = spawn('taskset', ['-c', '0', ...command], { stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; i < 300; i++) {
    if (await new Promise((resolve) => { const s = connect({ port, host: '127.0.0.1' }, () => { s.destroy(); resolve(true); }); s.on('error', () => resolve(false)); })) break;
    await sleep(50);
  }
  return {
    port,
    async stop() {
      await new Promise((resolve) => { child.once('exit', resolve); child.kill('SIGTERM'); setTimeout(() => child.kill('SIGKILL'), 5000).unref(); });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A raw 3.1.1 client: frames in, a callback per packet type byte. */
function rawClient(port, clientId, clean, onPacket) {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.setNoDelay(true);
    let inbox = Buffer.alloc(0);
    let connected = false;
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      inbox = inbox.length === 0 ? chunk : Buffer.concat([inbox, chunk]);
      let offset = 0;
      for (;;) {
        if (inbox.length - offset < 2) break;
        let length = 0, mult = 1, k = offset + 1;
        for (; k < offset + 5 && k < inbox.length; k++) { length += (inbox[k] & 127) * mult; mult *= 128; if (!(inbox[k] & 128)) break; }
        if (k >= inbox.length || inbox.length < k + 1 + length) break;
        const packet = inbox.subarray(offset, k + 1 + length);
        offset = k + 1 + length;
        if (!connected && packet[0] >> 4 === 2) { connected = true; resolve(socket); continue; }
        onPacket(packet, k + 1 - offset + packet.length - (k + 1 - offset) - length);
      }
      inbox = offset === inbox.length ? Buffer.alloc(0) : inbox.subarray(offset);
    });
    socket.write(encode({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId, clean, keepalive: 0 }, 4));
  });
}

async function fanIn(port) {
  let received = 0;
  let acked = 0;
  let sent = 0;
  let sub;
  sub = await rawClient(port, 'persist-bench-sub', false, (packet) => {
    if (packet[0] >> 4 !== 3) return;
    // header byte, remaining length (1..4 bytes), topic length, topic, packet id
    let k = 1; while (packet[k] & 128) k++;
    const topicLength = packet.readUInt16BE(k + 1);
    const id = packet.readUInt16BE(k + 3 + topicLength);
    received++;
    sub.write(Buffer.from([0x40, 2, id >> 8, id & 255]));
  });
  sub.write(encode({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'bench/#', qos: 1 }] }, 4));
  await sleep(200);
  let running = true;
  const pumps = [];
  for (let p = 0; p < publishers; p++) {
    let outstanding = 0;
    let nextId = 1;
    const payload = Buffer.alloc(64, 0x61);
    let socket;
    const pump = () => {
      while (running && outstanding < WINDOW && sent - received < BACKLOG) {
        socket.write(encode({ cmd: 'publish', topic: `bench/${p}`, payload, qos: 1, messageId: nextId, retain: false, dup: false }, 4));
        nextId = nextId === 65535 ? 1 : nextId + 1;
        outstanding++;
        sent++;
      }
    };
    socket = await rawClient(port, `persist-bench-pub-${p}`, true, (packet) => { if (packet[0] >> 4 === 4) { outstanding--; acked++; pump(); } });
    pumps.push({ pump, socket });
  }
  const gate = setInterval(() => { for (const { pump } of pumps) pump(); }, 1);
  for (const { pump } of pumps) pump();
  await sleep(1000);
  const startAcked = acked, startReceived = received, start = process.hrtime.bigint();
  await sleep(seconds * 1000);
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  const result = { ackedPerSecond: Math.round((acked - startAcked) / elapsed), deliveredPerSecond: Math.round((received - startReceived) / elapsed) };
  running = false;
  clearInterval(gate);
  await sleep(300);
  for (const { socket } of pumps) socket.destroy();
  sub.destroy();
  return result;
}

const runs = Object.fromEntries(kinds.map((kind) => [kind, []]));
for (let r = 0; r < repeat; r++) {
  for (const kind of kinds) {
    const broker = await startBroker(kind);
    try {
      runs[kind].push(await fanIn(broker.port));
    } finally {
      await broker.stop();
    }
    const last = runs[kind][runs[kind].length - 1];
    if (!json) console.log(`run ${r + 1} ${kind.padEnd(16)} ${String(last.ackedPerSecond).padStart(8)} acked msg/s  ${String(last.deliveredPerSecond).padStart(8)} delivered msg/s`);
  }
}
const median = (list) => { const sorted = [...list].sort((a, b) => a - b); return sorted[Math.floor(sorted.length / 2)]; };
const results = {};
for (const kind of kinds) {
  results[kind] = { ackedPerSecond: median(runs[kind].map((run) => run.ackedPerSecond)), deliveredPerSecond: median(runs[kind].map((run) => run.deliveredPerSecond)) };
  if (!json) console.log(`median ${kind.padEnd(16)} ${String(results[kind].ackedPerSecond).padStart(8)} acked msg/s`);
}
if (results['mqx-memory'] && results['mqx-persistence']) {
  const ratio = results['mqx-persistence'].ackedPerSecond / results['mqx-memory'].ackedPerSecond;
  results.ratio = +ratio.toFixed(2);
  if (!json) console.log(`mqx persistence / in-memory: ${ratio.toFixed(2)}x (target >= 0.7x)`);
}
if (json) console.log(JSON.stringify({ seconds, publishers, repeat, payloadBytes: 64, window: WINDOW, results, runs }));
