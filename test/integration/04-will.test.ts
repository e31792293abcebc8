// Wills: published on abnormal close, never after a normal DISCONNECT; 5.0 will delay and 0x04.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, VERSIONS } from '../helpers/raw-client.js';
import type { IPublishPacket } from '../../src/codec/index.js';

const will = { topic: 'will/t', payload: Buffer.from('gone'), qos: 1 as const, retain: false };

for (const version of VERSIONS) {
  test(`[MQTT-3.1.2-8] the will is published when the connection closes without DISCONNECT (v${version})`, async (t) => {
    const { connect } = await startBroker(t);
    const watcher = await connect(version, { clientId: 'w' });
    watcher.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'will/#', qos: 1 }] });
    await watcher.expect('suback');
    const dying = await connect(version, { clientId: 'd', will });
    await dying.drop();
    const got = (await watcher.expect('publish')) as IPublishPacket;
    assert.deepEqual([got.topic, got.payload.toString(), got.qos], ['will/t', 'gone', 1]);
  });

  test(`[MQTT-3.1.2-10] no will after a normal DISCONNECT (v${version})`, async (t) => {
    const { connect } = await startBroker(t);
    const watcher = await connect(version, { clientId: 'w' });
    watcher.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'will/#', qos: 1 }] });
    await watcher.expect('suback');
    const leaving = await connect(version, { clientId: 'd', will });
    await leaving.disconnect();
    assert.equal(await watcher.silentFor(300), true);
  });

  test(`the will is published on a protocol error (v${version})`, async (t) => {
    const { connect } = await startBroker(t);
    const watcher = await connect(version, { clientId: 'w' });
    watcher.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'will/#', qos: 0 }] });
    await watcher.expect('suback');
    const bad = await connect(version, { clientId: 'd', will });
    bad.sendBytes([0x00, 0x00]); // reserved packet type 0
    await bad.closedByBroker();
    assert.equal(((await watcher.expect('publish')) as IPublishPacket).topic, 'will/t');
  });

  test(`[MQTT-3.1.2-17] a will with retain is stored as retained (v${version})`, async (t) => {
    const { connect } = await startBroker(t);
    const dying = await connect(version, { clientId: 'd', will: { ...will, retain: true } });
    await dying.drop();
    const late = await connect(version, { clientId: 'late' });
    late.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'will/t', qos: 1 }] });
    await late.expect('suback');
    const got = (await late.expect('publish')) as IPublishPacket;
    assert.deepEqual([got.payload.toString(), got.retain], ['gone', true]);
  });
}

test('5.0: DISCONNECT with reason 0x04 publishes the will', async (t) => {
  const { connect } = await startBroker(t);
  const watcher = await connect(5, { clientId: 'w' });
  watcher.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'will/#', qos: 1 }] });
  await watcher.expect('suback');
  const leaving = await connect(5, { clientId: 'd', will });
  await leaving.disconnect(0x04);
  assert.equal(((await watcher.expect('publish')) as IPublishPacket).payload.toString(), 'gone');
});

test('[MQTT-3.1.3-9] 5.0: a delayed will is not sent if the client reconnects in time', async (t) => {
  const { connect, open } = await startBroker(t);
  const watcher = await connect(5, { clientId: 'w' });
  watcher.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'will/#', qos: 1 }] });
  await watcher.expect('suback');
  const session = { clientId: 'd', clean: false, properties: { sessionExpiryInterval: 60 } };
  const dying = await connect(5, { ...session, will: { ...will, properties: { willDelayInterval: 1 } } });
  await dying.drop();
  const back = await open(5);
  await back.handshake(session);
  assert.equal(await watcher.silentFor(1300), true);
});

test('5.0: a delayed will is sent after its delay, with its properties', async (t) => {
  const { connect } = await startBroker(t);
  const watcher = await connect(5, { clientId: 'w' });
  watcher.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'will/#', qos: 1 }] });
  await watcher.expect('suback');
  const dying = await connect(5, {
    clientId: 'd', clean: false, properties: { sessionExpiryInterval: 60 },
    will: { ...will, properties: { willDelayInterval: 1, contentType: 'text/plain', userProperties: { why: 'test' } } },
  });
  await dying.drop();
  assert.equal(await watcher.silentFor(500), true);
  const got = (await watcher.expect('publish', 3000)) as IPublishPacket;
  assert.equal(got.properties?.contentType, 'text/plain');
  assert.deepEqual({ ...got.properties?.userProperties }, { why: 'test' });
});

test('5.0: with session expiry 0 the will is not delayed (the session ends at once)', async (t) => {
  const { connect } = await startBroker(t);
  const watcher = await connect(5, { clientId: 'w' });
  watcher.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'will/#', qos: 1 }] });
  await watcher.expect('suback');
  const dying = await connect(5, { clientId: 'd', will: { ...will, properties: { willDelayInterval: 60 } } });
  await dying.drop();
  assert.equal(((await watcher.expect('publish', 1000)) as IPublishPacket).topic, 'will/t');
});

test('5.0: session takeover publishes the old connection\'s undelayed will', async (t) => {
  const { connect } = await startBroker(t);
  const watcher = await connect(5, { clientId: 'w' });
  watcher.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'will/#', qos: 1 }] });
  await watcher.expect('suback');
  await connect(5, { clientId: 'd', will });
  await connect(5, { clientId: 'd' });
  assert.equal(((await watcher.expect('publish')) as IPublishPacket).topic, 'will/t');
});

for (const version of VERSIONS) {
  test(`a takeover that resumes a persistent session does not publish the old will, as Mosquitto (v${version})`, async (t) => {
    const { connect } = await startBroker(t);
    const watcher = await connect(version, { clientId: 'w' });
    watcher.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'will/#', qos: 1 }] });
    await watcher.expect('suback');
    const session = version === 5 ? { clientId: 'd', clean: false, properties: { sessionExpiryInterval: 60 } } : { clientId: 'd', clean: false };
    await connect(version, { ...session, will });
    await connect(version, session);
    assert.equal(await watcher.silentFor(300), true);
  });
}

// Mosquitto 2.0 checks a will for write only when it sends it (context__send_will): the CONNECT
// is accepted whatever the will topic, and a denied will is dropped without a word. Each test
// ends with an allowed will: the watcher's first message proves the denied one never came.

for (const version of VERSIONS) {
  test(`a will the ACL denies is accepted at CONNECT and silently dropped; an allowed one goes out (v${version})`, async (t) => {
    const seen: string[] = [];
    const { connect, logs } = await startBroker(t, {
      authorize: (client, access, topic) => { if (access === 'write') seen.push(`${client.username} ${topic}`); return access !== 'write' || !topic.startsWith('will/denied'); },
    });
    const watcher = await connect(version, { clientId: 'w' });
    watcher.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'will/#', qos: 1 }] });
    await watcher.expect('suback');
    const denied = await connect(version, { clientId: 'd1', username: 'u1', will: { ...will, topic: 'will/denied' } });
    assert.deepEqual(seen, [], 'no ACL check at CONNECT');
    await denied.drop();
    const allowed = await connect(version, { clientId: 'd2', username: 'u2', will: { ...will, topic: 'will/allowed' } });
    await allowed.drop();
    const got = (await watcher.expect('publish')) as IPublishPacket;
    assert.equal(got.topic, 'will/allowed');
    assert.deepEqual(seen, ['u1 will/denied', 'u2 will/allowed']);
    assert.ok(logs.some((line) => line.type === 'debug' && line.message.includes("Denied will of d1 ('will/denied'")), 'the drop is logged at debug');
  });
}

test('5.0: a delayed will is checked when its delay ends, with the ACL in force then', async (t) => {
  let deny = 'none';
  const { connect } = await startBroker(t, { authorize: (_client, access, topic) => access !== 'write' || topic !== deny });
  const watcher = await connect(5, { clientId: 'w' });
  watcher.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'will/#', qos: 1 }] });
  await watcher.expect('suback');
  const delayed = { clientId: 'd', clean: false, properties: { sessionExpiryInterval: 60 }, will: { ...will, topic: 'will/delayed', properties: { willDelayInterval: 1 } } };
  const dying = await connect(5, delayed);
  await dying.drop();
  deny = 'will/delayed'; // allowed at CONNECT and at disconnection, denied when it is due
  const control = await connect(5, { clientId: 'c', will: { ...will, topic: 'will/control', properties: { willDelayInterval: 2 } } });
  await control.drop(); // session expiry 0: published at once
  assert.equal(((await watcher.expect('publish', 3000)) as IPublishPacket).topic, 'will/control');
  // Due 2 s after its client goes, so after the delayed one's due time: it comes first only if that one was dropped.
  const marker = await connect(5, { clientId: 'm', clean: false, properties: { sessionExpiryInterval: 60 }, will: { ...will, topic: 'will/marker', properties: { willDelayInterval: 2 } } });
  await marker.drop();
  assert.equal(((await watcher.expect('publish', 5000)) as IPublishPacket).topic, 'will/marker');
});

test('a will to $SYS or $share is dropped as Mosquitto drops a client write there, without any ACL', async (t) => {
  const { connect } = await startBroker(t);
  const watcher = await connect(4, { clientId: 'w' });
  watcher.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '$SYS/#', qos: 1 }, { topic: '$SYSTEM/#', qos: 1 }, { topic: '$sharex', qos: 1 }] });
  await watcher.expect('suback');
  for (const topic of ['$SYS/x', '$SYSTEM/x', '$sharex', '$SYS/broker/connection/b/state']) {
    const dying = await connect(4, { clientId: `d${topic.length}`, will: { ...will, topic } });
    await dying.drop();
  }
  // Mosquitto lets a client write its bridge-status topic: the only one that arrives.
  assert.equal(((await watcher.expect('publish')) as IPublishPacket).topic, '$SYS/broker/connection/b/state');
});
