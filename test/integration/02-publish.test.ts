// PUBLISH at QoS 0/1/2 both ways, retained messages, topic validation and 5.0 publish properties.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, VERSIONS } from '../helpers/raw-client.js';
import type { IPublishPacket, IPubackPacket, IPubrecPacket, IDisconnectPacket, ISubackPacket } from '../../src/codec/index.js';

const subscribe = async (client: Awaited<ReturnType<Awaited<ReturnType<typeof startBroker>>['connect']>>, topic: string, qos: 0 | 1 | 2, extra: object = {}) => {
  client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos, ...extra }] });
  return (await client.expect('suback')) as ISubackPacket;
};

for (const version of VERSIONS) {
  for (const qos of [0, 1, 2] as const) {
    test(`[MQTT-4.3.${qos + 1}-1] QoS ${qos} publish is delivered at QoS ${qos} with packet id 1 first (v${version})`, async (t) => {
      const { connect } = await startBroker(t);
      const sub = await connect(version, { clientId: 's' });
      await subscribe(sub, 'a/b', 2);
      const pub = await connect(version, { clientId: 'p' });
      pub.send({ cmd: 'publish', topic: 'a/b', payload: Buffer.from('hi'), qos, retain: false, dup: false, messageId: qos ? 7 : undefined });
      if (qos === 1) assert.equal(((await pub.expect('puback')) as IPubackPacket).messageId, 7);
      if (qos === 2) {
        assert.equal((await pub.expect('pubrec')).messageId, 7);
        pub.send({ cmd: 'pubrel', messageId: 7 });
        assert.equal((await pub.expect('pubcomp')).messageId, 7);
      }
      const got = (await sub.expect('publish')) as IPublishPacket;
      assert.equal(got.topic, 'a/b');
      assert.equal(got.payload.toString(), 'hi');
      assert.equal(got.qos, qos);
      assert.equal(got.retain, false);
      if (qos > 0) assert.equal(got.messageId, 1); // [MQTT-2.2.1-2] ids from 1 per client
      if (qos === 2) {
        sub.send({ cmd: 'pubrec', messageId: 1 });
        assert.equal((await sub.expect('pubrel')).messageId, 1);
        sub.send({ cmd: 'pubcomp', messageId: 1 });
      }
    });
  }

  test(`[MQTT-3.8.4-8] delivery is downgraded to the subscription QoS (v${version})`, async (t) => {
    const { connect } = await startBroker(t);
    const sub = await connect(version, { clientId: 's' });
    await subscribe(sub, 'down/#', 1);
    const pub = await connect(version, { clientId: 'p' });
    pub.send({ cmd: 'publish', topic: 'down/x', payload: Buffer.from('x'), qos: 2, retain: false, dup: false, messageId: 1 });
    await pub.expect('pubrec');
    pub.send({ cmd: 'pubrel', messageId: 1 });
    assert.equal(((await sub.expect('publish')) as IPublishPacket).qos, 1);
  });

  test(`[MQTT-4.3.3-9] inbound QoS 2 duplicate before PUBREL is delivered exactly once (v${version})`, async (t) => {
    const { connect } = await startBroker(t);
    const sub = await connect(version, { clientId: 's' });
    await subscribe(sub, 'once', 0);
    const pub = await connect(version, { clientId: 'p' });
    const packet: IPublishPacket = { cmd: 'publish', topic: 'once', payload: Buffer.from('1'), qos: 2, retain: false, dup: false, messageId: 9 };
    pub.send(packet);
    await pub.expect('pubrec');
    pub.send({ ...packet, dup: true });
    await pub.expect('pubrec');
    pub.send({ cmd: 'pubrel', messageId: 9 });
    await pub.expect('pubcomp');
    assert.equal(String(((await sub.expect('publish')) as IPublishPacket).payload), '1');
    // A marker from the same publisher comes next: no second copy was routed before it.
    pub.send({ cmd: 'publish', topic: 'once', payload: Buffer.from('marker'), qos: 0, retain: false, dup: false });
    assert.equal(String(((await sub.expect('publish')) as IPublishPacket).payload), 'marker');
  });

  test(`[MQTT-3.3.1-5] [MQTT-3.3.1-8] retained message stored and sent with retain 1 to new subscribers (v${version})`, async (t) => {
    const { connect } = await startBroker(t);
    const pub = await connect(version, { clientId: 'p' });
    pub.send({ cmd: 'publish', topic: 'r/1', payload: Buffer.from('kept'), qos: 1, retain: true, dup: false, messageId: 1 });
    await pub.expect('puback');
    const sub = await connect(version, { clientId: 's' });
    await subscribe(sub, 'r/+', 1);
    const got = (await sub.expect('publish')) as IPublishPacket;
    assert.deepEqual([got.topic, got.payload.toString(), got.retain, got.qos], ['r/1', 'kept', true, 1]);
    // [MQTT-3.3.1-10] an empty retained payload clears it
    pub.send({ cmd: 'publish', topic: 'r/1', payload: Buffer.alloc(0), qos: 0, retain: true, dup: false });
    // [MQTT-3.3.1-9] a live subscriber sees retain 0
    const live = (await sub.expect('publish')) as IPublishPacket;
    assert.equal(live.retain, false);
    const late = await connect(version, { clientId: 'late' });
    await subscribe(late, 'r/+', 1);
    assert.equal(await late.silentFor(200), true);
  });

  test(`[MQTT-3.3.2-2] a wildcard in a PUBLISH topic closes the connection (v${version})`, async (t) => {
    const { connect } = await startBroker(t);
    const pub = await connect(version, { clientId: 'p' });
    pub.sendBytes([0x30, 0x05, 0x00, 0x03, 0x61, 0x2f, 0x23]); // topic "a/#"
    const sent = await pub.closedByBroker();
    if (version === 5) assert.deepEqual(sent.map((p) => (p as IDisconnectPacket).reasonCode), [0x90]);
    else assert.deepEqual(sent, []);
  });

  test(`[MQTT-1.5.4-1] ill-formed UTF-8 in a topic closes the connection (v${version})`, async (t) => {
    const { connect } = await startBroker(t);
    const pub = await connect(version, { clientId: 'p' });
    pub.sendBytes([0x30, 0x04, 0x00, 0x02, 0xc3, 0x28]);
    const sent = await pub.closedByBroker();
    if (version === 5) assert.deepEqual(sent.map((p) => (p as IDisconnectPacket).reasonCode), [0x81]);
  });

  for (const [topic, filter] of [['$SYS/broker/fake', '$SYS/#'], ['$share/g/t', '$share/g/#']]) {
    test(`publishing to ${topic.split('/')[0]}/ is refused (v${version}: ${version === 5 ? 'PUBACK 0x87' : 'dropped'}), as Mosquitto`, async (t) => {
      const { connect } = await startBroker(t);
      const sub = await connect(version, { clientId: 's' });
      await subscribe(sub, filter, 0);
      const pub = await connect(version, { clientId: 'p' });
      pub.send({ cmd: 'publish', topic, payload: Buffer.from('x'), qos: 1, retain: false, dup: false, messageId: 3 });
      const ack = (await pub.expect('puback')) as IPubackPacket;
      assert.equal(ack.reasonCode ?? 0, version === 5 ? 0x87 : 0);
      assert.equal(await sub.silentFor(200), true);
    });
  }

  test(`[MQTT-4.7.2-1] '#' does not match topics starting with $ (v${version})`, async (t) => {
    const { connect, broker } = await startBroker(t);
    const sub = await connect(version, { clientId: 's' });
    await subscribe(sub, '#', 0);
    broker.publish('$internal/x', 'hidden');
    broker.publish('visible', 'shown');
    assert.equal(((await sub.expect('publish')) as IPublishPacket).topic, 'visible');
  });
}

test('5.0: PUBACK 0x10 when no subscriber matches, as Mosquitto', async (t) => {
  const { connect } = await startBroker(t);
  const pub = await connect(5, { clientId: 'p' });
  pub.send({ cmd: 'publish', topic: 'nobody', payload: Buffer.from('x'), qos: 1, retain: false, dup: false, messageId: 4 });
  const reply = await pub.nextReceived();
  assert.deepEqual([...reply!.bytes], [0x40, 0x03, 0x00, 0x04, 0x10]);
  pub.send({ cmd: 'publish', topic: 'nobody', payload: Buffer.from('x'), qos: 2, retain: false, dup: false, messageId: 5 });
  assert.equal(((await pub.expect('pubrec')) as IPubrecPacket).reasonCode, 0x10);
});

test('[MQTT-3.3.2-20] 5.0 properties pass through unchanged; subscription identifier added', async (t) => {
  const { connect } = await startBroker(t);
  const sub = await connect(5, { clientId: 's' });
  sub.send({ cmd: 'subscribe', messageId: 1, properties: { subscriptionIdentifier: 42 }, subscriptions: [{ topic: 'p/#', qos: 1 }] });
  await sub.expect('suback');
  const pub = await connect(5, { clientId: 'p' });
  const properties = {
    payloadFormatIndicator: true, contentType: 'text/plain', responseTopic: 'reply/here',
    correlationData: Buffer.from([1, 2, 3]), userProperties: { a: '1', b: ['x', 'y'] },
  };
  pub.send({ cmd: 'publish', topic: 'p/1', payload: Buffer.from('héllo'), qos: 1, retain: false, dup: false, messageId: 1, properties });
  const got = (await sub.expect('publish')) as IPublishPacket;
  assert.deepEqual({ ...got.properties, userProperties: { ...got.properties?.userProperties } }, { ...properties, subscriptionIdentifier: 42 });
});

test('[MQTT-3.3.2-4] 5.0: payload format indicator 1 with a non-UTF-8 payload gets 0x99', async (t) => {
  const { connect } = await startBroker(t);
  const pub = await connect(5, { clientId: 'p' });
  pub.send({ cmd: 'publish', topic: 'fmt', payload: Buffer.from([0xff, 0xfe]), qos: 1, retain: false, dup: false, messageId: 1, properties: { payloadFormatIndicator: true } });
  assert.equal(((await pub.expect('puback')) as IPubackPacket).reasonCode, 0x99);
});

test('[MQTT-3.3.2-8] 5.0 inbound topic alias: set, reuse, and out of range is 0x94', async (t) => {
  const { connect } = await startBroker(t);
  const sub = await connect(5, { clientId: 's' });
  await subscribe(sub, 'alias/#', 0);
  const pub = await connect(5, { clientId: 'p' });
  pub.send({ cmd: 'publish', topic: 'alias/long/topic', payload: Buffer.from('1'), qos: 0, retain: false, dup: false, properties: { topicAlias: 3 } });
  pub.send({ cmd: 'publish', topic: '', payload: Buffer.from('2'), qos: 0, retain: false, dup: false, properties: { topicAlias: 3 } });
  for (const payload of ['1', '2']) {
    const got = (await sub.expect('publish')) as IPublishPacket;
    assert.deepEqual([got.topic, got.payload.toString(), got.properties?.topicAlias], ['alias/long/topic', payload, undefined]);
  }
  pub.send({ cmd: 'publish', topic: 'x', payload: Buffer.from('3'), qos: 0, retain: false, dup: false, properties: { topicAlias: 11 } });
  assert.deepEqual((await pub.closedByBroker()).map((p) => (p as IDisconnectPacket).reasonCode), [0x94]);
});

test('[MQTT-3.3.4-7] 5.0: inbound QoS 2 over Receive Maximum is 0x93', async (t) => {
  const { connect } = await startBroker(t, { max_inflight_messages: 2 });
  const pub = await connect(5, { clientId: 'p' });
  for (const id of [1, 2, 3]) pub.send({ cmd: 'publish', topic: 'q2', payload: Buffer.from('x'), qos: 2, retain: false, dup: false, messageId: id });
  const sent = await pub.closedByBroker();
  assert.deepEqual(sent.map((p) => [p.cmd, (p as IDisconnectPacket).reasonCode]), [['pubrec', 0x10], ['pubrec', 0x10], ['disconnect', 0x93]]);
});

test('[MQTT-3.1.2-24] 5.0: a message over the client\'s Maximum Packet Size is not sent to it', async (t) => {
  const { connect } = await startBroker(t);
  const sub = await connect(5, { clientId: 's', properties: { maximumPacketSize: 64 } });
  await subscribe(sub, 'big', 1);
  const pub = await connect(5, { clientId: 'p' });
  pub.send({ cmd: 'publish', topic: 'big', payload: Buffer.alloc(100), qos: 1, retain: false, dup: false, messageId: 1 });
  pub.send({ cmd: 'publish', topic: 'big', payload: Buffer.from('small'), qos: 1, retain: false, dup: false, messageId: 2 });
  const got = (await sub.expect('publish')) as IPublishPacket;
  assert.equal(got.payload.toString(), 'small');
});

test('[MQTT-3.3.2-6] 5.0: message expiry counts down while queued; expired messages are dropped', async (t) => {
  const { connect, open, broker } = await startBroker(t);
  const session = { clientId: 'offline', clean: false, properties: { sessionExpiryInterval: 60 } };
  const sub = await connect(5, session);
  await subscribe(sub, 'exp/#', 1);
  await sub.disconnect();
  broker.publish('exp/gone', 'x', { qos: 1, properties: { messageExpiryInterval: 1 } });
  broker.publish('exp/kept', 'y', { qos: 1, properties: { messageExpiryInterval: 100 } });
  await new Promise((resolve) => setTimeout(resolve, 1100)); // the expiry itself is what is tested
  const back = await open(5);
  await back.handshake(session);
  const got = (await back.expect('publish')) as IPublishPacket;
  assert.equal(got.topic, 'exp/kept');
  assert.ok(got.properties!.messageExpiryInterval! <= 99);
  assert.equal(await back.silentFor(200), true);
});

test('[MQTT-3.3.4-6] 5.0: a PUBLISH from a client with a subscription identifier is a protocol error', async (t) => {
  const { connect } = await startBroker(t);
  const pub = await connect(5, { clientId: 'p' });
  pub.send({ cmd: 'publish', topic: 'x', payload: Buffer.from('1'), qos: 0, retain: false, dup: false, properties: { subscriptionIdentifier: 3 } });
  assert.deepEqual((await pub.closedByBroker()).map((p) => (p as IDisconnectPacket).reasonCode), [0x82]);
});
