// Sessions: offline queue, redelivery with DUP, inflight window, session expiry, queue limits.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, VERSIONS } from '../helpers/raw-client.js';
import type { IPublishPacket, IConnectPacket } from '../../src/codec/index.js';

const persistent = (version: number, clientId: string): Partial<IConnectPacket> =>
  version === 5 ? { clientId, clean: false, properties: { sessionExpiryInterval: 300 } } : { clientId, clean: false };

for (const version of VERSIONS) {
  test(`[MQTT-3.1.2-5] an offline persistent session queues QoS 1/2 and not QoS 0 (v${version})`, async (t) => {
    const { connect, open, broker } = await startBroker(t);
    const sub = await connect(version, persistent(version, 'off'));
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'q/#', qos: 2 }] });
    await sub.expect('suback');
    await sub.disconnect();
    broker.publish('q/0', 'zero', { qos: 0 });
    broker.publish('q/1', 'one', { qos: 1 });
    broker.publish('q/2', 'two', { qos: 2 });
    const back = await open(version);
    assert.equal((await back.handshake(persistent(version, 'off'))).sessionPresent, true);
    const first = (await back.expect('publish')) as IPublishPacket;
    const second = (await back.expect('publish')) as IPublishPacket;
    assert.deepEqual([first.topic, first.qos, first.messageId, second.topic, second.qos, second.messageId], ['q/1', 1, 1, 'q/2', 2, 2]);
    assert.equal(await back.silentFor(200), true);
  });

  test(`[MQTT-4.4.0-1] unacknowledged messages are resent with DUP on reconnect (v${version})`, async (t) => {
    const { connect, open, broker } = await startBroker(t);
    const sub = await connect(version, persistent(version, 'dup'));
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'd', qos: 1 }] });
    await sub.expect('suback');
    broker.publish('d', 'again', { qos: 1 });
    const first = (await sub.expect('publish')) as IPublishPacket;
    assert.equal(first.dup, false);
    await sub.drop(); // no PUBACK
    const back = await open(version);
    await back.handshake(persistent(version, 'dup'));
    const resent = (await back.expect('publish')) as IPublishPacket;
    assert.deepEqual([resent.dup, resent.messageId, resent.payload.toString()], [true, first.messageId, 'again']);
    back.send({ cmd: 'puback', messageId: resent.messageId });
    assert.equal(await back.silentFor(200), true);
  });

  test(`[MQTT-4.9.0-1] max_inflight_messages bounds unacknowledged deliveries; acks release the rest (v${version})`, async (t) => {
    const { connect, broker } = await startBroker(t, { max_inflight_messages: 2 });
    const sub = await connect(version, { clientId: 'win' });
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'w', qos: 1 }] });
    await sub.expect('suback');
    for (let i = 0; i < 4; i++) broker.publish('w', String(i), { qos: 1 });
    const a = (await sub.expect('publish')) as IPublishPacket;
    const b = (await sub.expect('publish')) as IPublishPacket;
    assert.equal(await sub.silentFor(150), true);
    sub.send({ cmd: 'puback', messageId: a.messageId });
    sub.send({ cmd: 'puback', messageId: b.messageId });
    const c = (await sub.expect('publish')) as IPublishPacket;
    const d = (await sub.expect('publish')) as IPublishPacket;
    assert.deepEqual([a, b, c, d].map((p) => p.payload.toString()), ['0', '1', '2', '3']);
  });

  test(`max_queued_messages drops what does not fit in the offline queue (v${version})`, async (t) => {
    const { connect, open, broker } = await startBroker(t, { max_queued_messages: 2 });
    const sub = await connect(version, persistent(version, 'full'));
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'f', qos: 1 }] });
    await sub.expect('suback');
    await sub.disconnect();
    for (let i = 0; i < 5; i++) broker.publish('f', String(i), { qos: 1 });
    const back = await open(version);
    await back.handshake(persistent(version, 'full'));
    const got = [(await back.expect('publish')) as IPublishPacket, (await back.expect('publish')) as IPublishPacket];
    assert.deepEqual(got.map((p) => p.payload.toString()), ['0', '1']);
    assert.equal(await back.silentFor(200), true);
    assert.equal(broker.metrics.dropped, 3);
  });
}

test('[MQTT-3.1.2-23] 5.0: a session with expiry 0 ends at disconnect', async (t) => {
  const { connect, open } = await startBroker(t);
  const first = await connect(5, { clientId: 'e0', clean: false });
  await first.disconnect();
  const back = await open(5);
  assert.equal((await back.handshake({ clientId: 'e0', clean: false })).sessionPresent, false);
});

test('[MQTT-3.14.2-2] 5.0: DISCONNECT may not raise session expiry from 0', async (t) => {
  const { connect } = await startBroker(t);
  const client = await connect(5, { clientId: 'raise', clean: false });
  client.send({ cmd: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 10 } });
  const sent = await client.closedByBroker();
  assert.deepEqual(sent.map((p) => [p.cmd, (p as { reasonCode?: number }).reasonCode]), [['disconnect', 0x82]]);
});

test('[MQTT-3.1.2-23] 5.0: a session expires after its interval', async (t) => {
  const { connect, open } = await startBroker(t);
  const first = await connect(5, { clientId: 'e1', clean: false, properties: { sessionExpiryInterval: 1 } });
  await first.disconnect();
  await new Promise((resolve) => setTimeout(resolve, 1200)); // expiry itself is under test
  const back = await open(5);
  assert.equal((await back.handshake({ clientId: 'e1', clean: false })).sessionPresent, false);
});

for (const version of VERSIONS) {
  test(`[MQTT-4.4.0-1] a QoS 2 delivery interrupted after PUBREC resumes with PUBREL, not the PUBLISH (v${version})`, async (t) => {
    const { connect, open, broker } = await startBroker(t);
    const sub = await connect(version, persistent(version, 'q2'));
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'two', qos: 2 }] });
    await sub.expect('suback');
    broker.publish('two', 'once', { qos: 2 });
    const got = (await sub.expect('publish')) as IPublishPacket;
    sub.send({ cmd: 'pubrec', messageId: got.messageId });
    await sub.expect('pubrel');
    await sub.drop(); // no PUBCOMP
    const back = await open(version);
    await back.handshake(persistent(version, 'q2'));
    assert.equal((await back.expect('pubrel')).messageId, got.messageId);
    back.send({ cmd: 'pubcomp', messageId: got.messageId });
    assert.equal(await back.silentFor(200), true);
  });
}
