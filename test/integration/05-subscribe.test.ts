// SUBSCRIBE/UNSUBSCRIBE: SUBACK/UNSUBACK codes, overlapping subscriptions, 5.0 subscription
// options (no local, retain handling, retain as published), shared subscriptions.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, VERSIONS } from '../helpers/raw-client.js';
import type { IPublishPacket, ISubackPacket, IUnsubackPacket } from '../../src/codec/index.js';

for (const version of VERSIONS) {
  test(`[MQTT-3.8.4-1] [MQTT-3.9.3-1] SUBACK has one code per filter; over 200 levels is a failure code (v${version})`, async (t) => {
    const { connect } = await startBroker(t);
    const client = await connect(version, { clientId: 's' });
    const levels = Array.from({ length: 201 }, () => 'a').join('/');
    client.send({ cmd: 'subscribe', messageId: 5, subscriptions: [{ topic: 'a/+/c', qos: 1 }, { topic: 'x/#', qos: 2 }, { topic: levels, qos: 0 }] });
    const suback = (await client.expect('suback')) as ISubackPacket;
    assert.deepEqual([suback.messageId, suback.granted], [5, [1, 2, version === 5 ? 0x8f : 0x80]]);
  });

  for (const filter of ['a/#/c', 'b/c+', '$share/g', '$share/g+/x']) {
    test(`[MQTT-4.7.1-2] [MQTT-4.7.1-3] an invalid filter '${filter}' closes the connection, as Mosquitto (v${version})`, async (t) => {
      const { connect } = await startBroker(t);
      const client = await connect(version, { clientId: 's' });
      client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: filter, qos: 0 }] });
      const sent = await client.closedByBroker();
      assert.deepEqual(sent.map((p) => (p as { reasonCode?: number }).reasonCode), version === 5 ? [0x81] : []);
    });
  }

  test(`[MQTT-3.10.4-5] UNSUBACK ${version === 5 ? 'says 0x11 for an unknown filter' : 'answers every UNSUBSCRIBE'}; delivery stops (v${version})`, async (t) => {
    const { connect, broker } = await startBroker(t);
    const client = await connect(version, { clientId: 's' });
    client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'u/1', qos: 0 }] });
    await client.expect('suback');
    client.send({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: ['u/1', 'u/2'] });
    const unsuback = (await client.expect('unsuback')) as IUnsubackPacket;
    assert.equal(unsuback.messageId, 2);
    if (version === 5) assert.deepEqual(unsuback.granted, [0x00, 0x11]);
    broker.publish('u/1', 'x');
    assert.equal(await client.silentFor(200), true);
  });

  test(`[MQTT-3.3.4-2] overlapping subscriptions deliver one copy at the highest QoS (v${version})`, async (t) => {
    const { connect, broker } = await startBroker(t);
    const client = await connect(version, { clientId: 's' });
    client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'o/#', qos: 0 }, { topic: 'o/+', qos: 1 }] });
    await client.expect('suback');
    broker.publish('o/x', 'x', { qos: 2 });
    assert.equal(((await client.expect('publish')) as IPublishPacket).qos, 1);
    assert.equal(await client.silentFor(200), true);
  });

  test(`shared subscription: round robin across members, no retained messages (v${version})`, async (t) => {
    const { connect, broker } = await startBroker(t);
    broker.publish('job/old', 'retained', { retain: true });
    const members = [await connect(version, { clientId: 'm1' }), await connect(version, { clientId: 'm2' })];
    for (const member of members) {
      member.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '$share/g/job/+', qos: 0 }] });
      assert.deepEqual(((await member.expect('suback')) as ISubackPacket).granted, [0]);
    }
    for (let i = 0; i < 4; i++) broker.publish('job/x', String(i));
    const got = await Promise.all(members.map(async (member) => [((await member.expect('publish')) as IPublishPacket).payload.toString(), ((await member.expect('publish')) as IPublishPacket).payload.toString()]));
    assert.deepEqual(got.flat().sort(), ['0', '1', '2', '3']);
    assert.notDeepEqual(got[0], got[1]);
  });

  test(`shared subscription: a leaving member's unacknowledged message goes to another member (v${version})`, async (t) => {
    const { connect, broker } = await startBroker(t);
    const first = await connect(version, { clientId: 'm1' });
    const second = await connect(version, { clientId: 'm2' });
    for (const member of [first, second]) {
      member.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '$share/g/work', qos: 1 }] });
      await member.expect('suback');
    }
    broker.publish('work', 'a', { qos: 1 });
    broker.publish('work', 'b', { qos: 1 });
    const toFirst = (await first.expect('publish')) as IPublishPacket;
    const toSecond = (await second.expect('publish')) as IPublishPacket;
    second.send({ cmd: 'puback', messageId: toSecond.messageId });
    await first.drop(); // never acknowledged
    const moved = (await second.expect('publish')) as IPublishPacket;
    assert.equal(moved.payload.toString(), toFirst.payload.toString());
  });

  test(`EMQX $queue/ spelling is a shared subscription (v${version})`, async (t) => {
    const { connect, broker } = await startBroker(t);
    const members = [await connect(version, { clientId: 'q1' }), await connect(version, { clientId: 'q2' })];
    for (const member of members) {
      member.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '$queue/jobs', qos: 0 }] });
      await member.expect('suback');
    }
    broker.publish('jobs', '1');
    broker.publish('jobs', '2');
    const got = await Promise.all(members.map(async (member) => ((await member.expect('publish')) as IPublishPacket).payload.toString()));
    assert.deepEqual(got.sort(), ['1', '2']);
  });
}

test('[MQTT-3.8.3-3] 5.0 no local: own messages are not delivered back', async (t) => {
  const { connect } = await startBroker(t);
  const client = await connect(5, { clientId: 'nl' });
  client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'nl/#', qos: 0, nl: true }] });
  await client.expect('suback');
  client.send({ cmd: 'publish', topic: 'nl/1', payload: Buffer.from('me'), qos: 0, retain: false, dup: false });
  assert.equal(await client.silentFor(200), true);
});

test('[MQTT-3.8.3-4] 5.0 no local on a shared subscription is a protocol error', async (t) => {
  const { connect } = await startBroker(t);
  const client = await connect(5, { clientId: 'nl' });
  client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '$share/g/x', qos: 0, nl: true }] });
  assert.deepEqual((await client.closedByBroker()).map((p) => (p as { reasonCode?: number }).reasonCode), [0x82]);
});

test('5.0 retain handling 0 / 1 / 2 and retain as published', async (t) => {
  const { connect, broker } = await startBroker(t);
  broker.publish('rh/a', 'kept', { retain: true });
  const client = await connect(5, { clientId: 'rh' });
  const sub = async (rh: number, messageId: number) => {
    client.send({ cmd: 'subscribe', messageId, subscriptions: [{ topic: 'rh/#', qos: 0, rh }] });
    await client.expect('suback');
  };
  await sub(1, 1); // new subscription: sent
  assert.equal(((await client.expect('publish')) as IPublishPacket).retain, true);
  await sub(1, 2); // existing subscription: not sent
  assert.equal(await client.silentFor(150), true);
  await sub(0, 3); // always sent
  await client.expect('publish');
  await sub(2, 4); // never sent
  assert.equal(await client.silentFor(150), true);
  client.send({ cmd: 'subscribe', messageId: 5, subscriptions: [{ topic: 'rap/#', qos: 0, rap: true, rh: 2 }] });
  await client.expect('suback');
  broker.publish('rap/x', 'r', { retain: true });
  assert.equal(((await client.expect('publish')) as IPublishPacket).retain, true); // [MQTT-3.3.1-13]
});
