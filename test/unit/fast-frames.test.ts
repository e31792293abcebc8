// The frame scanner and splitter: packet boundaries from the remaining length, however the bytes are chunked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import mqttPacket from 'mqtt-packet';
import {
  frameLength, declaredFrameLength, bodyOffset, FrameSplitter, FRAME_INCOMPLETE, FRAME_MALFORMED,
  SPLIT_OK, SPLIT_MALFORMED, SPLIT_TOO_LARGE,
} from '../../src/codec/fast-frames.js';

test('[MQTT-1.5.5] frameLength reads 1- to 4-byte remaining lengths', () => {
  for (const remaining of [0, 1, 127, 128, 16383, 16384, 2097151, 2097152]) {
    const frame = mqttPacket.generate({ cmd: 'publish', topic: 't', payload: Buffer.alloc(Math.max(0, remaining - 3)), qos: 0, retain: false, dup: false });
    if (remaining < 3) continue;
    assert.equal(frameLength(frame, 0, frame.length), frame.length, `remaining ${remaining}`);
    assert.equal(frameLength(frame, 0, frame.length - 1), FRAME_INCOMPLETE);
    assert.equal(declaredFrameLength(frame, 0, 5), frame.length);
    assert.equal(bodyOffset(frame, 0), frame.length - remaining);
  }
  assert.equal(frameLength(Buffer.from([0xc0, 0x00]), 0, 2), 2);
  assert.equal(frameLength(Buffer.from([0xc0]), 0, 1), FRAME_INCOMPLETE);
  assert.equal(frameLength(Buffer.from([0x30, 0x80, 0x80]), 0, 3), FRAME_INCOMPLETE);
});

test('[MQTT-1.5.5-1] a remaining length over four bytes is malformed', () => {
  const bytes = Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]);
  assert.equal(frameLength(bytes, 0, bytes.length), FRAME_MALFORMED);
  assert.equal(declaredFrameLength(bytes, 0, bytes.length), FRAME_MALFORMED);
  const splitter = new FrameSplitter<null>(() => assert.fail('no frame'));
  assert.equal(splitter.split(null, bytes), SPLIT_MALFORMED);
});

function frames(count: number, seed: number): Buffer[] {
  let state = seed;
  const random = (n: number) => { state = (state * 1103515245 + 12345) & 0x7fffffff; return state % n; };
  const list: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const kind = random(4);
    if (kind === 0) list.push(mqttPacket.generate({ cmd: 'pingreq' }));
    else if (kind === 1) list.push(mqttPacket.generate({ cmd: 'puback', messageId: 1 + random(65535) }));
    else list.push(mqttPacket.generate({ cmd: 'publish', topic: `t/${i}`, payload: Buffer.alloc(random(kind === 2 ? 50 : 40000), i & 0xff), qos: 0, retain: false, dup: false }));
  }
  return list;
}

test('FrameSplitter hands over exactly the frames, for any chunking (1 byte, random, all at once)', () => {
  const list = frames(200, 3);
  const stream = Buffer.concat(list);
  for (const chunkSize of [1, 2, 3, 7, 100, 1500, 65536, stream.length]) {
    const seen: string[] = [];
    const splitter = new FrameSplitter<string[]>((out, buffer, start, end) => out.push(buffer.subarray(start, end).toString('hex')));
    for (let offset = 0; offset < stream.length; offset += chunkSize) {
      assert.equal(splitter.split(seen, stream.subarray(offset, offset + chunkSize)), SPLIT_OK);
    }
    assert.equal(splitter.buffered, 0);
    assert.equal(seen.length, list.length, `chunk ${chunkSize}`);
    assert.deepEqual(seen, list.map((frame) => frame.toString('hex')));
  }
});

test('FrameSplitter refuses a frame over its limit as soon as the header says so, before buffering it', () => {
  const big = mqttPacket.generate({ cmd: 'publish', topic: 't', payload: Buffer.alloc(5000), qos: 0, retain: false, dup: false });
  const splitter = new FrameSplitter<null>(() => assert.fail('no frame'), 1000);
  assert.equal(splitter.split(null, big.subarray(0, 10)), SPLIT_TOO_LARGE);
  const byByte = new FrameSplitter<null>(() => assert.fail('no frame'), 1000);
  assert.equal(byByte.split(null, big.subarray(0, 1)), SPLIT_OK);
  assert.equal(byByte.split(null, big.subarray(1, 2)), SPLIT_OK);
  assert.equal(byByte.split(null, big.subarray(2, 3)), SPLIT_TOO_LARGE);
  let count = 0;
  const fits = new FrameSplitter<null>(() => { count++; }, big.length);
  assert.equal(fits.split(null, big), SPLIT_OK);
  assert.equal(count, 1);
});
