// The codec fast paths against mqtt-packet, byte for byte: a table of cases plus bounded random fuzzing.
// Whatever a fast path does not recognise must come back as null (not handled), never as a different answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import mqttPacket from 'mqtt-packet';
import { parseFast, parseFastConnect } from '../../src/codec/fast-parse.js';
import { encodePublishFrame, copyPublishFrame, encodeAck, writeAck, encodePingresp, withRetainFlag, encodeConnackV3 } from '../../src/codec/fast-encode.js';
import type { PublishFields } from '../../src/codec/fast-encode.js';

type Version = 3 | 4 | 5;

/**
 * mqtt-packet's parse of one buffer, as plain data; null when it reports an error or no packet.
 * Without a version it learns it from the packet (a CONNECT).
 */
function slowParse(bytes: Buffer, protocolVersion?: Version): Record<string, unknown> | null {
  const parser = mqttPacket.parser(protocolVersion === undefined ? undefined : { protocolVersion });
  const packets: unknown[] = [];
  let failed = false;
  parser.on('packet', (packet: unknown) => packets.push(packet));
  parser.on('error', () => { failed = true; });
  try { parser.parse(bytes); } catch { failed = true; }
  if (failed || packets.length !== 1) return null;
  return plain(packets[0]);
}

/** Class instances and Buffer views compared by value. */
function plain(value: unknown): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value as object)) {
    if (Buffer.isBuffer(field)) result[key] = Buffer.from(field).toString('hex');
    else if (field !== null && typeof field === 'object' && !Array.isArray(field)) result[key] = plain(field);
    else result[key] = field;
  }
  return result;
}

function fastParse(bytes: Buffer, version: Version): Record<string, unknown> | null {
  const packet = parseFast(bytes, 0, bytes.length, version);
  return packet === null ? null : plain(packet);
}

const publishCases: Array<{ name: string; packet: PublishFields }> = [
  { name: 'QoS 0, short topic, string payload', packet: { topic: 'a', payload: 'x', qos: 0 } },
  { name: 'QoS 0, empty payload (retained clear)', packet: { topic: 'a/b', payload: Buffer.alloc(0), qos: 0, retain: true } },
  { name: 'QoS 1 with id', packet: { topic: 'sensors/1/temp', payload: Buffer.from('21.5'), qos: 1, messageId: 1 } },
  { name: 'QoS 2 dup retain, id 65535', packet: { topic: 't', payload: 'p', qos: 2, dup: true, retain: true, messageId: 65535 } },
  { name: 'QoS 1 id 0', packet: { topic: 't', payload: 'p', qos: 1, messageId: 0 } },
  { name: 'UTF-8 topic and payload', packet: { topic: 'höhe/日本/\ud83d\ude00', payload: 'grüße', qos: 1, messageId: 300 } },
  { name: '1 KiB payload (2-byte remaining length)', packet: { topic: 'bench/x', payload: Buffer.alloc(1024, 7), qos: 1, messageId: 42 } },
  { name: '20 KiB payload (3-byte remaining length)', packet: { topic: 'big', payload: Buffer.alloc(20000, 1), qos: 0 } },
  { name: 'empty topic (5.0 topic alias)', packet: { topic: '', payload: 'x', qos: 0, properties: { topicAlias: 3 } } },
  { name: 'all simple properties', packet: { topic: 'r', payload: 'body', qos: 1, messageId: 9, properties: {
    payloadFormatIndicator: true, messageExpiryInterval: 3600, contentType: 'text/plain', responseTopic: 'reply/to',
    correlationData: Buffer.from([1, 2, 3]), topicAlias: 65535 } } },
  { name: 'payload format false', packet: { topic: 'r', payload: 'b', qos: 0, properties: { payloadFormatIndicator: false } } },
  { name: 'empty properties object', packet: { topic: 'r', payload: 'b', qos: 0, properties: {} } },
  { name: 'message expiry 0 and max', packet: { topic: 'r', payload: 'b', qos: 0, properties: { messageExpiryInterval: 0xffffffff } } },
  { name: 'subscription identifiers (encode only)', packet: { topic: 'r', payload: 'b', qos: 0, properties: { subscriptionIdentifier: [1, 200, 268435455] } } },
  { name: 'one subscription identifier (encode only)', packet: { topic: 'r', payload: 'b', qos: 2, messageId: 7, properties: { subscriptionIdentifier: 16384 } } },
  { name: 'user properties incl. repeated key (encode only)', packet: { topic: 'r', payload: 'b', qos: 0, properties: {
    userProperties: { a: '1', b: ['2', '3'], 'ü': 'ß' }, contentType: 'x' } } },
  { name: 'long properties (2-byte property length)', packet: { topic: 'r', payload: 'b', qos: 0, properties: { responseTopic: 'x'.repeat(300) } } },
];

for (const { name, packet } of publishCases) {
  for (const version of [3, 4, 5] as Version[]) {
    test(`PUBLISH ${name}, v${version}: encode and parse equal mqtt-packet`, () => {
      const expected = mqttPacket.generate({ cmd: 'publish', ...packet } as mqttPacket.IPublishPacket, { protocolVersion: version });
      const frame = encodePublishFrame(packet, version);
      assert.ok(frame !== null, 'handled');
      assert.equal(frame.bytes.toString('hex'), expected.toString('hex'));
      assert.equal(frame.idOffset >= 0, packet.qos > 0);
      const slow = slowParse(expected, version);
      assert.ok(slow !== null);
      const fast = fastParse(expected, version);
      const props = packet.properties as Record<string, unknown> | undefined;
      const fastUnsupported = version === 5 && props !== undefined
        && (props.userProperties !== undefined || props.subscriptionIdentifier !== undefined);
      if (fastUnsupported) assert.equal(fast, null, 'left to mqtt-packet');
      else assert.deepEqual(fast, slow);
    });
  }
}

test('copyPublishFrame patches id, QoS 1<->2, DUP and retain like a fresh mqtt-packet encode; the template stays', () => {
  for (const version of [4, 5] as Version[]) {
    const base: PublishFields = { topic: 'fan/out', payload: Buffer.from('hello'), qos: 1, messageId: 1, properties: { contentType: 'c' } };
    const frame = encodePublishFrame(base, version)!;
    const before = Buffer.from(frame.bytes);
    for (const [id, qos, dup, retain] of [[2, 1, false, false], [65535, 2, true, true], [300, 2, false, true], [1, 1, true, false]] as Array<[number, 1 | 2, boolean, boolean]>) {
      const expected = mqttPacket.generate({ cmd: 'publish', ...base, messageId: id, qos, dup, retain } as mqttPacket.IPublishPacket, { protocolVersion: version });
      assert.equal(copyPublishFrame(frame, id, qos, dup, retain).toString('hex'), expected.toString('hex'));
    }
    assert.deepEqual(frame.bytes, before);
  }
});

test('withRetainFlag sets or clears the retain bit, copying only when it changes', () => {
  const frame = encodePublishFrame({ topic: 'a', payload: 'b', qos: 0, retain: true }, 4)!;
  assert.equal(withRetainFlag(frame.bytes, true), frame.bytes);
  const cleared = withRetainFlag(frame.bytes, false);
  assert.equal(cleared.toString('hex'), mqttPacket.generate({ cmd: 'publish', topic: 'a', payload: 'b', qos: 0, retain: false, dup: false }).toString('hex'));
  assert.equal(frame.bytes[0], 0x31);
});

test('encodePublishFrame refuses what it does not handle (null), so mqtt-packet takes over', () => {
  const bad: unknown[] = [
    { topic: 'a', payload: 'x', qos: 1 },                       // no id
    { topic: 'a', payload: 'x', qos: 1, messageId: 70000 },
    { topic: 'a', payload: 'x', qos: 3 },
    { topic: Buffer.from('a'), payload: 'x', qos: 0 },
    { topic: 'a', payload: 5, qos: 0 },
    { topic: 'a', payload: 'x', qos: 0, properties: { unknownThing: 1 } },
    { topic: 'a', payload: 'x', qos: 0, properties: { topicAlias: 70000 } },
    { topic: 'a', payload: 'x', qos: 0, properties: { userProperties: {} } },
    { topic: 'a', payload: 'x', qos: 0, properties: { contentType: 5 } },
    { topic: 'a', payload: 'x', qos: 0, properties: { correlationData: 'text' } },
    { topic: 'a', payload: 'x', qos: 0, properties: { subscriptionIdentifier: [] } },
    { topic: 'x'.repeat(70000), payload: 'x', qos: 0 },
  ];
  for (const packet of bad) assert.equal(encodePublishFrame(packet as PublishFields, 5), null, JSON.stringify(packet).slice(0, 80));
});

const ackCommands = ['puback', 'pubrec', 'pubrel', 'pubcomp'] as const;

test('[MQTT-3.4.2-1] acks: encodeAck equals mqtt-packet for every type, version and reason code', () => {
  for (const cmd of ackCommands) {
    for (const version of [3, 4, 5] as Version[]) {
      const codes = version === 5 ? (cmd === 'puback' || cmd === 'pubrec' ? [0, 0x10, 0x80, 0x87, 0x99] : [0, 0x92]) : [0];
      for (const reasonCode of codes) {
        for (const messageId of [1, 255, 256, 65535]) {
          const expected = mqttPacket.generate({ cmd, messageId, reasonCode } as mqttPacket.Packet, { protocolVersion: version });
          assert.equal(encodeAck(cmd, messageId, version, reasonCode)!.toString('hex'), expected.toString('hex'), `${cmd} v${version} ${reasonCode}`);
          assert.deepEqual(fastParse(expected, version), slowParse(expected, version), `parse ${cmd} v${version} ${reasonCode}`);
        }
      }
      const target = Buffer.alloc(8);
      assert.equal(writeAck(target, 2, cmd, 513), 6);
      assert.equal(target.subarray(2, 6).toString('hex'), mqttPacket.generate({ cmd, messageId: 513 } as mqttPacket.Packet).toString('hex'));
    }
  }
  assert.equal(encodeAck('puback', -1, 4), null);
  assert.equal(encodeAck('puback', 1, 5, 300), null);
});

test('PINGREQ / PINGRESP equal mqtt-packet', () => {
  assert.equal(encodePingresp().toString('hex'), mqttPacket.generate({ cmd: 'pingresp' }).toString('hex'));
  for (const cmd of ['pingreq', 'pingresp'] as const) {
    const bytes = mqttPacket.generate({ cmd });
    for (const version of [4, 5] as Version[]) assert.deepEqual(fastParse(bytes, version), slowParse(bytes, version));
  }
});

test('[MQTT-2.2.2-1] parseFast leaves malformed and unusual frames to mqtt-packet', () => {
  const cases: Array<[string, number[], Version]> = [
    ['PUBLISH QoS 3', [0x36, 0x05, 0x00, 0x01, 0x61, 0x00, 0x01], 4],
    ['topic longer than the packet', [0x30, 0x03, 0x00, 0x05, 0x61], 4],
    ['QoS 1 without room for an id', [0x32, 0x03, 0x00, 0x01, 0x61], 4],
    ['PUBREL with flags 0', [0x60, 0x02, 0x00, 0x01], 4],
    ['PUBACK with flags', [0x41, 0x02, 0x00, 0x01], 4],
    ['PUBACK 3.1.1 with 3 bytes', [0x40, 0x03, 0x00, 0x01, 0x00], 4],
    ['PUBACK 5.0 invalid reason code', [0x40, 0x03, 0x00, 0x01, 0x05], 5],
    ['PUBACK 5.0 with a reason string', [0x40, 0x08, 0x00, 0x01, 0x10, 0x04, 0x1f, 0x00, 0x01, 0x61], 5],
    ['PUBLISH 5.0 unknown property', [0x30, 0x07, 0x00, 0x01, 0x61, 0x02, 0x7f, 0x00, 0x78], 5],
    ['PUBLISH 5.0 repeated topic alias', [0x30, 0x0b, 0x00, 0x01, 0x61, 0x06, 0x23, 0x00, 0x01, 0x23, 0x00, 0x02, 0x78], 5],
    ['PUBLISH 5.0 property length past the end', [0x30, 0x05, 0x00, 0x01, 0x61, 0x09, 0x01], 5],
    ['PINGREQ with a body', [0xc0, 0x01, 0x00], 4],
    ['CONNECT', [0x10, 0x00], 4],
    ['SUBSCRIBE', [0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 0x61, 0x00], 4],
    ['remaining length disagrees with the frame', [0x30, 0x09, 0x00, 0x01, 0x61], 4],
  ];
  for (const [name, bytes, version] of cases) assert.equal(fastParse(Buffer.from(bytes), version), null, name);
});

/** xorshift: a repeatable stream of numbers for the fuzz tests. */
function generator(seed: number) {
  let state = seed;
  return (n: number) => {
    state ^= state << 13; state ^= state >>> 17; state ^= state << 5;
    return (state >>> 0) % n;
  };
}

function randomPublish(random: (n: number) => number): PublishFields {
  const alphabet = ['a', 'b', '/', 'é', '日', '$', ' ', '\ud83d\ude00'];
  let topic = '';
  for (let i = random(12); i > 0; i--) topic += alphabet[random(alphabet.length)];
  const qos = random(3) as 0 | 1 | 2;
  const payload = random(4) === 0 ? 'text'.repeat(random(5)) : Buffer.from(Array.from({ length: random(300) }, () => random(256)));
  const packet: PublishFields = { topic, payload, qos, retain: random(2) === 1, dup: random(2) === 1 };
  if (qos > 0) packet.messageId = random(65536);
  if (random(2) === 1) {
    const properties: Record<string, unknown> = {};
    if (random(2)) properties.payloadFormatIndicator = random(2) === 1;
    if (random(2)) properties.messageExpiryInterval = random(0x7fffffff);
    if (random(2)) properties.topicAlias = random(65536);
    if (random(2)) properties.contentType = 'ct'.repeat(random(4));
    if (random(2)) properties.responseTopic = topic;
    if (random(2)) properties.correlationData = Buffer.from([random(256), random(256)]);
    if (random(4) === 0) properties.subscriptionIdentifier = random(2) ? random(300000) : [1 + random(100), 1 + random(100)];
    if (random(4) === 0) properties.userProperties = { k: 'v', [topic || 'x']: ['1', '2'] };
    packet.properties = properties as PublishFields['properties'];
  }
  return packet;
}

test('fuzz: 3,000 random PUBLISH packets encode and parse exactly as mqtt-packet, per version', () => {
  const random = generator(0x5eed);
  let parsedFast = 0;
  for (let i = 0; i < 3000; i++) {
    const packet = randomPublish(random);
    const version = ([3, 4, 5] as Version[])[random(3)]!;
    const expected = mqttPacket.generate({ cmd: 'publish', ...packet } as mqttPacket.IPublishPacket, { protocolVersion: version });
    const frame = encodePublishFrame(packet, version);
    assert.ok(frame !== null, `handled: ${JSON.stringify(packet).slice(0, 100)}`);
    assert.equal(frame.bytes.toString('hex'), expected.toString('hex'));
    const fast = fastParse(expected, version);
    if (fast !== null) {
      assert.deepEqual(fast, slowParse(expected, version));
      parsedFast++;
    }
  }
  assert.ok(parsedFast > 2000, `fast parser took ${parsedFast} of 3000`);
});

test('fuzz: 20,000 mutated frames: parseFast is null or equal to mqtt-packet, never throws', () => {
  const random = generator(0xc0ffee);
  const seeds: Array<[Buffer, Version]> = [];
  for (let i = 0; i < 50; i++) {
    const version = ([4, 5] as Version[])[random(2)]!;
    seeds.push([mqttPacket.generate({ cmd: 'publish', ...randomPublish(random) } as mqttPacket.IPublishPacket, { protocolVersion: version }), version]);
  }
  for (const cmd of ackCommands) seeds.push([mqttPacket.generate({ cmd, messageId: 5, reasonCode: 0x10 } as mqttPacket.Packet, { protocolVersion: 5 }), 5]);
  let agreed = 0;
  for (let i = 0; i < 20000; i++) {
    const [seed, version] = seeds[random(seeds.length)]!;
    const bytes = Buffer.from(seed);
    for (let flips = 1 + random(3); flips > 0; flips--) bytes[random(bytes.length)] = random(256);
    const fast = fastParse(bytes, version);
    if (fast === null) continue;
    // Only judge frames whose declared length matches (parseFast requires it, as does a frame scanner).
    assert.deepEqual(fast, slowParse(bytes, version), bytes.toString('hex'));
    agreed++;
  }
  assert.ok(agreed > 1000, `agreed on ${agreed}`);
});

function fastParseConnect(bytes: Buffer): Record<string, unknown> | null {
  const packet = parseFastConnect(bytes, 0, bytes.length);
  return packet === null ? null : plain(packet);
}

const connectCases: Array<{ name: string; packet: Partial<mqttPacket.IConnectPacket>; fast: boolean }> = [
  { name: '3.1.1 minimal', packet: { protocolId: 'MQTT', protocolVersion: 4, clientId: 'c1', clean: true, keepalive: 60 }, fast: true },
  { name: '3.1.1 empty id', packet: { protocolId: 'MQTT', protocolVersion: 4, clientId: '', clean: true, keepalive: 0 }, fast: true },
  { name: '3.1 MQIsdp', packet: { protocolId: 'MQIsdp', protocolVersion: 3, clientId: 'old-client', clean: true, keepalive: 65535 }, fast: true },
  { name: '3.1.1 user, password, will', packet: { protocolId: 'MQTT', protocolVersion: 4, clientId: 'ü-id', clean: true, keepalive: 10,
    username: 'alice', password: Buffer.from('sëcret'), will: { topic: 'wills/a', payload: Buffer.from('gone'), qos: 2, retain: true } }, fast: true },
  { name: '3.1.1 will QoS 1, empty payload', packet: { protocolId: 'MQTT', protocolVersion: 4, clientId: 'w', clean: true, keepalive: 5,
    will: { topic: 't', payload: Buffer.alloc(0), qos: 1, retain: false } }, fast: true },
  { name: '5.0 no properties', packet: { protocolId: 'MQTT', protocolVersion: 5, clientId: 'v5', clean: true, keepalive: 30, username: 'u' }, fast: true },
  { name: '5.0 will without properties', packet: { protocolId: 'MQTT', protocolVersion: 5, clientId: 'v5w', clean: false, keepalive: 30,
    will: { topic: 'w/5', payload: Buffer.from('x'), qos: 0, retain: false } }, fast: true },
  { name: '5.0 with connect properties (mqtt-packet)', packet: { protocolId: 'MQTT', protocolVersion: 5, clientId: 'p', clean: true, keepalive: 1,
    properties: { sessionExpiryInterval: 60, receiveMaximum: 10 } }, fast: false },
  { name: '5.0 will properties (mqtt-packet)', packet: { protocolId: 'MQTT', protocolVersion: 5, clientId: 'p', clean: true, keepalive: 1,
    will: { topic: 'w', payload: Buffer.from('x'), qos: 0, retain: false, properties: { willDelayInterval: 5 } } }, fast: false },
];

test('parseFastConnect equals mqtt-packet for every CONNECT without properties, leaves the rest to it', () => {
  for (const { name, packet, fast } of connectCases) {
    const bytes = mqttPacket.generate({ cmd: 'connect', ...packet } as mqttPacket.IConnectPacket);
    const expected = slowParse(bytes);
    assert.notEqual(expected, null, name);
    const actual = fastParseConnect(bytes);
    if (fast) assert.deepEqual(actual, expected, name);
    else assert.equal(actual, null, name);
  }
  // Unusual or malformed: left to mqtt-packet (null), never a different answer.
  const base = mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'c', clean: true, keepalive: 1 } as mqttPacket.IConnectPacket);
  const variant = (change: (bytes: Buffer) => void): Buffer => { const copy = Buffer.from(base); change(copy); return copy; };
  assert.equal(fastParseConnect(variant((b) => { b[0] = 0x11; })), null, 'reserved header flag');
  assert.equal(fastParseConnect(variant((b) => { b[8] = 0x84; })), null, 'bridge bit');
  assert.equal(fastParseConnect(variant((b) => { b[8] = 3; })), null, 'MQTT with level 3');
  assert.equal(fastParseConnect(variant((b) => { b[9] |= 0x01; })), null, 'reserved connect flag [MQTT-3.1.2-3]');
  assert.equal(fastParseConnect(variant((b) => { b[9] |= 0x20; })), null, 'will retain without will');
  assert.equal(fastParseConnect(variant((b) => { b[9] |= 0x1c; })), null, 'will QoS 3');
  assert.equal(fastParseConnect(Buffer.concat([variant((b) => { b[1]! += 1; }), Buffer.from([0])])), null, 'a byte left over');
  assert.equal(fastParseConnect(variant((b) => { b[1]! -= 1; }).subarray(0, base.length - 1)), null, 'client id cut short');
});

test('fuzz: 20,000 mutated CONNECTs: parseFastConnect is null or equal to mqtt-packet, never throws', () => {
  const random = generator(0xbeef);
  const seeds = connectCases.map(({ packet }) => mqttPacket.generate({ cmd: 'connect', ...packet } as mqttPacket.IConnectPacket));
  let agreed = 0;
  for (let i = 0; i < 20000; i++) {
    const bytes = Buffer.from(seeds[random(seeds.length)]!);
    for (let flips = 1 + random(2); flips > 0; flips--) bytes[2 + random(bytes.length - 2)] = random(256);
    const fast = fastParseConnect(bytes);
    if (fast === null) continue;
    assert.deepEqual(fast, slowParse(bytes), bytes.toString('hex'));
    agreed++;
  }
  assert.ok(agreed > 2000, `agreed on ${agreed}`);
});

test('encodeConnackV3 is mqtt-packet\'s 3.1/3.1.1 CONNACK byte for byte', () => {
  for (const version of [3, 4] as const) {
    for (const sessionPresent of [false, true]) {
      for (const returnCode of [0, 1, 2, 3, 4, 5]) {
        const packet = { cmd: 'connack', sessionPresent, returnCode } as mqttPacket.IConnackPacket;
        assert.deepEqual(encodeConnackV3(sessionPresent, returnCode), mqttPacket.generate(packet, { protocolVersion: version }), `v${version} sp ${sessionPresent} rc ${returnCode}`);
      }
    }
  }
});
