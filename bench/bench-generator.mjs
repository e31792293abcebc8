// The most efficient MQTT publish load generator we could write, to keep `mqx bench pub` honest:
// raw net sockets, pre-encoded packets, one corked write per batch, no MQTT.js, no per-message
// work beyond the packet id at QoS 1. With no arguments it starts Debian's mosquitto on a free
// port and runs this generator and `mqx bench pub` on the same scenario, interleaved, and prints
// medians and the ratio (target: mqx bench >= 0.9x the generator).
//
//   node bench/bench-generator.mjs [--clients 10] [--qos 0|1] [--size 256] [--inflight 20]
//                                  [--duration 5] [--repeats 3]
//   node bench/bench-generator.mjs --generate --host 127.0.0.1 --port 1883 [same options]
//                                  (generator only; prints one JSON line)

import net from 'node:net';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './lib/brokers.mjs';

const args = process.argv.slice(2);
function opt(name, fallback) {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
}
const settings = {
  host: opt('host', '127.0.0.1'),
  port: Number(opt('port', 1883)),
  clients: Number(opt('clients', 10)),
  qos: Number(opt('qos', 0)),
  size: Number(opt('size', 256)),
  inflight: Number(opt('inflight', 20)),
  duration: Number(opt('duration', 5)),
  repeats: Number(opt('repeats', 3)),
};

function varint(n) {
  const out = [];
  do { let b = n % 128; n = Math.floor(n / 128); if (n > 0) b |= 0x80; out.push(b); } while (n > 0);
  return out;
}

function connectPacket(clientId) {
  const id = Buffer.from(clientId);
  const body = Buffer.concat([Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x02, 0, 60, id.length >> 8, id.length & 0xff]), id]);
  return Buffer.concat([Buffer.from([0x10, ...varint(body.length)]), body]);
}

function publishPacket(topic, size, qos) {
  const t = Buffer.from(topic);
  const remaining = 2 + t.length + (qos > 0 ? 2 : 0) + size;
  const head = Buffer.from([0x30 | (qos << 1), ...varint(remaining), t.length >> 8, t.length & 0xff]);
  const packet = Buffer.concat([head, t, Buffer.alloc(qos > 0 ? 2 : 0), Buffer.alloc(size, 0x61)]);
  return { packet, idOffset: head.length + t.length };
}

/** Runs the generator; resolves to { sent, acked, duration_s, sent_per_s, acked_per_s, cpu_percent }. */
async function generate({ host, port, clients, qos, size, inflight, duration }) {
  const sockets = await Promise.all(Array.from({ length: clients }, (_, i) => new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, noDelay: true });
    socket.once('error', reject);
    socket.write(connectPacket(`gen_${process.pid}_${i}`));
    socket.once('data', (chunk) => (chunk[0] === 0x20 && chunk[3] === 0 ? resolve(socket) : reject(new Error('CONNACK refused'))));
  })));
  const { packet, idOffset } = publishPacket('bench/gen', size, qos);
  let sent = 0;
  let acked = 0;
  let running = true;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + duration * 1000;
  if (qos === 0) {
    // One pre-built 64 KiB batch written again and again: no per-message work, few syscalls.
    const perBatch = Math.max(1, Math.floor(65536 / packet.length));
    const batch = Buffer.concat(Array(perBatch).fill(packet));
    const pump = (socket) => {
      while (running && socket.writableLength < 65536) {
        socket.write(batch);
        sent += perBatch;
      }
    };
    for (const socket of sockets) socket.on('drain', () => pump(socket));
    const loop = () => {
      if (performance.now() >= end) { running = false; return; }
      for (const socket of sockets) pump(socket);
      setImmediate(loop);
    };
    loop();
  } else {
    // Ack-clocked: keep `inflight` messages outstanding per connection; ids cycle 1..65535.
    for (const socket of sockets) {
      let nextId = 1;
      let outstanding = 0;
      let carry = 0; // bytes of a PUBACK cut between chunks
      const send = () => {
        const count = inflight - outstanding;
        if (!running || count <= 0) return;
        const batch = Buffer.allocUnsafe(packet.length * count);
        for (let k = 0; k < count; k++) {
          const at = k * packet.length;
          packet.copy(batch, at);
          batch[at + idOffset] = nextId >> 8;
          batch[at + idOffset + 1] = nextId & 0xff;
          nextId = nextId === 65535 ? 1 : nextId + 1;
        }
        outstanding += count;
        sent += count;
        socket.write(batch);
      };
      socket.on('data', (chunk) => {
        // PUBACKs are 4 bytes each (40 02 id id); nothing else arrives on this connection.
        const total = carry + chunk.length;
        const acks = Math.floor(total / 4);
        carry = total % 4;
        outstanding -= acks;
        acked += acks;
        if (performance.now() >= end) running = false;
        send();
      });
      send();
    }
    await new Promise((resolve) => setTimeout(resolve, duration * 1000));
    running = false;
  }
  while (running) await new Promise((resolve) => setTimeout(resolve, 20));
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  for (const socket of sockets) socket.destroy();
  return {
    sent, acked, duration_s: elapsed,
    sent_per_s: Math.round(sent / elapsed), acked_per_s: Math.round(acked / elapsed),
    cpu_percent: Math.round(((cpu.user + cpu.system) / 1e6 / elapsed) * 100),
    cpu_s: (cpu.user + cpu.system) / 1e6,
  };
}


async function startMosquitto() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'mqx-gen-'));
  writeFileSync(join(dir, 'm.conf'), `listener ${port} 127.0.0.1\nallow_anonymous true\n`);
  const child = spawn('mosquitto', ['-c', join(dir, 'm.conf')], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => { s.destroy(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (ok) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { port, stop: () => { child.kill('SIGTERM'); rmSync(dir, { recursive: true, force: true }); } };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const m = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
}

function runMqxBench(port) {
  const mqx = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'mqx');
  const argv = [mqx, 'bench', 'pub', '-h', '127.0.0.1', '-p', String(port), '-c', String(settings.clients), '-I', '0',
    '-q', String(settings.qos), '-s', String(settings.size), '-F', String(settings.inflight), '-t', 'bench/mqx',
    '--duration', String(settings.duration), '--json'];
  const result = spawnSync(process.execPath, argv, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`mqx bench failed: ${result.stderr}`);
  const r = JSON.parse(result.stdout);
  return { sent: r.sent, acked: r.acked, sent_per_s: r.sent_per_s, acked_per_s: Math.round(r.acked / r.duration_s), cpu_percent: r.cpu_percent, cpu_s: r.cpu_s };
}

function runGenerator(port) {
  const self = fileURLToPath(import.meta.url);
  const argv = [self, '--generate', '--port', String(port), '--clients', String(settings.clients), '--qos', String(settings.qos),
    '--size', String(settings.size), '--inflight', String(settings.inflight), '--duration', String(settings.duration)];
  const result = spawnSync(process.execPath, argv, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`generator failed: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

if (args.includes('--generate')) {
  process.stdout.write(`${JSON.stringify(await generate(settings))}\n`);
} else {
  const broker = await startMosquitto();
  const rate = (r) => (settings.qos === 0 ? r.sent_per_s : r.acked_per_s);
  // CPU microseconds per message: the generator's own cost, which machine load does not skew the
  // way it skews throughput (on a shared machine the rates vary run to run by 2x or more).
  const costUs = (r) => (r.cpu_s * 1e6) / Math.max(1, settings.qos === 0 ? r.sent : r.acked);
  const gen = [];
  const mqx = [];
  try {
    for (let i = 0; i < settings.repeats; i++) {
      // Interleaved, alternating who goes first, each against the same mosquitto.
      const order = i % 2 === 0 ? ['gen', 'mqx'] : ['mqx', 'gen'];
      for (const who of order) {
        const r = who === 'gen' ? runGenerator(broker.port) : runMqxBench(broker.port);
        (who === 'gen' ? gen : mqx).push(r);
        console.log(`${who === 'gen' ? 'generator ' : 'mqx bench '} run ${i + 1}: ${rate(r).toLocaleString('en-US')} msg/s (own CPU ${r.cpu_percent}%, ${costUs(r).toFixed(2)} us/msg)`);
      }
    }
  } finally {
    broker.stop();
  }
  const g = median(gen.map(rate));
  const m = median(mqx.map(rate));
  console.log(`\nmosquitto, ${settings.clients} publishers, QoS ${settings.qos}, ${settings.size} B, ${settings.qos ? `inflight ${settings.inflight}, ` : ''}${settings.duration} s, median of ${settings.repeats}:`);
  console.log(`  hand-written generator: ${Math.round(g).toLocaleString('en-US')} msg/s ${settings.qos ? 'acknowledged' : 'sent'}`);
  console.log(`  mqx bench pub:          ${Math.round(m).toLocaleString('en-US')} msg/s ${settings.qos ? 'acknowledged' : 'sent'}`);
  console.log(`  ratio: ${(m / g).toFixed(2)}x (target >= 0.90x)`);
  const gc = median(gen.map(costUs));
  const mc = median(mqx.map(costUs));
  console.log(`  own CPU per message: generator ${gc.toFixed(2)} us, mqx bench ${mc.toFixed(2)} us (mqx bench costs ${(mc / gc).toFixed(2)}x)`);
  console.log(`  load average during the runs: ${(await import('node:os')).loadavg().map((v) => v.toFixed(1)).join(' ')} on ${(await import('node:os')).cpus().length} cores`);
}
