// The codec's Decoder (frame splitter + fast parsers + mqtt-packet for the rest) against one plain
// mqtt-packet parser over the same stream: the same packets in the same order, for any chunking.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import mqttPacket from 'mqtt-packet';
import { Decoder } from '../../src/codec/index.js';
import type { MqttError, Packet } from '../../src/codec/index.js';

type Version = 3 | 4 | 5;

function plain(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return Buffer.from(value).toString('hex');
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(value)) out[key] = plain(field);
    return out;
  }
  return value;
}

interface Outcome { packets: unknown[]; errors: Array<{ code: number }> }
interface Handlers { packet(packet: Packet): void; error(error: MqttError): void }

function collect(): { handlers: Handlers; outcome: Outcome } {
  const outcome: Outcome = { packets: [], errors: [] };
  return {
    outcome,
    handlers: {
      packet: (packet: Packet) => outcome.packets.push(plain(packet)),
      error: (error: MqttError) => outcome.errors.push({ code: error.reasonCode }),
    },
  };
}

/** The reference: one mqtt-packet parser fed the whole stream, as plain data. */
function reference(whole: Buffer): Outcome {
  const outcome: Outcome = { packets: [], errors: [] };
  const parser = mqttPacket.parser();
  parser.on('packet', (packet: unknown) => outcome.packets.push(plain(packet)));
  parser.on('error', () => outcome.errors.push({ code: -1 }));
  parser.parse(whole);
  return outcome;
}

function stream(version: Version, count: number, seed: number): Buffer[] {
  let state = seed;
  const random = (n: number) => { state = (state * 1103515245 + 12345) & 0x7fffffff; return state % n; };
  const opts = { protocolVersion: version };
  const frames = [mqttPacket.generate({ cmd: 'connect', protocolId: version === 3 ? 'MQIsdp' : 'MQTT', protocolVersion: version, clientId: 'c', clean: true, keepalive: 30 }, opts)];
  for (let i = 0; i < count; i++) {
    const kind = random(7);
    const qos = random(3) as 0 | 1 | 2;
    if (kind <= 2) {
      const packet: mqttPacket.IPublishPacket = { cmd: 'publish', topic: `t/${i}/é`, payload: Buffer.alloc(random(kind === 2 ? 3000 : 40), i & 0xff), qos, retain: random(2) === 1, dup: false };
      if (qos > 0) packet.messageId = 1 + random(65535);
      if (version === 5 && random(2) === 1) packet.properties = random(2) === 1 ? { contentType: 'x', messageExpiryInterval: 5 } : { userProperties: { a: 'b' } };
      frames.push(mqttPacket.generate(packet, opts));
    } else if (kind === 3) {
      frames.push(mqttPacket.generate({ cmd: (['puback', 'pubrec', 'pubrel', 'pubcomp'] as const)[random(4)], messageId: 1 + random(65535), reasonCode: 0 }, opts));
    } else if (kind === 4) {
      frames.push(mqttPacket.generate({ cmd: 'pingreq' }, opts));
    } else if (kind === 5) {
      frames.push(mqttPacket.generate({ cmd: 'subscribe', messageId: 1 + random(1000), subscriptions: [{ topic: `s/${i}/#`, qos }] }, opts));
    } else {
      frames.push(mqttPacket.generate({ cmd: 'unsubscribe', messageId: 1 + random(1000), unsubscriptions: [`s/${i}`] }, opts));
    }
  }
  return frames;
}

for (const version of [3, 4, 5] as Version[]) {
  test(`Decoder emits what one mqtt-packet parser emits, v${version}, for chunk sizes 1 to whole`, () => {
    const whole = Buffer.concat(stream(version, 300, version * 7));
    const expected = reference(whole);
    assert.equal(expected.errors.length, 0);
    assert.equal(expected.packets.length, 301);
    for (const size of [1, 5, 64, 1000, 65536, whole.length]) {
      const got = collect();
      const decoder = new Decoder(got.handlers, 0);
      for (let offset = 0; offset < whole.length; offset += size) decoder.push(whole.subarray(offset, offset + size));
      assert.deepEqual(got.outcome, expected, `chunk ${size}`);
    }
  });
}

test('[MQTT-1.5.5-1] [MQTT-2.2.2-2] errors: reserved type 0, five length bytes, malformed body, over the size limit', () => {
  const connect = stream(4, 0, 1)[0]!;
  const cases: Array<[string, Buffer, number, number]> = [
    ['type 0', Buffer.from([0x00, 0x00]), 0, 0x81],
    ['5-byte remaining length', Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]), 0, 0x81],
    ['PUBREL with bad flags', Buffer.concat([connect, Buffer.from([0x60, 0x02, 0x00, 0x01])]), 0, 0x81],
    ['over maximum packet size', Buffer.concat([connect, mqttPacket.generate({ cmd: 'publish', topic: 't', payload: Buffer.alloc(500), qos: 0, retain: false, dup: false })]), 200, 0x95],
  ];
  for (const [name, bytes, limit, code] of cases) {
    const fast = collect();
    const decoder = new Decoder(fast.handlers, limit);
    decoder.push(bytes);
    decoder.push(Buffer.from([0xc0, 0x00])); // silent after an error
    assert.deepEqual(fast.outcome.errors, [{ code }], name);
  }
});
