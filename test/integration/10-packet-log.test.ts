// The debug packet trace (src/broker/packet-log.ts), in-process: Mosquitto's lines for a QoS 2
// exchange both ways, in 3.1.1 and 5.0; and none reaches the logger when it says debug is off.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RawClient, startBroker, VERSIONS } from '../helpers/raw-client.js';
import { createBroker } from '../../src/broker/broker.js';
import type { LogType } from '../../src/broker/logger.js';
import type { IPublishPacket } from '../../src/codec/index.js';

for (const version of VERSIONS) {
  test(`v${version}: a QoS 2 message in and out is traced as Mosquitto traces it`, async (t) => {
    const { connect, logs, broker } = await startBroker(t);
    assert.equal(broker.tracePackets, true, 'a logger without enabled() takes every type');
    const sub = await connect(version, { clientId: 'sub', will: { topic: 'w/sub', payload: Buffer.from('bye'), qos: 1, retain: true } });
    sub.send({ cmd: 'subscribe', messageId: 3, subscriptions: [{ topic: 'q/+', qos: 2 }, { topic: 'other', qos: 1 }] });
    await sub.expect('suback');
    const pub = await connect(version, { clientId: 'pub' });
    pub.send({ cmd: 'publish', topic: 'q/2', payload: Buffer.from('four'), qos: 2, messageId: 9, retain: false, dup: false });
    await pub.expect('pubrec');
    pub.send({ cmd: 'pubrel', messageId: 9 });
    await pub.expect('pubcomp');
    const delivery = (await sub.expect('publish')) as IPublishPacket;
    sub.send({ cmd: 'pubrec', messageId: delivery.messageId! });
    await sub.expect('pubrel');
    sub.send({ cmd: 'pubcomp', messageId: delivery.messageId! });
    pub.send({ cmd: 'pingreq' });
    await pub.expect('pingresp');
    await pub.disconnect();
    await sub.disconnect();
    const p = version === 5 ? 'p5' : 'p2';
    assert.deepEqual(logs.filter((line) => line.type === 'debug').map((line) => line.message), [
      'Will message specified (3 bytes) (r1, q1).',
      '\tw/sub',
      'Sending CONNACK to sub (0, 0)',
      'Received SUBSCRIBE from sub',
      '\tq/+ (QoS 2)',
      '\tother (QoS 1)',
      'Sending SUBACK to sub',
      'No will message specified.',
      'Sending CONNACK to pub (0, 0)',
      "Received PUBLISH from pub (d0, q2, r0, m9, 'q/2', ... (4 bytes))",
      'Sending PUBREC to pub (m9, rc0)',
      'Received PUBREL from pub (Mid: 9)',
      // Routed at PUBREL, before PUBCOMP, as Mosquitto 2.0 does.
      "Sending PUBLISH to sub (d0, q2, r0, m1, 'q/2', ... (4 bytes))",
      'Sending PUBCOMP to pub (m9)',
      'Received PUBREC from sub (Mid: 1)',
      'Sending PUBREL to sub (m1)',
      'Received PUBCOMP from sub (Mid: 1, RC:0)',
      'Received PINGREQ from pub',
      'Sending PINGRESP to pub',
      'Received DISCONNECT from pub',
      'Received DISCONNECT from sub',
    ]);
    // (5.0 keep alive 0 is answered with max_keepalive, as Mosquitto does.)
    assert.ok(logs.some((line) => line.type === 'notice' && new RegExp(`^New client connected from 127\\.0\\.0\\.1:\\d+ as pub \\(${p}, c1, k\\d+\\)\\.$`).test(line.message)), JSON.stringify(logs));
  });
}

test('a refused CONNECT is traced with the peer address: Sending CONNACK to 127.0.0.1 (0, 5)', async (t) => {
  const { open, logs } = await startBroker(t, { authenticate: () => false });
  const client = await open(4);
  const connack = await client.handshake({ clientId: 'nope', username: 'u', password: Buffer.from('p') });
  assert.equal(connack.returnCode, 5);
  await client.closed;
  assert.ok(logs.some((line) => line.type === 'debug' && line.message === 'Sending CONNACK to 127.0.0.1 (0, 5)'), JSON.stringify(logs));
});

test('with debug off no trace line reaches the logger (the broker asks once, then tests a field)', async (t) => {
  const lines: Array<{ type: LogType; message: string }> = [];
  let asked = 0;
  const broker = createBroker({
    sys_interval: 0,
    listeners: [{ port: 0, host: '127.0.0.1' }],
    logger: { log: (type, message) => lines.push({ type, message }), enabled: (type) => { if (type === 'debug') asked++; return type !== 'debug'; } },
  });
  t.after(() => broker.close());
  const [address] = await broker.listen();
  assert.equal(broker.tracePackets, false);
  const { client: sub } = await RawClient.connect(address!.port, 5, { clientId: 'quiet-sub' });
  sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 't', qos: 1 }] });
  await sub.expect('suback');
  const { client: pub } = await RawClient.connect(address!.port, 4, { clientId: 'quiet-pub' });
  pub.send({ cmd: 'publish', topic: 't', payload: Buffer.from('x'), qos: 1, messageId: 1, retain: false, dup: false });
  await pub.expect('puback');
  const delivery = (await sub.expect('publish')) as IPublishPacket;
  sub.send({ cmd: 'puback', messageId: delivery.messageId! });
  await pub.disconnect();
  await sub.disconnect();
  assert.deepEqual(lines.filter((line) => line.type === 'debug'), []);
  assert.ok(lines.some((line) => line.message === 'Client quiet-pub disconnected.'), 'notice lines still go out');
  assert.equal(asked, 1, 'enabled(debug) asked once, at creation');
});
