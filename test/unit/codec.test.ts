// The codec as one table of named cases: each parsed, generated and round-tripped; then the
// decoder's framing errors, and the encode-once helpers (packet id patching).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Decoder, encode, patchPublish, publishPacketIdOffset, isWellFormedUtf8, MqttError, reasonName } from '../../src/codec/index.js';
import type { Packet, ProtocolVersion } from '../../src/codec/index.js';

interface CodecCase {
  name: string;
  version: ProtocolVersion;
  packet: Packet;
  bytes: number[];
}

export const CODEC_CASES: CodecCase[] = [
  { name: 'PINGREQ', version: 4, packet: { cmd: 'pingreq' }, bytes: [0xc0, 0x00] },
  { name: 'PINGRESP', version: 5, packet: { cmd: 'pingresp' }, bytes: [0xd0, 0x00] },
  { name: 'PUBACK 3.1.1', version: 4, packet: { cmd: 'puback', messageId: 258 }, bytes: [0x40, 0x02, 0x01, 0x02] },
  { name: 'PUBACK 5.0 reason 0x10', version: 5, packet: { cmd: 'puback', messageId: 1, reasonCode: 0x10 }, bytes: [0x40, 0x04, 0x00, 0x01, 0x10, 0x00] },
  { name: 'PUBREL', version: 4, packet: { cmd: 'pubrel', messageId: 7 }, bytes: [0x62, 0x02, 0x00, 0x07] },
  { name: 'CONNACK 3.1.1 accepted, session present', version: 4, packet: { cmd: 'connack', sessionPresent: true, returnCode: 0 }, bytes: [0x20, 0x02, 0x01, 0x00] },
  { name: 'CONNACK 5.0 receive maximum 20', version: 5, packet: { cmd: 'connack', sessionPresent: false, reasonCode: 0, properties: { receiveMaximum: 20 } }, bytes: [0x20, 0x06, 0x00, 0x00, 0x03, 0x21, 0x00, 0x14] },
  { name: 'PUBLISH QoS 0', version: 4, packet: { cmd: 'publish', topic: 'a/b', payload: Buffer.from('hi'), qos: 0, retain: false, dup: false }, bytes: [0x30, 0x07, 0x00, 0x03, 0x61, 0x2f, 0x62, 0x68, 0x69] },
  { name: 'PUBLISH QoS 1 retained', version: 4, packet: { cmd: 'publish', topic: 't', payload: Buffer.from('x'), qos: 1, retain: true, dup: false, messageId: 1 }, bytes: [0x33, 0x06, 0x00, 0x01, 0x74, 0x00, 0x01, 0x78] },
  { name: 'PUBLISH 5.0 with content type', version: 5, packet: { cmd: 'publish', topic: 't', payload: Buffer.from('x'), qos: 0, retain: false, dup: false, properties: { contentType: 'a' } }, bytes: [0x30, 0x09, 0x00, 0x01, 0x74, 0x04, 0x03, 0x00, 0x01, 0x61, 0x78] },
  { name: 'SUBACK 5.0', version: 5, packet: { cmd: 'suback', messageId: 1, granted: [0, 0x8f] }, bytes: [0x90, 0x05, 0x00, 0x01, 0x00, 0x00, 0x8f] },
  { name: 'UNSUBACK 3.1.1', version: 4, packet: { cmd: 'unsuback', messageId: 9, granted: [] }, bytes: [0xb0, 0x02, 0x00, 0x09] },
  { name: 'DISCONNECT 5.0 session taken over', version: 5, packet: { cmd: 'disconnect', reasonCode: 0x8e }, bytes: [0xe0, 0x02, 0x8e, 0x00] },
];

function decodeAll(bytes: Buffer, version: ProtocolVersion, maxPacketSize = 0): { packets: Packet[]; errors: MqttError[] } {
  const packets: Packet[] = [];
  const errors: MqttError[] = [];
  const decoder = new Decoder({ packet: (p) => packets.push(p), error: (e) => errors.push(e) }, maxPacketSize, version);
  decoder.push(bytes);
  return { packets, errors };
}

for (const c of CODEC_CASES) {
  test(`codec: ${c.name} generates the expected bytes`, () => {
    assert.deepEqual([...encode(c.packet, c.version)], c.bytes);
  });
  test(`codec: ${c.name} parses to the same packet and back`, () => {
    const { packets, errors } = decodeAll(Buffer.from(c.bytes), c.version);
    assert.deepEqual(errors, []);
    assert.equal(packets.length, 1);
    assert.equal(packets[0]!.cmd, c.packet.cmd);
    assert.deepEqual([...encode(packets[0]!, c.version)], c.bytes);
  });
}

test('codec: packets split across chunks at every byte boundary decode the same', () => {
  const bytes = Buffer.concat(CODEC_CASES.filter((c) => c.version === 4).map((c) => Buffer.from(c.bytes)));
  for (let cut = 1; cut < bytes.length; cut++) {
    const packets: Packet[] = [];
    const decoder = new Decoder({ packet: (p) => packets.push(p), error: (e) => { throw e; } }, 0, 4);
    decoder.push(bytes.subarray(0, cut));
    decoder.push(bytes.subarray(cut));
    assert.equal(packets.length, CODEC_CASES.filter((c) => c.version === 4).length, `cut at ${cut}`);
  }
});

const MALFORMED: Array<{ name: string; bytes: number[]; reason: number; max?: number }> = [
  { name: 'five Remaining Length bytes', bytes: [0x30, 0xff, 0xff, 0xff, 0xff, 0x01], reason: 0x81 },
  { name: 'packet type 0', bytes: [0x00, 0x00], reason: 0x81 },
  { name: 'SUBSCRIBE with flags 0000', bytes: [0x80, 0x06, 0x00, 0x01, 0x00, 0x01, 0x61, 0x00], reason: 0x81 },
  { name: 'over the maximum packet size', bytes: [0x30, 0x10], reason: 0x95, max: 10 },
  { name: 'CONNECT with protocol level 6', bytes: [0x10, 0x0d, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x06, 0x02, 0x00, 0x00, 0x00, 0x01, 0x61], reason: 0x84 },
];

for (const bad of MALFORMED) {
  test(`codec: ${bad.name} is one error with reason ${reasonName(bad.reason)}`, () => {
    const { packets, errors } = decodeAll(Buffer.from(bad.bytes), 4, bad.max);
    assert.equal(packets.length, 0);
    assert.deepEqual(errors.map((e) => e.reasonCode), [bad.reason]);
  });
}

test('codec: an encoded PUBLISH is reused with only its packet id and DUP patched', () => {
  for (const version of [4, 5] as const) {
    const base = encode({ cmd: 'publish', topic: 'x/y', payload: Buffer.from('p'), qos: 1, retain: false, dup: false, messageId: 1, properties: version === 5 ? { contentType: 'c' } : undefined }, version);
    const offset = publishPacketIdOffset(base);
    const patched = patchPublish(base, offset, 513, true);
    const direct = encode({ cmd: 'publish', topic: 'x/y', payload: Buffer.from('p'), qos: 1, retain: false, dup: true, messageId: 513, properties: version === 5 ? { contentType: 'c' } : undefined }, version);
    assert.deepEqual(patched, direct);
    assert.equal(base.readUInt16BE(offset), 1, 'the shared encoding is not modified');
  }
});

test('codec: ill-formed UTF-8 is detected after decoding', () => {
  assert.equal(isWellFormedUtf8('a/b/ü'), true);
  assert.equal(isWellFormedUtf8(Buffer.from([0x61, 0xc3, 0x28]).toString('utf8')), false);
  assert.equal(isWellFormedUtf8(Buffer.from([0xed, 0xa0, 0x80]).toString('utf8')), false); // an encoded surrogate
});

// mqtt-packet reports these as packets with messageId -1; found by the fuzz harness (the broker
// then tried to encode a PUBCOMP with id -1).
const CUT_SHORT_IDS: Array<[string, number[], ProtocolVersion]> = [
  ['PUBREL with a 1-byte body', [0x62, 0x01, 0x00], 4],
  ['PUBREL with an empty body', [0x62, 0x00], 5],
  ['PUBACK with a 1-byte body', [0x40, 0x01, 0x00], 4],
  ['PUBREC with a 1-byte body', [0x50, 0x01, 0x00], 4],
  ['PUBCOMP with a 1-byte body', [0x70, 0x01, 0x00], 4],
  ['QoS 1 PUBLISH with no room for its packet identifier', [0x32, 0x03, 0x00, 0x01, 0x61], 4],
];
for (const [name, bytes, version] of CUT_SHORT_IDS) {
  test(`codec [MQTT-1.5.5-1]: ${name} is malformed, not a packet with id -1`, () => {
    const { packets, errors } = decodeAll(Buffer.from(bytes), version);
    assert.deepEqual(packets, []);
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.reasonCode, 0x81);
  });
}
