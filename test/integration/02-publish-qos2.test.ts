// Inbound QoS 2 as Mosquitto 2.0 handles it: the message is kept with the publisher's session at
// PUBLISH (answered with PUBREC) and routed only at PUBREL, before PUBCOMP [MQTT-4.3.3].
// Absence is shown with a later marker message from the same publisher, never by waiting.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, VERSIONS } from '../helpers/raw-client.js';
import type { RawClient } from '../helpers/raw-client.js';
import type { IPublishPacket, IPubrecPacket, IPubcompPacket, ISubackPacket, ProtocolVersion } from '../../src/codec/index.js';

const qos2 = (topic: string, payload: string, messageId: number, retain = false): IPublishPacket =>
  ({ cmd: 'publish', topic, payload: Buffer.from(payload), qos: 2, retain, dup: false, messageId });

async function subscribe(client: RawClient, topic: string, qos: 0 | 1 | 2): Promise<void> {
  client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos }] });
  await client.expect('suback') as ISubackPacket;
}

/** The subscriber's next message (acknowledged if QoS 1). */
async function nextMessage(sub: RawClient): Promise<IPublishPacket> {
  const got = (await sub.expect('publish')) as IPublishPacket;
  if (got.qos === 1) sub.send({ cmd: 'puback', messageId: got.messageId! });
  return got;
}

/**
 * A QoS 0 marker from `pub` on `topic`: the subscriber's next message must be it. Whatever the
 * broker had routed from `pub` before would have reached `sub` first.
 */
async function nothingBefore(pub: RawClient, sub: RawClient, topic: string, marker: string): Promise<void> {
  pub.send({ cmd: 'publish', topic, payload: Buffer.from(marker), qos: 0, retain: false, dup: false });
  const got = await nextMessage(sub);
  assert.deepEqual([got.topic, String(got.payload)], [topic, marker], `nothing reached the subscriber before the marker '${marker}'`);
}

const persistent = (version: ProtocolVersion, clientId: string) =>
  (version === 5 ? { clientId, clean: false, properties: { sessionExpiryInterval: 3600 } } : { clientId, clean: false });

for (const version of VERSIONS) {
  test(`[MQTT-4.3.3] a QoS 2 message is routed at PUBREL, not at PUBLISH, once (v${version})`, async (t) => {
    const { connect, broker } = await startBroker(t);
    const events: string[] = [];
    broker.on('publish', (message: { payload: Buffer }) => events.push(String(message.payload)));
    const sub = await connect(version, { clientId: 's' });
    await subscribe(sub, 'q/#', 1);
    const pub = await connect(version, { clientId: 'p' });
    pub.send(qos2('q/held', 'held', 7));
    assert.equal(((await pub.expect('pubrec')) as IPubrecPacket).reasonCode ?? 0, 0);
    assert.deepEqual(events, [], "no 'publish' event before PUBREL");
    await nothingBefore(pub, sub, 'q/marker', 'before PUBREL');
    pub.send({ cmd: 'pubrel', messageId: 7 });
    assert.equal(((await pub.expect('pubcomp')) as IPubcompPacket).messageId, 7);
    const got = await nextMessage(sub);
    assert.deepEqual([got.topic, String(got.payload), got.qos], ['q/held', 'held', 1]);
    assert.deepEqual(events, ['before PUBREL', 'held']);
    await nothingBefore(pub, sub, 'q/marker', 'after PUBREL');
  });

  test(`a clean-session publisher that goes away before PUBREL: its QoS 2 message is never delivered (v${version})`, async (t) => {
    const { connect } = await startBroker(t);
    const sub = await connect(version, { clientId: 's' });
    await subscribe(sub, 'gone/#', 1);
    const pub = await connect(version, { clientId: 'p', clean: true });
    pub.send(qos2('gone/x', 'never', 3));
    await pub.expect('pubrec');
    await pub.drop();
    // The same client id again: the PUBREL finds nothing (5.0 says so with 0x92), nothing is routed.
    const again = await connect(version, { clientId: 'p', clean: true });
    again.send({ cmd: 'pubrel', messageId: 3 });
    const pubcomp = (await again.expect('pubcomp')) as IPubcompPacket;
    if (version === 5) assert.equal(pubcomp.reasonCode, 0x92);
    await nothingBefore(again, sub, 'gone/marker', 'after the session ended');
  });

  test(`[MQTT-4.3.3-9] a persistent session keeps a QoS 2 message until its PUBREL, across a reconnect (v${version})`, async (t) => {
    const { connect, open } = await startBroker(t);
    const sub = await connect(version, { clientId: 's' });
    await subscribe(sub, 'keep/#', 1);
    const pub = await connect(version, persistent(version, 'p'));
    pub.send(qos2('keep/x', 'kept', 5));
    await pub.expect('pubrec');
    await pub.drop();
    const back = await open(version);
    assert.equal((await back.handshake(persistent(version, 'p'))).sessionPresent, true);
    await nothingBefore(back, sub, 'keep/marker', 'reconnected');
    back.send({ cmd: 'pubrel', messageId: 5 });
    assert.equal(((await back.expect('pubcomp')) as IPubcompPacket).reasonCode ?? 0, 0);
    assert.equal(String((await nextMessage(sub)).payload), 'kept');
    await nothingBefore(back, sub, 'keep/marker', 'released once');
  });

  test(`[MQTT-3.3.1-5] [MQTT-3.3.1-10] a retained QoS 2 message is stored, and cleared, only at PUBREL (v${version})`, async (t) => {
    const { connect, broker } = await startBroker(t);
    const pub = await connect(version, { clientId: 'p' });
    pub.send(qos2('r/q2', 'kept', 1, true));
    await pub.expect('pubrec');
    assert.equal(broker.retained.get('r/q2'), undefined, 'not stored at PUBLISH');
    // A subscriber arriving now gets no retained message: the marker comes first.
    const early = await connect(version, { clientId: 'early' });
    await subscribe(early, 'r/#', 1);
    await nothingBefore(pub, early, 'r/marker', 'no retained yet');
    pub.send({ cmd: 'pubrel', messageId: 1 });
    await pub.expect('pubcomp');
    const live = await nextMessage(early);
    assert.deepEqual([live.topic, String(live.payload), live.retain], ['r/q2', 'kept', false]);
    assert.equal(String(broker.retained.get('r/q2')?.payload), 'kept');
    const late = await connect(version, { clientId: 'late' });
    await subscribe(late, 'r/q2', 1);
    const stored = await nextMessage(late);
    assert.deepEqual([String(stored.payload), stored.retain], ['kept', true]);
    // An empty retained payload clears it, also only at PUBREL.
    pub.send(qos2('r/q2', '', 2, true));
    await pub.expect('pubrec');
    assert.equal(String(broker.retained.get('r/q2')?.payload), 'kept', 'not cleared at PUBLISH');
    pub.send({ cmd: 'pubrel', messageId: 2 });
    await pub.expect('pubcomp');
    assert.equal(broker.retained.get('r/q2'), undefined);
  });

  test(`a QoS 2 PUBLISH reusing a pending packet id for another message replaces it, with Mosquitto's warning (v${version})`, async (t) => {
    const { connect, logs } = await startBroker(t);
    const sub = await connect(version, { clientId: 's' });
    await subscribe(sub, 'reuse/#', 1);
    const pub = await connect(version, { clientId: 'p' });
    pub.send(qos2('reuse/x', 'first', 4));
    await pub.expect('pubrec');
    pub.send(qos2('reuse/x', 'second', 4));
    await pub.expect('pubrec');
    assert.ok(logs.some((line) => line.type === 'warning' && line.message === 'Reused message ID 4 from p detected. Clearing from storage.'), JSON.stringify(logs));
    pub.send({ cmd: 'pubrel', messageId: 4 });
    await pub.expect('pubcomp');
    assert.equal(String((await nextMessage(sub)).payload), 'second');
    await nothingBefore(pub, sub, 'reuse/marker', 'the first was dropped');
  });
}

test('5.0: PUBREC 0x10 when nobody is subscribed at PUBLISH; a subscriber that comes before PUBREL still gets it', async (t) => {
  const { connect } = await startBroker(t);
  const pub = await connect(5, { clientId: 'p' });
  pub.send(qos2('later', 'x', 6));
  assert.equal(((await pub.expect('pubrec')) as IPubrecPacket).reasonCode, 0x10);
  const sub = await connect(5, { clientId: 's' });
  await subscribe(sub, 'later', 2);
  pub.send({ cmd: 'pubrel', messageId: 6 });
  assert.equal(((await pub.expect('pubcomp')) as IPubcompPacket).reasonCode ?? 0, 0);
  const got = (await sub.expect('publish')) as IPublishPacket;
  assert.deepEqual([got.topic, String(got.payload), got.qos], ['later', 'x', 2]);
});

test('5.0: PUBREC 0x10 when the only subscription is the publisher\'s own no-local one or one it may not read', async (t) => {
  const { connect } = await startBroker(t, { authorize: (client, access, topic) => !(access === 'read' && client.clientId === 'blind' && topic === 'own') });
  const pub = await connect(5, { clientId: 'p' });
  pub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'own', qos: 2, nl: true }] });
  await pub.expect('suback');
  const blind = await connect(5, { clientId: 'blind' });
  await subscribe(blind, 'own', 2);
  pub.send(qos2('own', 'x', 8));
  assert.equal(((await pub.expect('pubrec')) as IPubrecPacket).reasonCode, 0x10);
  pub.send({ cmd: 'pubrel', messageId: 8 });
  await pub.expect('pubcomp');
});

test('a shared subscription: asking at PUBLISH who would receive a QoS 2 message does not move the round robin', async (t) => {
  const { connect } = await startBroker(t);
  const a = await connect(5, { clientId: 'a' });
  await subscribe(a, '$share/g/t', 1);
  const b = await connect(5, { clientId: 'b' });
  await subscribe(b, '$share/g/t', 1);
  const pub = await connect(5, { clientId: 'p' });
  pub.send(qos2('t', 'two', 1));
  assert.equal(((await pub.expect('pubrec')) as IPubrecPacket).reasonCode ?? 0, 0);
  pub.send({ cmd: 'pubrel', messageId: 1 });
  await pub.expect('pubcomp');
  pub.send({ cmd: 'publish', topic: 't', payload: Buffer.from('one'), qos: 1, retain: false, dup: false, messageId: 2 });
  await pub.expect('puback');
  // Strict alternation from the first member: the QoS 2 message to a, then the QoS 1 one to b.
  assert.equal(String((await nextMessage(a)).payload), 'two');
  assert.equal(String((await nextMessage(b)).payload), 'one');
});
