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
