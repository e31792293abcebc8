// Mosquitto options the broker applies beyond the basics: check_retain_source, clientid_prefixes,
// max_inflight_bytes. In-process broker on port 0, raw clients; asserts what clients observe.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, VERSIONS } from '../helpers/raw-client.js';
import type { ClientInfo, Access } from '../../src/broker/hooks.js';
import type { IPublishPacket } from '../../src/codec/index.js';

/** An ACL whose write grants can be taken away, as an acl_file reload does. */
function revocableAcl(): { writers: Set<string>; authorize: (client: ClientInfo, access: Access, topic: string) => boolean } {
  const writers = new Set<string>();
  return { writers, authorize: (client, access) => access !== 'write' || writers.has(client.username ?? '') };
}

for (const version of VERSIONS) {
  test(`check_retain_source: a retained message stops going out once its publisher loses write access (v${version})`, async (t) => {
    const acl = revocableAcl();
    acl.writers.add('alice');
    const { connect, broker } = await startBroker(t, { authorize: acl.authorize });
    const alice = await connect(version, { clientId: 'alice-1', username: 'alice' });
    alice.send({ cmd: 'publish', topic: 'r/alice', payload: Buffer.from('old'), qos: 1, messageId: 1, retain: true, dup: false });
    await alice.expect('puback');
    broker.publish('r/broker', 'own', { retain: true });
    const before = await connect(version, { clientId: 'sub-1' });
    before.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'r/alice', qos: 0 }] });
    await before.expect('suback');
    assert.equal(((await before.expect('publish')) as IPublishPacket).payload.toString(), 'old');

    acl.writers.delete('alice'); // the reload
    const after = await connect(version, { clientId: 'sub-2' });
    after.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'r/#', qos: 0 }] });
    await after.expect('suback');
    // The broker's own retained message has no publisher to check: it still arrives, alice's does not.
    assert.equal(((await after.expect('publish')) as IPublishPacket).topic, 'r/broker');
    assert.equal(await after.silentFor(200), true);
  });
}

test('check_retain_source false: the publisher is not re-checked', async (t) => {
  const acl = revocableAcl();
  acl.writers.add('alice');
  const { connect } = await startBroker(t, { authorize: acl.authorize, check_retain_source: false });
  const alice = await connect(4, { clientId: 'alice-1', username: 'alice' });
  alice.send({ cmd: 'publish', topic: 'r/alice', payload: Buffer.from('old'), qos: 1, messageId: 1, retain: true, dup: false });
  await alice.expect('puback');
  acl.writers.delete('alice');
  const sub = await connect(4, { clientId: 'sub' });
  sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'r/alice', qos: 0 }] });
  await sub.expect('suback');
  assert.equal(((await sub.expect('publish')) as IPublishPacket).payload.toString(), 'old');
});

for (const version of VERSIONS) {
  test(`clientid_prefixes: other client ids are refused "not authorised", as Mosquitto 2.0 (v${version})`, async (t) => {
    const { connect, open } = await startBroker(t, { clientid_prefixes: 'plant-' });
    const refused = await open(version);
    const connack = await refused.handshake({ clientId: 'office-1' });
    assert.equal(connack.reasonCode ?? connack.returnCode, version === 5 ? 0x87 : 0x05);
    await refused.closedByBroker();
    // An assigned id starts with auto_id_prefix, so it is refused unless that carries the prefix too.
    const anonymous = await open(version);
    const assigned = await anonymous.handshake({ clientId: '' });
    assert.equal(assigned.reasonCode ?? assigned.returnCode, version === 5 ? 0x87 : 0x05);
    await anonymous.closedByBroker();
    await connect(version, { clientId: 'plant-7' });
  });
}

test('max_inflight_bytes: QoS 1 messages wait in the queue until the bytes in flight drop below the limit', async (t) => {
  const { connect, broker } = await startBroker(t, { max_inflight_bytes: 100 });
  const sub = await connect(4, { clientId: 'slow', clean: true });
  sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'big/#', qos: 1 }, { topic: 'small/#', qos: 1 }] });
  await sub.expect('suback');
  // Larger than the limit: each still goes out, but alone.
  for (let i = 0; i < 3; i++) broker.publish('big/x', Buffer.alloc(150, 48 + i), { qos: 1 });
  const first = (await sub.expect('publish')) as IPublishPacket;
  assert.equal(first.payload.toString(), '0'.repeat(150));
  assert.equal(await sub.silentFor(200), true);
  sub.send({ cmd: 'puback', messageId: first.messageId! });
  const second = (await sub.expect('publish')) as IPublishPacket;
  assert.equal(second.payload.toString(), '1'.repeat(150));
  assert.equal(await sub.silentFor(200), true);
  sub.send({ cmd: 'puback', messageId: second.messageId! });
  const third = (await sub.expect('publish')) as IPublishPacket;
  sub.send({ cmd: 'puback', messageId: third.messageId! });
  // 40-byte messages: sent while under 100 bytes are in flight (0, 40, 80), then the fourth waits.
  for (let i = 0; i < 4; i++) broker.publish('small/x', Buffer.alloc(40, 97 + i), { qos: 1 });
  const small: IPublishPacket[] = [];
  for (let i = 0; i < 3; i++) small.push((await sub.expect('publish')) as IPublishPacket);
  assert.equal(await sub.silentFor(200), true);
  sub.send({ cmd: 'puback', messageId: small[0]!.messageId! });
  assert.equal(((await sub.expect('publish')) as IPublishPacket).payload.toString(), 'd'.repeat(40));
});

test('max_inflight_bytes 0 (default): only the message count limits the window', async (t) => {
  const { connect, broker } = await startBroker(t, { max_inflight_messages: 20 });
  const sub = await connect(4, { clientId: 'slow' });
  sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'big/#', qos: 1 }] });
  await sub.expect('suback');
  for (let i = 0; i < 3; i++) broker.publish('big/x', Buffer.alloc(150_000, 48 + i), { qos: 1 });
  for (let i = 0; i < 3; i++) await sub.expect('publish');
});
