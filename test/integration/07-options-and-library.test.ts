// Options that change behaviour (outgoing topic aliases, limits, QoS upgrade, QoS 0 queueing),
// $SYS topics, MQTT 3.1, and the library surface (events, handle(stream) without sockets).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Duplex, PassThrough } from 'node:stream';
import { startBroker } from '../helpers/raw-client.js';
import { createBroker } from '../../src/broker/broker.js';
import { Decoder, encode } from '../../src/codec/index.js';
import type { IPublishPacket, IPubackPacket, Packet } from '../../src/codec/index.js';

test('outgoing_topic_aliases: the second message on a topic is sent with the alias only', async (t) => {
  const { connect, broker } = await startBroker(t, { outgoing_topic_aliases: true });
  const sub = await connect(5, { clientId: 's', properties: { topicAliasMaximum: 5 } });
  sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'long/topic/name', qos: 0 }] });
  await sub.expect('suback');
  broker.publish('long/topic/name', '1');
  broker.publish('long/topic/name', '2');
  const first = (await sub.expect('publish')) as IPublishPacket;
  const second = (await sub.expect('publish')) as IPublishPacket;
  assert.deepEqual([first.topic, first.properties?.topicAlias], ['long/topic/name', 1]);
  assert.deepEqual([second.topic, second.properties?.topicAlias, second.payload.toString()], ['', 1, '2']);
});

test('without outgoing_topic_aliases (the default) no alias is sent', async (t) => {
  const { connect, broker } = await startBroker(t);
  const sub = await connect(5, { clientId: 's', properties: { topicAliasMaximum: 5 } });
  sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 't', qos: 0 }] });
  await sub.expect('suback');
  broker.publish('t', '1');
  broker.publish('t', '2');
  for (let i = 0; i < 2; i++) assert.equal(((await sub.expect('publish')) as IPublishPacket).properties?.topicAlias, undefined);
});

test('5.0 Receive Maximum from the client bounds outgoing inflight messages', async (t) => {
  const { connect, broker } = await startBroker(t);
  const sub = await connect(5, { clientId: 's', properties: { receiveMaximum: 1 } });
  sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'rm', qos: 1 }] });
  await sub.expect('suback');
  broker.publish('rm', 'a', { qos: 1 });
  broker.publish('rm', 'b', { qos: 1 });
  const first = (await sub.expect('publish')) as IPublishPacket;
  assert.equal(await sub.silentFor(150), true);
  sub.send({ cmd: 'puback', messageId: first.messageId });
  assert.equal(((await sub.expect('publish')) as IPublishPacket).payload.toString(), 'b');
});

test('upgrade_outgoing_qos delivers at the subscription QoS', async (t) => {
  const { connect, broker } = await startBroker(t, { upgrade_outgoing_qos: true });
  const sub = await connect(4, { clientId: 's' });
  sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'up', qos: 2 }] });
  await sub.expect('suback');
  broker.publish('up', 'x', { qos: 0 });
  assert.equal(((await sub.expect('publish')) as IPublishPacket).qos, 2);
});

test('queue_qos0_messages queues QoS 0 for offline persistent sessions', async (t) => {
  const { connect, open, broker } = await startBroker(t, { queue_qos0_messages: true });
  const sub = await connect(4, { clientId: 'q0', clean: false });
  sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'z', qos: 0 }] });
  await sub.expect('suback');
  await sub.disconnect();
  broker.publish('z', 'zero');
  const back = await open(4);
  await back.handshake({ clientId: 'q0', clean: false });
  assert.equal(((await back.expect('publish')) as IPublishPacket).payload.toString(), 'zero');
});

test('message_size_limit: a larger payload is not routed (5.0 PUBACK 0x97)', async (t) => {
  const { connect } = await startBroker(t, { message_size_limit: 4 });
  const pub = await connect(5, { clientId: 'p' });
  pub.send({ cmd: 'publish', topic: 'big', payload: Buffer.from('12345'), qos: 1, retain: false, dup: false, messageId: 1 });
  assert.equal(((await pub.expect('puback')) as IPubackPacket).reasonCode, 0x97);
});

test('max_connections refuses connections over the limit', async (t) => {
  const { connect, open } = await startBroker(t, { max_connections: 1 });
  await connect(4, { clientId: 'one' });
  const second = await open(4);
  assert.deepEqual(await second.closedByBroker(), []);
});

test('MQTT 3.1 (MQIsdp) clients connect, publish and subscribe', async (t) => {
  const { connect, logs } = await startBroker(t);
  const client = await connect(3, { clientId: 'old-client' });
  client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'v31', qos: 1 }] });
  await client.expect('suback');
  client.send({ cmd: 'publish', topic: 'v31', payload: Buffer.from('hi'), qos: 1, retain: false, dup: false, messageId: 2 });
  const both = [await client.next(), await client.next()];
  assert.deepEqual(both.map((p) => p?.cmd).sort(), ['puback', 'publish']);
  assert.equal((both.find((p) => p?.cmd === 'publish') as IPublishPacket).payload.toString(), 'hi');
  assert.ok(logs.some((line) => /as old-client \(p1, c1, k0\)/.test(line.message)));
});

test('MQTT 3.1: a client id over 23 bytes is refused with 0x02', async (t) => {
  const { open } = await startBroker(t);
  const client = await open(3);
  assert.equal((await client.handshake({ clientId: 'x'.repeat(24) })).returnCode, 2);
});

test('$SYS/broker topics use Mosquitto\'s names and are retained', async (t) => {
  const { connect } = await startBroker(t, { sys_interval: 1, version: '9.9.9' });
  const sub = await connect(4, { clientId: 'sys' });
  sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '$SYS/broker/#', qos: 0 }] });
  await sub.expect('suback');
  const topics = new Map<string, string>();
  while (!topics.has('$SYS/broker/clients/connected') || !topics.has('$SYS/broker/load/messages/received/1min')) {
    const got = (await sub.expect('publish')) as IPublishPacket;
    topics.set(got.topic, got.payload.toString());
  }
  assert.equal(topics.get('$SYS/broker/version'), 'mqx version 9.9.9');
  assert.match(topics.get('$SYS/broker/uptime')!, /^\d+ seconds$/);
  for (const name of ['clients/total', 'clients/maximum', 'messages/received', 'messages/sent', 'bytes/received', 'bytes/sent', 'subscriptions/count', 'retained messages/count', 'heap/current', 'publish/messages/dropped']) {
    assert.ok(topics.has(`$SYS/broker/${name}`), name);
  }
});

test('library: handle(stream) serves a client over an in-memory duplex, and events fire', async () => {
  const broker = createBroker({ sys_interval: 0 });
  const events: string[] = [];
  broker.on('connect', (client: { clientId: string }) => events.push(`connect ${client.clientId}`));
  broker.on('subscribe', (_subs: unknown, clientId: string) => events.push(`subscribe ${clientId}`));
  broker.on('publish', (message: { topic: string }) => events.push(`publish ${message.topic}`));
  broker.on('disconnect', (client: { clientId: string }) => events.push(`disconnect ${client.clientId}`));
  const toBroker = new PassThrough();
  const fromBroker = new PassThrough();
  const serverSide = Duplex.from({ readable: toBroker, writable: fromBroker });
  broker.handle(serverSide, { remoteAddress: 'memory' });
  const received: Packet[] = [];
  const decoder = new Decoder({ packet: (p) => received.push(p), error: (e) => { throw e; } }, 0, 4);
  const next = (cmd: string) => new Promise<Packet>((resolve) => {
    const look = () => { const i = received.findIndex((p) => p.cmd === cmd); if (i >= 0) resolve(received.splice(i, 1)[0]!); else fromBroker.once('data', look); };
    look();
  });
  fromBroker.on('data', (chunk: Buffer) => decoder.push(chunk));
  toBroker.write(encode({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'mem', clean: true, keepalive: 0 }, 4));
  await next('connack');
  toBroker.write(encode({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'm', qos: 0 }] }, 4));
  await next('suback');
  toBroker.write(encode({ cmd: 'publish', topic: 'm', payload: Buffer.from('x'), qos: 0, retain: false, dup: false }, 4));
  assert.equal(((await next('publish')) as IPublishPacket).payload.toString(), 'x');
  toBroker.write(encode({ cmd: 'disconnect' }, 4));
  await new Promise((resolve) => broker.once('disconnect', resolve));
  assert.deepEqual(events, ['connect mem', 'subscribe mem', 'publish m', 'disconnect mem']);
  assert.equal(broker.connections.size, 0);
  await broker.close();
});

test('a retained payload does not pin the 64 KiB read chunk it arrived in', async (t) => {
  const { connect, broker } = await startBroker(t);
  const pub = await connect(4, { clientId: 'p' });
  const filler = encode({ cmd: 'publish', topic: 'filler', payload: Buffer.alloc(30000), qos: 0, retain: false, dup: false }, 4);
  const retained = encode({ cmd: 'publish', topic: 'keep', payload: Buffer.from('small'), qos: 1, retain: true, dup: false, messageId: 1 }, 4);
  pub.sendBytes(Buffer.concat([filler, retained]));
  await pub.expect('puback');
  const stored = broker.retained.get('keep')!;
  assert.equal(stored.payload.toString(), 'small');
  assert.ok(stored.payload.buffer.byteLength <= 8192, `payload backed by ${stored.payload.buffer.byteLength} bytes`);
});

test('authorize hook: denied write is 0x87 (5.0), denied subscribe is a SUBACK failure, denied read is not delivered', async (t) => {
  const { connect } = await startBroker(t, {
    authorize: (client, access, topic) => !(topic.startsWith('secret') && (access !== 'read' || client.clientId !== 'trusted')) || (access === 'read' && client.clientId === 'trusted'),
  });
  const trusted = await connect(5, { clientId: 'trusted' });
  const other = await connect(5, { clientId: 'other' });
  other.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'secret/x', qos: 0 }, { topic: '#', qos: 0 }] });
  assert.deepEqual(((await other.expect('suback')) as { granted: number[] }).granted, [0x87, 0]);
  trusted.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '#', qos: 0 }] });
  await trusted.expect('suback');
  other.send({ cmd: 'publish', topic: 'secret/x', payload: Buffer.from('no'), qos: 1, retain: false, dup: false, messageId: 2 });
  assert.equal(((await other.expect('puback')) as IPubackPacket).reasonCode, 0x87);
  other.send({ cmd: 'publish', topic: 'open', payload: Buffer.from('yes'), qos: 0, retain: false, dup: false });
  assert.equal(((await trusted.expect('publish')) as IPublishPacket).topic, 'open');
});

test('stats() reports counters as numbers', async (t) => {
  const { connect, broker } = await startBroker(t);
  const client = await connect(4, { clientId: 'counted' });
  client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'c', qos: 0 }] });
  await client.expect('suback');
  broker.publish('c', 'x', { retain: true });
  await client.expect('publish');
  const stats = broker.stats();
  assert.deepEqual([stats.clientsConnected, stats.subscriptions, stats.retainedMessages, stats.publishSent], [1, 1, 1, 1]);
});

test('close() with clients still connected: 5.0 clients get DISCONNECT 0x8B, every socket closes', async () => {
  const broker = createBroker({ sys_interval: 0, listeners: [{ port: 0, host: '127.0.0.1' }] });
  const [address] = await broker.listen();
  const { RawClient } = await import('../helpers/raw-client.js');
  const v5 = (await RawClient.connect(address!.port, 5, { clientId: 'five' })).client;
  const v4 = (await RawClient.connect(address!.port, 4, { clientId: 'four' })).client;
  await broker.close();
  assert.deepEqual((await v5.closedByBroker()).map((p) => (p as { reasonCode?: number }).reasonCode), [0x8b]);
  assert.deepEqual(await v4.closedByBroker(), []);
  assert.equal(broker.connections.size, 0);
});

test('listeners: a unix socket path and a named TCP listener; the name reaches ConnectInfo', async () => {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { connect } = await import('node:net');
  const dir = mkdtempSync(join(tmpdir(), 'mqx-unix-'));
  const seen: string[] = [];
  const broker = createBroker({
    sys_interval: 0,
    listeners: [{ port: 0, host: '127.0.0.1', name: 'plain' }, { port: 0, path: join(dir, 'mqx.sock'), name: 'local' }],
    authenticate: (info) => { seen.push(`${info.clientId}@${info.listener}`); return true; },
  });
  try {
    const addresses = await broker.listen();
    assert.deepEqual(addresses.map((a) => a.family === 'unix' ? 'unix' : 'tcp'), ['tcp', 'unix']);
    const socket = connect({ path: join(dir, 'mqx.sock') });
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(encode({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'u', clean: true, keepalive: 0 }, 4));
    const reply = await new Promise<Buffer>((resolve) => socket.once('data', resolve));
    assert.deepEqual([...reply], [0x20, 0x02, 0x00, 0x00]);
    socket.destroy();
    assert.deepEqual(seen, ['u@local']);
  } finally {
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
