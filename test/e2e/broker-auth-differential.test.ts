// The same password file (written by mosquitto_passwd) and ACL file on mosquitto 2.0 and on
// `mqx broker -c`: the same CONNACKs and the same allow/deny for a table of users, client ids
// and topics, observed by delivery (publish, delivery, retained, queued), with sync markers.

import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as mqttConnect } from 'mqtt';
import type { IClientOptions, MqttClient } from 'mqtt';
import { havePeers, peerPath, startMosquitto } from '../helpers/peers.js';
import { startMqxBroker, tempDir } from '../helpers/mqx-broker.js';

const ACL = `# anonymous clients
topic read public/#
topic readwrite anon/#

user alice
topic readwrite alice/#
topic deny alice/secret
topic read shared/#

user observer
topic readwrite #

pattern readwrite clients/%c/#
pattern read users/%u/#
pattern deny users/%u/private
`;

interface Peer { username?: string; password?: string; clientId: string }

const PEERS: Record<string, Peer> = {
  alice: { username: 'alice', password: 'alice-pw', clientId: 'c-alice' },
  bob: { username: 'bob', password: 'bob-pw', clientId: 'c-bob' },
  anonymous: { clientId: 'c-anon' },
};

const WRITES: Array<[string, string]> = [
  ['alice', 'alice/x'], ['alice', 'alice/secret'], ['alice', 'public/x'], ['alice', 'clients/c-alice/x'],
  ['alice', 'clients/c-bob/x'], ['alice', 'users/alice/x'], ['alice', 'shared/x'],
  ['bob', 'clients/c-bob/a'], ['bob', 'users/bob/a'], ['bob', 'bob/x'], ['bob', 'anon/x'],
  ['anonymous', 'anon/x'], ['anonymous', 'public/x'], ['anonymous', 'clients/c-anon/x'], ['anonymous', 'alice/x'],
];

const READS = ['alice/x', 'alice/secret', 'shared/x', 'public/x', 'anon/y', 'users/alice/a', 'users/alice/private',
  'users/bob/a', 'users/bob/private', 'clients/c-alice/z', 'clients/c-anon/z', 'clients/c-bob/z'];

interface Client {
  mqtt: MqttClient;
  received: string[];
  /** Resolves once every packet the broker queued for this client before now has arrived (UNSUBSCRIBE round trip). */
  sync(): Promise<void>;
}

function open(t: TestContext, port: number, peer: Peer, extra: IClientOptions = {}): Promise<Client> {
  const mqtt = mqttConnect({ host: '127.0.0.1', port, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000, clientId: peer.clientId, username: peer.username, password: peer.password, ...extra });
  t.after(() => mqtt.endAsync(true));
  const received: string[] = [];
  mqtt.on('message', (topic, payload) => received.push(`${topic} ${payload.toString()}`));
  return new Promise((resolve, reject) => {
    mqtt.once('connect', () => resolve({ mqtt, received, sync: async () => { await mqtt.unsubscribeAsync('sync/never'); } }));
    mqtt.once('error', reject);
  });
}

/** CONNACK return code for a connect attempt (0 = accepted). */
function connackCode(port: number, peer: Peer): Promise<number> {
  return new Promise((resolve) => {
    const c = mqttConnect({ host: '127.0.0.1', port, protocolVersion: 4, reconnectPeriod: 0, clientId: peer.clientId, username: peer.username, password: peer.password });
    c.once('connect', () => { c.end(true); resolve(0); });
    c.once('error', (error: Error & { code?: number }) => { c.end(true); resolve(error.code ?? -1); });
  });
}

/** Runs the whole table against one broker; returns a line per check. */
async function observe(t: TestContext, port: number): Promise<string[]> {
  const results: string[] = [];
  const observer = await open(t, port, { username: 'observer', password: 'observer-pw', clientId: 'c-observer' });
  await observer.mqtt.subscribeAsync('#', { qos: 1 });
  for (const [name, peer] of Object.entries(PEERS)) {
    const client = await open(t, port, peer);
    for (const [who, topic] of WRITES.filter(([w]) => w === name)) {
      await client.mqtt.publishAsync(topic, `from ${who}`, { qos: 1 });
      await observer.sync();
      results.push(`${who} write ${topic}: ${observer.received.includes(`${topic} from ${who}`) ? 'allow' : 'deny'}`);
    }
    await client.mqtt.subscribeAsync('#', { qos: 1 });
    for (const topic of READS) {
      await observer.mqtt.publishAsync(topic, `for ${name}`, { qos: 1 });
      await client.sync();
      results.push(`${name} read ${topic}: ${client.received.includes(`${topic} for ${name}`) ? 'allow' : 'deny'}`);
    }
    await client.mqtt.endAsync();
  }
  // Retained messages are checked when a subscription is made.
  for (const topic of ['alice/r', 'alice/secret', 'users/alice/private']) await observer.mqtt.publishAsync(topic, 'retained', { qos: 1, retain: true });
  const alice = await open(t, port, PEERS.alice!, { clientId: 'c-alice-2' });
  await alice.mqtt.subscribeAsync(['alice/#', 'users/#'], { qos: 1 });
  await alice.sync();
  results.push(`alice retained: ${alice.received.filter((line) => line.endsWith(' retained')).sort().join(', ')}`);
  // Messages queued for an offline persistent session are checked too.
  const persistent = await open(t, port, PEERS.alice!, { clientId: 'c-alice-p', clean: false });
  await persistent.mqtt.subscribeAsync('alice/#', { qos: 1 });
  await persistent.mqtt.endAsync();
  for (const topic of ['alice/q', 'alice/secret']) await observer.mqtt.publishAsync(topic, 'queued', { qos: 1 });
  const back = await open(t, port, PEERS.alice!, { clientId: 'c-alice-p', clean: false });
  await back.sync();
  results.push(`alice queued: ${back.received.filter((line) => line.endsWith(' queued')).sort().join(', ')}`);
  return results;
}

function writeFiles(t: TestContext): string {
  const dir = tempDir(t);
  const passwd = join(dir, 'passwd');
  execFileSync(peerPath('mosquitto_passwd')!, ['-c', '-b', passwd, 'alice', 'alice-pw']);
  execFileSync(peerPath('mosquitto_passwd')!, ['-b', passwd, 'bob', 'bob-pw']);
  execFileSync(peerPath('mosquitto_passwd')!, ['-b', passwd, 'observer', 'observer-pw']);
  writeFileSync(join(dir, 'acl'), ACL);
  return dir;
}

test('ACL differential: the same password and ACL files give the same allow/deny on mosquitto and mqx broker', async (t) => {
  if (!havePeers(t, 'mosquitto', 'mosquitto_passwd')) return;
  const dir = writeFiles(t);
  const mosquitto = await startMosquitto(`password_file ${dir}/passwd\nacl_file ${dir}/acl\n`, { anonymous: true });
  t.after(() => mosquitto.stop());
  const mqx = await startMqxBroker(t, `listener PORT 127.0.0.1\nallow_anonymous true\npassword_file ${dir}/passwd\nacl_file ${dir}/acl\n`);
  const expected = await observe(t, mosquitto.port);
  const actual = await observe(t, mqx.port);
  assert.deepEqual(actual, expected);
  // The table must exercise both answers, or it proves nothing.
  assert.ok(expected.some((line) => line.endsWith(': allow')) && expected.some((line) => line.endsWith(': deny')));
  assert.ok(expected.includes('alice queued: alice/q queued'), expected.join('\n'));
});

test('CONNECT differential: passwords from mosquitto_passwd, unknown users, anonymous clients', async (t) => {
  if (!havePeers(t, 'mosquitto', 'mosquitto_passwd')) return;
  const dir = writeFiles(t);
  const cases: Peer[] = [
    { username: 'alice', password: 'alice-pw', clientId: 'a1' },
    { username: 'alice', password: 'wrong', clientId: 'a2' },
    { username: 'nobody-here', password: 'x', clientId: 'a3' },
    { clientId: 'a4' },
  ];
  for (const anonymous of [true, false]) {
    const mosquitto = await startMosquitto(`password_file ${dir}/passwd\n`, { anonymous });
    t.after(() => mosquitto.stop());
    const mqx = await startMqxBroker(t, `listener PORT 127.0.0.1\nallow_anonymous ${anonymous}\npassword_file ${dir}/passwd\n`);
    const expected = await Promise.all(cases.map((peer) => connackCode(mosquitto.port, peer)));
    const actual = await Promise.all(cases.map((peer) => connackCode(mqx.port, peer)));
    assert.deepEqual(actual, expected, `allow_anonymous ${anonymous}`);
    assert.equal(expected[0], 0);
    assert.notEqual(expected[1], 0);
  }
});

test('MQTT 5.0: a denied QoS 1 publish gets 0x87 on both brokers and the client stays connected', async (t) => {
  if (!havePeers(t, 'mosquitto', 'mosquitto_passwd')) return;
  const dir = writeFiles(t);
  const mosquitto = await startMosquitto(`password_file ${dir}/passwd\nacl_file ${dir}/acl\n`, { anonymous: true });
  t.after(() => mosquitto.stop());
  const mqx = await startMqxBroker(t, `listener PORT 127.0.0.1\nallow_anonymous true\npassword_file ${dir}/passwd\nacl_file ${dir}/acl\n`);
  for (const port of [mosquitto.port, mqx.port]) {
    const alice = await open(t, port, PEERS.alice!, { protocolVersion: 5 });
    await assert.rejects(alice.mqtt.publishAsync('alice/secret', 'x', { qos: 1 }), (error: Error & { code?: number }) => error.code === 0x87);
    await alice.mqtt.publishAsync('alice/ok', 'x', { qos: 1 });
    assert.equal(alice.mqtt.connected, true);
  }
});
