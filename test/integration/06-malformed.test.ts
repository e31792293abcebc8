// Bad input closes only the offending connection (5.0 DISCONNECT with a reason code where the
// version has one), logs a line, and leaves the broker serving everyone else.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startBroker, VERSIONS } from '../helpers/raw-client.js';
import type { IPublishPacket } from '../../src/codec/index.js';

interface BadCase {
  name: string;
  bytes: number[];
  /** 5.0 DISCONNECT reason expected; 3.1.1 connections just close. */
  reason: number;
  options?: { max_packet_size?: number };
}

const CASES: BadCase[] = [
  { name: '[MQTT-1.5.5-1] a fifth Remaining Length byte', bytes: [0x30, 0xff, 0xff, 0xff, 0xff, 0x01], reason: 0x81 },
  { name: '[MQTT-2.2.2-2] reserved flags of SUBSCRIBE not 0010', bytes: [0x80, 0x06, 0x00, 0x01, 0x00, 0x01, 0x61, 0x00], reason: 0x81 },
  { name: '[MQTT-2.2.2-2] PUBREL with flags 0000', bytes: [0x60, 0x02, 0x00, 0x01], reason: 0x81 },
  { name: '[MQTT-3.3.1-4] PUBLISH with both QoS bits set', bytes: [0x36, 0x03, 0x00, 0x01, 0x61], reason: 0x81 },
  { name: 'reserved packet type 0', bytes: [0x00, 0x00], reason: 0x81 },
  { name: 'packet over max_packet_size', bytes: [0x30, 0x80, 0x01, ...new Array(128).fill(0x61)], reason: 0x95, options: { max_packet_size: 100 } },
  { name: '[MQTT-3.8.3-2] SUBSCRIBE without any filter', bytes: [0x82, 0x02, 0x00, 0x01], reason: 0x82 },
  { name: '[MQTT-3.10.3-2] UNSUBSCRIBE without any filter', bytes: [0xa2, 0x02, 0x00, 0x01], reason: 0x82 },
  { name: 'a CONNACK sent by a client', bytes: [0x20, 0x02, 0x00, 0x00], reason: 0x82 },
  // 0x84 is a CONNACK-only code: a DISCONNECT carries 0x82 instead (found by the random-garbage test).
  { name: '[MQTT-3.1.0-2] a second CONNECT with an unknown protocol level', bytes: [0x10, 0x0d, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x07, 0x02, 0x00, 0x3c, 0x00, 0x01, 0x78], reason: 0x82 },
  { name: '[MQTT-1.5.5-1] PUBREL whose packet identifier is cut short', bytes: [0x62, 0x01, 0x00], reason: 0x81 },
];

for (const version of VERSIONS) {
  for (const bad of CASES) {
    test(`${bad.name} closes only that connection (v${version})`, async (t) => {
      const { connect, logs } = await startBroker(t, bad.options);
      const bystander = await connect(version, { clientId: 'ok' });
      bystander.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 't', qos: 0 }] });
      await bystander.expect('suback');
      const offender = await connect(version, { clientId: 'bad' });
      offender.sendBytes(bad.bytes);
      const sent = await offender.closedByBroker();
      if (version === 5) assert.deepEqual(sent.map((p) => [p.cmd, (p as { reasonCode?: number }).reasonCode]), [['disconnect', bad.reason]]);
      else assert.deepEqual(sent, []);
      assert.ok(logs.some((line) => line.message.startsWith('Client bad disconnected')), 'a log line names the client');
      const publisher = await connect(version, { clientId: 'pub' });
      publisher.send({ cmd: 'publish', topic: 't', payload: Buffer.from('still here'), qos: 0, retain: false, dup: false });
      assert.equal(((await bystander.expect('publish')) as IPublishPacket).payload.toString(), 'still here');
    });
  }
}

test('random garbage after CONNECT never crashes the broker', async (t) => {
  const { connect, open } = await startBroker(t);
  for (let round = 0; round < 30; round++) {
    const client = await connect(round % 2 ? 5 : 4, { clientId: `fuzz${round}` });
    client.sendBytes(randomBytes(64 + round * 7));
    client.socket.end();
    await client.closed;
  }
  const check = await open(4);
  const connack = await check.handshake({ clientId: 'after' });
  assert.equal(connack.returnCode, 0);
});

test('random garbage instead of CONNECT never crashes the broker', async (t) => {
  const { open } = await startBroker(t);
  for (let round = 0; round < 30; round++) {
    const client = await open(4);
    client.sendBytes(randomBytes(32 + round));
    client.socket.end();
    await client.closed;
  }
  const check = await open(5);
  assert.equal((await check.handshake({ clientId: 'after' })).reasonCode, 0);
});
