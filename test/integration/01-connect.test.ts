// CONNECT / CONNACK / DISCONNECT conformance, each case for 3.1.1 and 5.0 where it applies.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, VERSIONS } from '../helpers/raw-client.js';
import type { IConnackPacket, IDisconnectPacket } from '../../src/codec/index.js';

test('[MQTT-3.1.0-1] a first packet that is not CONNECT closes the connection', async (t) => {
  const { open } = await startBroker(t);
  const client = await open(4);
  client.sendBytes([0xc0, 0x00]); // PINGREQ
  assert.deepEqual(await client.closedByBroker(), []);
});

for (const version of VERSIONS) {
  test(`[MQTT-3.1.0-2] a second CONNECT is a protocol error (v${version})`, async (t) => {
    const { connect } = await startBroker(t);
    const client = await connect(version, { clientId: 'twice' });
    client.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: version, clientId: 'twice', clean: true, keepalive: 0 });
    const sent = await client.closedByBroker();
    if (version === 5) assert.deepEqual(sent.map((p) => [p.cmd, (p as IDisconnectPacket).reasonCode]), [['disconnect', 0x82]]);
    else assert.deepEqual(sent, []);
  });

  test(`[MQTT-3.2.2-2] session present is 0 for a clean session and 1 when resuming (v${version})`, async (t) => {
    const { open } = await startBroker(t);
    const persistent = version === 5 ? { clean: false, properties: { sessionExpiryInterval: 60 } } : { clean: false };
    const first = await open(version);
    assert.equal((await first.handshake({ clientId: 'sp', ...persistent })).sessionPresent, false);
    await first.disconnect();
    const second = await open(version);
    assert.equal((await second.handshake({ clientId: 'sp', ...persistent })).sessionPresent, true);
    await second.disconnect();
    const third = await open(version);
    assert.equal((await third.handshake({ clientId: 'sp', clean: true })).sessionPresent, false);
  });

  test(`[MQTT-3.1.4-3] a second client with the same id takes over; the old one is closed (v${version})`, async (t) => {
    const { connect } = await startBroker(t);
    const old = await connect(version, { clientId: 'same' });
    const fresh = await connect(version, { clientId: 'same' });
    const sent = await old.closedByBroker();
    if (version === 5) assert.deepEqual(sent.map((p) => [p.cmd, (p as IDisconnectPacket).reasonCode]), [['disconnect', 0x8e]]);
    else assert.deepEqual(sent, []);
    fresh.send({ cmd: 'pingreq' });
    await fresh.expect('pingresp');
  });

  test(`[MQTT-3.1.2-24] keep alive: no packet within 1.5 x keepalive closes the connection (v${version})`, async (t) => {
    const { connect, logs } = await startBroker(t);
    const client = await connect(version, { clientId: 'sleepy', keepalive: 1 });
    const sent = await client.closedByBroker(5000);
    if (version === 5) assert.deepEqual(sent.map((p) => [p.cmd, (p as IDisconnectPacket).reasonCode]), [['disconnect', 0x8d]]);
    assert.ok(logs.some((line) => line.message === 'Client sleepy has exceeded timeout, disconnecting.'));
  });

  test(`[MQTT-3.12.4-1] PINGREQ is answered with PINGRESP, bytes d0 00 (v${version})`, async (t) => {
    const { connect } = await startBroker(t);
    const client = await connect(version);
    client.sendBytes([0xc0, 0x00]);
    const reply = await client.nextReceived();
    assert.deepEqual([...reply!.bytes], [0xd0, 0x00]);
  });
}

test('[MQTT-3.1.2-2] an unsupported protocol level gets CONNACK 0x01 and is closed', async (t) => {
  const { open } = await startBroker(t);
  const client = await open(4);
  // CONNECT, protocol name MQTT, level 6
  client.sendBytes([0x10, 0x0d, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x06, 0x02, 0x00, 0x00, 0x00, 0x01, 0x61]);
  const reply = await client.nextReceived();
  assert.deepEqual([...reply!.bytes], [0x20, 0x02, 0x00, 0x01]);
  await client.closed;
});

/** CONNECT bytes: protocol name, level, clean session, keepalive 0, client id, then `rest` (flags | extra). */
function connectBytes(name: string, level: number, clientId: string, options: { flags?: number; properties?: boolean; payload?: number[] } = {}): number[] {
  const body = [0x00, name.length, ...Buffer.from(name), level, 0x02 | (options.flags ?? 0), 0x00, 0x00,
    ...(options.properties ? [0x00] : []), 0x00, clientId.length, ...Buffer.from(clientId), ...(options.payload ?? [])];
  return [0x10, body.length, ...body];
}

test('[MQTT-3.1.2-2] a protocol name with another level (MQTT 3, MQIsdp 4 or 5) gets a 3.1.1 CONNACK 0x01, as from Mosquitto', async (t) => {
  const { open } = await startBroker(t);
  for (const [name, level] of [['MQTT', 3], ['MQIsdp', 4], ['MQIsdp', 5]] as const) {
    const client = await open(4);
    client.sendBytes(connectBytes(name, level, 'mismatch', { properties: level === 5 }));
    const reply = await client.nextReceived();
    assert.deepEqual([...reply!.bytes], [0x20, 0x02, 0x00, 0x01], `${name} level ${level}`);
    await client.closed;
  }
});

test('[MQTT-3.1.2-1] a protocol name that is not MQTT or MQIsdp closes the connection without CONNACK, as Mosquitto does', async (t) => {
  const { open } = await startBroker(t);
  for (const level of [4, 5]) {
    const client = await open(4);
    client.sendBytes(connectBytes('MQTX', level, 'named', { properties: level === 5 }));
    assert.deepEqual(await client.closedByBroker(), [], `level ${level}`);
  }
});

for (const [name, level] of [['MQIsdp', 3], ['MQTT', 4], ['MQTT', 5]] as const) {
  test(`[MQTT-3.1.2-14] will QoS 3 closes the connection without CONNACK, as Mosquitto does (${name} level ${level})`, async (t) => {
    const { open } = await startBroker(t);
    const client = await open(4);
    const will = [...(level === 5 ? [0x00] : []), 0x00, 0x03, ...Buffer.from('w/t'), 0x00, 0x01, 0x6d];
    client.sendBytes(connectBytes(name, level, 'will3', { flags: 0x04 | 0x18, properties: level === 5, payload: will }));
    assert.deepEqual(await client.closedByBroker(), []);
  });
}

test('[MQTT-3.1.2-3] the reserved CONNECT flag set closes the connection', async (t) => {
  const { open } = await startBroker(t);
  const client = await open(4);
  client.sendBytes([0x10, 0x0d, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x03, 0x00, 0x00, 0x00, 0x01, 0x61]);
  assert.deepEqual(await client.closedByBroker(), []);
});

test('[MQTT-3.1.3-8] 3.1.1: an empty client id with clean session 0 is refused with 0x02', async (t) => {
  const { open } = await startBroker(t);
  const client = await open(4);
  client.sendBytes([0x10, 0x0c, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00]);
  const reply = await client.nextReceived();
  assert.deepEqual([...reply!.bytes], [0x20, 0x02, 0x00, 0x02]);
  await client.closed;
});

test('[MQTT-3.1.3-6] 3.1.1: an empty client id with clean session 1 is accepted', async (t) => {
  const { open, logs } = await startBroker(t);
  const client = await open(4);
  const connack = await client.handshake({ clientId: '', clean: true });
  assert.equal(connack.returnCode, 0);
  assert.ok(logs.some((line) => /as auto-[0-9A-F-]{36} \(p2, c1, k0\)\.$/.test(line.message)));
});

test('[MQTT-3.2.2-16] 5.0: an empty client id gets an assigned auto-<UUID> in CONNACK', async (t) => {
  const { open } = await startBroker(t);
  const client = await open(5);
  const connack = await client.handshake({ clientId: '' });
  assert.match(connack.properties?.assignedClientIdentifier ?? '', /^auto-[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/);
});

test('5.0 CONNACK carries Mosquitto\'s properties: topic alias maximum 10, receive maximum 20', async (t) => {
  const { open } = await startBroker(t);
  const client = await open(5);
  client.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 'props', clean: true, keepalive: 30 });
  const reply = await client.nextReceived();
  // 20 0a | 00 00 | props len 06 | 22 00 0a (topic alias max 10) | 21 00 14 (receive max 20)
  assert.deepEqual([...reply!.bytes], [0x20, 0x09, 0x00, 0x00, 0x06, 0x22, 0x00, 0x0a, 0x21, 0x00, 0x14]);
});

test('[MQTT-3.2.2-21] 5.0: keep alive over max_keepalive is answered with Server Keep Alive', async (t) => {
  const { open } = await startBroker(t, { max_keepalive: 30 });
  const client = await open(5);
  const connack = await client.handshake({ clientId: 'ka', keepalive: 100 });
  assert.equal(connack.properties?.serverKeepAlive, 30);
});

test('5.0: keep alive 0 is answered with Server Keep Alive = max_keepalive, as Mosquitto', async (t) => {
  const { open } = await startBroker(t);
  const client = await open(5);
  assert.equal((await client.handshake({ clientId: 'ka0', keepalive: 0 })).properties?.serverKeepAlive, 65535);
});

test('3.1.1: keep alive over max_keepalive is refused (identifier rejected), as Mosquitto does', async (t) => {
  const { open } = await startBroker(t, { max_keepalive: 30 });
  const client = await open(4);
  assert.equal((await client.handshake({ clientId: 'ka', keepalive: 100 })).returnCode, 2);
});

test('[MQTT-4.12.0-1] 5.0: an authentication method nobody configured is refused with 0x8C', async (t) => {
  const { open } = await startBroker(t);
  const client = await open(5);
  const connack: IConnackPacket = await client.handshake({ clientId: 'auth', properties: { authenticationMethod: 'SCRAM-SHA-1' } });
  assert.equal(connack.reasonCode, 0x8c);
  await client.closed;
});

test('authenticate hook: false refuses with 0x05 (3.1.1) and 0x87 (5.0)', async (t) => {
  const { open } = await startBroker(t, { authenticate: (info) => info.username === 'good' });
  const v4 = await open(4);
  assert.equal((await v4.handshake({ clientId: 'a', username: 'bad' })).returnCode, 5);
  const v5 = await open(5);
  assert.equal((await v5.handshake({ clientId: 'b', username: 'bad' })).reasonCode, 0x87);
  const ok = await open(5);
  assert.equal((await ok.handshake({ clientId: 'c', username: 'good' })).reasonCode, 0);
});

test('slowloris: a connection that never completes CONNECT is closed at connect_timeout', async (t) => {
  const { open } = await startBroker(t, { connect_timeout: 1 });
  const client = await open(4);
  client.sendBytes([0x10, 0x0d, 0x00]); // a CONNECT that never finishes
  assert.deepEqual(await client.closedByBroker(5000), []);
});

test('[MQTT-3.14.4-3] 5.0: AUTH without an authentication method is a protocol error', async (t) => {
  const { connect } = await startBroker(t);
  const client = await connect(5, { clientId: 'noauth' });
  client.send({ cmd: 'auth', reasonCode: 0x19 });
  const sent = await client.closedByBroker();
  assert.deepEqual(sent.map((p) => [p.cmd, (p as IDisconnectPacket).reasonCode]), [['disconnect', 0x82]]);
});

for (const [name, properties] of [['receive maximum', { receiveMaximum: 0 }], ['maximum packet size', { maximumPacketSize: 0 }]] as const) {
  test(`5.0: a ${name} of 0 in CONNECT is a protocol error (CONNACK 0x82)`, async (t) => {
    const { open } = await startBroker(t);
    const client = await open(5);
    client.sendBytes(connectWithProperty(properties));
    const sent = await client.closedByBroker();
    assert.deepEqual(sent.map((p) => [p.cmd, (p as IConnackPacket).reasonCode]), [['connack', 0x82]]);
  });
}

/** A 5.0 CONNECT built by hand: mqtt-packet refuses to encode these zero values. */
function connectWithProperty(properties: { receiveMaximum?: number; maximumPacketSize?: number }): Buffer {
  const property = properties.receiveMaximum !== undefined ? [0x21, 0x00, 0x00] : [0x27, 0x00, 0x00, 0x00, 0x00];
  const body = [0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x05, 0x02, 0x00, 0x00, property.length, ...property, 0x00, 0x01, 0x7a];
  return Buffer.from([0x10, body.length, ...body]);
}
