#!/usr/bin/env node
// Fuzz harness for the mqx broker: mutated valid packets of every type and protocol version,
// plus random bytes, over real sockets to a broker started in-process (or --port for another).
// Checks: no crash or uncaught error, no error logged, heap bounded, a control client served.
//
// Usage: node --expose-gc scripts/fuzz.mjs [--count N] [--seconds S] [--seed N] [--concurrency N]
//        [--port P (fuzz a running broker instead)] [--persistence (store in a temp dir)] [--json]
//        (needs `npm run build` first)

import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBroker } from '../dist/src/broker/broker.js';
import { isClientConductError } from '../dist/src/broker/disconnect-log.js';
import { encode } from '../dist/src/codec/index.js';

const args = process.argv.slice(2);
function flag(name, fallback) {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const value = Number(args[i + 1]);
  if (!Number.isFinite(value) || value < 0) { console.error(`fuzz: --${name} needs a number`); process.exit(2); }
  return value;
}
const maxPackets = flag('count', 1_000_000);
const maxSeconds = flag('seconds', 30);
const concurrency = flag('concurrency', 16);
let seed = flag('seed', Date.now() % 2 ** 31) >>> 0 || 1;
const externalPort = flag('port', 0);
const json = args.includes('--json');
const persistence = args.includes('--persistence');
const startSeed = seed;

// xorshift32: reproducible with --seed
function rand() { seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0; return seed / 2 ** 32; }
const int = (n) => Math.floor(rand() * n);
const pick = (list) => list[int(list.length)];
const bytes = (n) => { const b = Buffer.allocUnsafe(n); for (let i = 0; i < n; i++) b[i] = int(256); return b; };

const topics = ['a', 'a/b', '$SYS/x', 'fuzz/+/x', '#', '$share/g/f', 'x/'.repeat(30), '\u00e9/\u4e2d', ''];
const props5 = { sessionExpiryInterval: 10, receiveMaximum: 5, maximumPacketSize: 1000, topicAliasMaximum: 3, userProperties: { k: 'v' } };

/** One valid packet of every type, for `version`. */
function validPackets(version) {
  const v5 = version === 5;
  const id = 1 + int(65535);
  const list = [
    { cmd: 'connect', protocolId: version === 3 ? 'MQIsdp' : 'MQTT', protocolVersion: version, clientId: `fz${int(200)}`, clean: rand() < 0.5, keepalive: int(100),
      username: rand() < 0.3 ? 'u' : undefined, password: rand() < 0.2 ? Buffer.from('p') : undefined,
      will: rand() < 0.3 ? { topic: pick(topics) || 'w', payload: bytes(int(20)), qos: int(3), retain: rand() < 0.5, properties: v5 ? { willDelayInterval: int(3) } : undefined } : undefined,
      properties: v5 ? props5 : undefined },
    { cmd: 'publish', topic: pick(topics) || 't', payload: bytes(int(64)), qos: 0, retain: rand() < 0.2, dup: false, properties: v5 ? { topicAlias: 1 + int(3), messageExpiryInterval: int(5), payloadFormatIndicator: rand() < 0.5, contentType: 'x' } : undefined },
    { cmd: 'publish', topic: pick(topics) || 't', payload: bytes(int(64)), qos: 1 + int(2), messageId: id, retain: rand() < 0.2, dup: rand() < 0.3 },
    { cmd: 'puback', messageId: id, reasonCode: v5 ? pick([0, 0x80]) : undefined },
    { cmd: 'pubrec', messageId: id, reasonCode: v5 ? pick([0, 0x80]) : undefined },
    { cmd: 'pubrel', messageId: id },
    { cmd: 'pubcomp', messageId: id },
    { cmd: 'subscribe', messageId: id, subscriptions: [{ topic: pick(topics) || 's', qos: int(3), nl: v5 && rand() < 0.3, rap: v5 && rand() < 0.3, rh: v5 ? int(3) : undefined }], properties: v5 && rand() < 0.5 ? { subscriptionIdentifier: 1 + int(100) } : undefined },
    { cmd: 'unsubscribe', messageId: id, unsubscriptions: [pick(topics) || 'u'] },
    { cmd: 'pingreq' },
    { cmd: 'disconnect', reasonCode: v5 ? pick([0, 4]) : undefined, properties: v5 && rand() < 0.3 ? { sessionExpiryInterval: int(5) } : undefined },
    { cmd: 'connack', sessionPresent: false, returnCode: 0, reasonCode: 0 },
    { cmd: 'suback', messageId: id, granted: [0] },
    { cmd: 'pingresp' },
  ];
  if (v5) list.push({ cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'm' } });
  return list;
}

function encodeOrNull(packet, version) {
  try { return encode(packet, version); } catch { return null; }
}

/** A valid packet, a mutation of one, or random bytes. */
function nextChunk(version) {
  const r = rand();
  if (r < 0.1) return bytes(1 + int(64));
  const valid = encodeOrNull(pick(validPackets(version)), version) ?? bytes(8);
  if (r < 0.35) return valid;
  const b = Buffer.from(valid);
  switch (int(7)) {
    case 0: for (let k = 1 + int(3); k > 0; k--) b[int(b.length)] ^= 1 << int(8); return b;
    case 1: b[int(b.length)] = int(256); return b;
    case 2: return b.subarray(0, int(b.length));
    case 3: return Buffer.concat([b.subarray(0, int(b.length)), bytes(1 + int(16)), b.subarray(int(b.length))]);
    case 4: if (b.length > 1) b[1] = int(256); return b; // remaining length
    case 5: b[0] = (b[0] & 0xf0) | int(16); return b; // flags
    default: return Buffer.concat([b, b]);
  }
}

async function main() {
  let broker = null;
  const errors = [];
  const fail = (what) => { errors.push(what); };
  process.on('uncaughtException', (error) => fail(`uncaught: ${error.stack ?? error}`));
  process.on('unhandledRejection', (error) => fail(`unhandled rejection: ${error?.stack ?? error}`));
  let port = externalPort;
  if (port === 0) {
    const store = persistence ? mkdtempSync(join(tmpdir(), 'mqx-fuzz-')) : null;
    if (store !== null) process.on('exit', () => rmSync(store, { recursive: true, force: true }));
    broker = createBroker({ sys_interval: 0, max_connections: 1000, connect_timeout: 2, listeners: [{ port: 0, host: '127.0.0.1' }],
      persistence: store !== null, persistence_location: store ?? '',
      logger: { log: (type, message) => { if (type === 'error' && !isClientConductError(message)) fail(`broker logged: ${message}`); } } });
    [{ port }] = await broker.listen();
  }
  globalThis.gc?.();
  const heapStart = process.memoryUsage().heapUsed;
  let heapPeak = heapStart;

  // Control client: publishes to itself at QoS 1 and must keep getting its messages back.
  const control = await controlClient(port);
  const started = Date.now();
  const deadline = started + maxSeconds * 1000;
  let sent = 0;
  let connections = 0;
  const running = () => sent < maxPackets && Date.now() < deadline && errors.length === 0;

  async function worker() {
    while (running()) {
      connections++;
      const version = pick([3, 4, 5]);
      await new Promise((resolve) => {
        const socket = connect({ port, host: '127.0.0.1' });
        socket.on('error', () => undefined);
        socket.on('data', () => undefined);
        socket.once('close', resolve);
        socket.once('connect', () => {
          const n = 1 + int(40);
          let i = 0;
          const step = () => {
            if (i++ >= n || !running() || socket.destroyed) { socket.destroy(); return; }
            // Mostly a valid CONNECT first, so later packets reach the connected-state handlers.
            const chunk = i === 1 && rand() < 0.8 ? encodeOrNull(validPackets(version)[0], version) ?? bytes(4) : nextChunk(version);
            sent++;
            if (socket.write(chunk)) setImmediate(step); else socket.once('drain', step);
          };
          step();
        });
      });
      if (connections % 200 === 0) { heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed); }
    }
  }
  const probe = setInterval(() => control.check().catch((error) => fail(`control client: ${error.message}`)), 250);
  await Promise.all(Array.from({ length: concurrency }, worker));
  clearInterval(probe);
  await control.check().catch((error) => fail(`control client at the end: ${error.message}`));
  control.close();
  // Let the broker finish with closed sockets, then see what is left.
  for (let i = 0; i < 100 && broker !== null && broker.connections.size > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
  globalThis.gc?.();
  const heapEnd = process.memoryUsage().heapUsed;
  const leftConnections = broker?.connections.size ?? 0;
  if (leftConnections > 0) fail(`${leftConnections} connections left open in the broker`);
  // Bounded memory: after all fuzz connections closed the heap is back near where it started.
  if (globalThis.gc && heapEnd - heapStart > 32 * 1024 * 1024) fail(`heap grew by ${((heapEnd - heapStart) / 1048576).toFixed(1)} MiB`);
  if (broker !== null) await broker.close();
  const result = { seed: startSeed, packets: sent, connections, seconds: (Date.now() - started) / 1000, controlRoundTrips: control.roundTrips,
    heapStartMiB: +(heapStart / 1048576).toFixed(1), heapPeakMiB: +(heapPeak / 1048576).toFixed(1), heapEndMiB: +(heapEnd / 1048576).toFixed(1), errors };
  if (json) console.log(JSON.stringify(result));
  else {
    console.log(`fuzz: ${sent} packets over ${connections} connections in ${result.seconds}s (seed ${startSeed}); control client round trips: ${control.roundTrips}; heap ${result.heapStartMiB} -> ${result.heapEndMiB} MiB`);
    for (const error of errors) console.error(`fuzz: FAIL ${error}`);
  }
  process.exitCode = errors.length === 0 ? 0 : 1;
}

/** A well-behaved 3.1.1 client speaking raw bytes: each check() publishes QoS 1 to itself and awaits PUBACK and the message. */
async function controlClient(port) {
  const socket = connect({ port, host: '127.0.0.1' });
  await new Promise((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
  let inbox = Buffer.alloc(0);
  const waiters = [];
  socket.on('data', (chunk) => {
    inbox = Buffer.concat([inbox, chunk]);
    for (;;) {
      if (inbox.length < 2) return;
      let length = 0, mult = 1, k = 1;
      for (; k < 5; k++) { if (k >= inbox.length) return; length += (inbox[k] & 127) * mult; mult *= 128; if (!(inbox[k] & 128)) break; }
      if (inbox.length < k + 1 + length) return;
      const packet = inbox.subarray(0, k + 1 + length);
      inbox = inbox.subarray(k + 1 + length);
      const type = packet[0] >> 4;
      if (type === 3 && (packet[0] & 6) === 2) {
        const topicLength = packet.readUInt16BE(k + 1);
        const messageId = packet.readUInt16BE(k + 3 + topicLength);
        socket.write(encode({ cmd: 'puback', messageId }, 4));
      }
      for (const waiter of waiters.splice(0)) waiter(type);
    }
  });
  const until = (want, ms) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${want.join('/')} within ${ms} ms`)), ms);
    const seen = new Set();
    const listen = (type) => { seen.add(type); if (want.every((t) => seen.has(t))) { clearTimeout(timer); resolve(); } else waiters.push(listen); };
    waiters.push(listen);
  });
  socket.write(encode({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'fuzz-control', clean: true, keepalive: 0 }, 4));
  await until([2], 5000);
  socket.write(encode({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'fuzz-control/echo', qos: 1 }] }, 4));
  await until([9], 5000);
  let id = 1;
  let busy = null;
  const control = {
    roundTrips: 0,
    async check() {
      if (busy) return busy;
      id = id % 65000 + 2;
      socket.write(encode({ cmd: 'publish', topic: 'fuzz-control/echo', payload: Buffer.from('ping'), qos: 1, messageId: id, retain: false, dup: false }, 4));
      busy = until([3, 4], 5000).then(() => { control.roundTrips++; }).finally(() => { busy = null; });
      return busy;
    },
    close() { socket.destroy(); },
  };
  return control;
}

main().catch((error) => { console.error(`fuzz: ${error.stack ?? error}`); process.exitCode = 1; });
