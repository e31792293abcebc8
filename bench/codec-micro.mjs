// Micro-benchmark: mqx's codec fast paths (dist/src/codec/fast-*.js) against mqtt-packet, packets/s per core.
// Not a test: prints a table. Usage: npm run build && node bench/codec-micro.mjs [seconds-per-case=1]

import mqttPacket from 'mqtt-packet';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('../dist/src/codec/', import.meta.url));
const { FrameSplitter } = await import(`${dist}fast-frames.js`);
const { parseFast } = await import(`${dist}fast-parse.js`);
const { encodePublishFrame, copyPublishFrame, encodeAck } = await import(`${dist}fast-encode.js`);
const { Decoder } = await import(`${dist}index.js`);

const seconds = Math.max(0.2, Math.min(10, Number(process.argv[2] ?? 1)));

/** Runs `batch()` (which handles `per` packets) repeatedly for the time budget; returns packets/s. */
function measure(per, batch) {
  for (let i = 0; i < 3; i++) batch(); // warm up
  const budget = BigInt(Math.round(seconds * 1e9));
  const start = process.hrtime.bigint();
  let packets = 0;
  let elapsed = 0n;
  do {
    batch();
    packets += per;
    elapsed = process.hrtime.bigint() - start;
  } while (elapsed < budget);
  return packets / (Number(elapsed) / 1e9);
}

const rows = [];
function compare(name, slow, fast) {
  rows.push({ name, slow, fast, ratio: fast / slow });
  console.log(`${name.padEnd(44)} mqtt-packet ${fmt(slow)}  fast ${fmt(fast)}  x${(fast / slow).toFixed(1)}`);
}
const fmt = (rate) => `${(rate / 1e6).toFixed(2).padStart(6)}M/s`;

// --- parsing: a stream of N packets, fed in 64 KiB chunks like a socket would.
function chunked(stream, size = 65536) {
  const chunks = [];
  for (let offset = 0; offset < stream.length; offset += size) chunks.push(stream.subarray(offset, offset + size));
  return chunks;
}

function parseCase(name, packet, version, count = 20000) {
  const one = mqttPacket.generate(packet, { protocolVersion: version });
  const chunks = chunked(Buffer.concat(Array.from({ length: count }, () => one)));
  let seen = 0;
  // mqtt-packet is measured both ways and the better one is the baseline: fed 64 KiB socket
  // chunks (frames straddle chunks, as on a real connection) and fed one whole frame at a time.
  const chunkedRate = measure(count, () => {
    const parser = mqttPacket.parser({ protocolVersion: version });
    parser.on('packet', () => { seen++; });
    for (const chunk of chunks) parser.parse(chunk);
  });
  const perFrameRate = measure(count, () => {
    const parser = mqttPacket.parser({ protocolVersion: version });
    parser.on('packet', () => { seen++; });
    for (let i = 0; i < count; i++) parser.parse(one);
  });
  const slow = Math.max(chunkedRate, perFrameRate);
  let handled = 0;
  const onFrame = (_context, buffer, start, end) => {
    if (parseFast(buffer, start, end, version) !== null) handled++;
  };
  const fast = measure(count, () => {
    const splitter = new FrameSplitter(onFrame);
    for (const chunk of chunks) splitter.split(null, chunk);
  });
  if (handled === 0 || seen === 0) throw new Error(`${name}: nothing parsed`);
  compare(`parse ${name}`, slow, fast);
}

const small = Buffer.alloc(16, 0x61);
const kib = Buffer.alloc(1024, 0x62);
parseCase('PUBLISH 3.1.1 QoS 0 16 B', { cmd: 'publish', topic: 'bench/0', payload: small, qos: 0, retain: false, dup: false }, 4);
parseCase('PUBLISH 3.1.1 QoS 1 16 B', { cmd: 'publish', topic: 'bench/0', payload: small, qos: 1, messageId: 7, retain: false, dup: false }, 4);
parseCase('PUBLISH 3.1.1 QoS 1 1 KiB', { cmd: 'publish', topic: 'bench/0', payload: kib, qos: 1, messageId: 7, retain: false, dup: false }, 4);
parseCase('PUBLISH 5.0 QoS 1 16 B, no properties', { cmd: 'publish', topic: 'bench/0', payload: small, qos: 1, messageId: 7, retain: false, dup: false }, 5);
parseCase('PUBLISH 5.0 QoS 1 16 B, 3 properties', { cmd: 'publish', topic: 'bench/0', payload: small, qos: 1, messageId: 7, retain: false, dup: false,
  properties: { contentType: 'text/plain', messageExpiryInterval: 60, payloadFormatIndicator: true } }, 5);
parseCase('PUBACK 3.1.1', { cmd: 'puback', messageId: 7 }, 4);
parseCase('PUBACK 5.0', { cmd: 'puback', messageId: 7, reasonCode: 0 }, 5);

// --- the codec's Decoder (splitter + fast parsers, mqtt-packet for the rest) against mqtt-packet alone.
function decoderCase(name, packet, version, count = 20000) {
  const connect = mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: version, clientId: 'c' }, { protocolVersion: version });
  const one = mqttPacket.generate(packet, { protocolVersion: version });
  const chunks = chunked(Buffer.concat(Array.from({ length: count }, () => one)));
  let seen = 0;
  const slow = measure(count, () => {
    const parser = mqttPacket.parser();
    parser.on('packet', () => { seen++; });
    parser.parse(connect);
    for (const chunk of chunks) parser.parse(chunk);
  });
  const handlers = { packet: () => { seen++; }, error: (error) => { throw error; } };
  const fast = measure(count, () => {
    const decoder = new Decoder(handlers, 0);
    decoder.push(connect);
    for (const chunk of chunks) decoder.push(chunk);
  });
  if (seen === 0) throw new Error(`${name}: nothing decoded`);
  compare(`codec Decoder ${name}`, slow, fast);
}
decoderCase('PUBLISH 3.1.1 QoS 1 16 B', { cmd: 'publish', topic: 'bench/0', payload: small, qos: 1, messageId: 7, retain: false, dup: false }, 4);
decoderCase('PUBLISH 5.0 QoS 1 16 B', { cmd: 'publish', topic: 'bench/0', payload: small, qos: 1, messageId: 7, retain: false, dup: false }, 5);

// --- encoding
function encodeCase(name, count, slowOne, fastOne) {
  const slow = measure(count, () => { for (let i = 0; i < count; i++) slowOne(i); });
  const fast = measure(count, () => { for (let i = 0; i < count; i++) fastOne(i); });
  compare(`encode ${name}`, slow, fast);
}

const publish16 = { cmd: 'publish', topic: 'bench/0', payload: small, qos: 1, messageId: 1, retain: false, dup: false };
encodeCase('PUBLISH 3.1.1 QoS 1 16 B (fresh)', 20000,
  (i) => mqttPacket.generate({ ...publish16, messageId: (i & 0xffff) || 1 }),
  (i) => encodePublishFrame({ ...publish16, messageId: (i & 0xffff) || 1 }, 4));
const template = encodePublishFrame(publish16, 4);
encodeCase('PUBLISH 3.1.1 QoS 1 16 B (copy-and-patch)', 20000,
  (i) => mqttPacket.generate({ ...publish16, messageId: (i & 0xffff) || 1 }),
  (i) => copyPublishFrame(template, (i & 0xffff) || 1, 1, false, false));
const publish5 = { ...publish16, properties: { contentType: 'text/plain', messageExpiryInterval: 60 } };
encodeCase('PUBLISH 5.0 QoS 1 16 B, 2 properties (fresh)', 20000,
  (i) => mqttPacket.generate({ ...publish5, messageId: (i & 0xffff) || 1 }, { protocolVersion: 5 }),
  (i) => encodePublishFrame({ ...publish5, messageId: (i & 0xffff) || 1 }, 5));
encodeCase('PUBACK 3.1.1', 20000,
  (i) => mqttPacket.generate({ cmd: 'puback', messageId: (i & 0xffff) || 1 }),
  (i) => encodeAck('puback', (i & 0xffff) || 1, 4));
encodeCase('PUBACK 5.0 reason 0x10', 20000,
  (i) => mqttPacket.generate({ cmd: 'puback', messageId: (i & 0xffff) || 1, reasonCode: 0x10 }, { protocolVersion: 5 }),
  (i) => encodeAck('puback', (i & 0xffff) || 1, 5, 0x10));

if (process.argv.includes('--json')) console.log(JSON.stringify(rows));
