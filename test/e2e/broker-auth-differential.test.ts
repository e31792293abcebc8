// The same password file (written by mosquitto_passwd) and ACL file on mosquitto 2.0 and on
// `mqx broker -c`: the same CONNACKs and the same allow/deny for a table of users, client ids
// and topics, observed by delivery (publish, delivery, retained, queued, wills), with sync markers.

import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as mqttConnect } from 'mqtt';
import type { IClientOptions, MqttClient } from 'mqtt';
import { freePort, havePeers, peerPath, startMosquitto } from '../helpers/peers.js';
import { startMqxBroker, tempDir } from '../helpers/mqx-broker.js';

const ACL = `# anonymous clients
topic read public/#
topic readwrite anon/#

user alice
topic readwrite alice/#
topic deny alice/secret
topic read shared/#
topic write tenant/alice/#
topic write $SYS/#

user observer
topic readwrite #
topic read $SYS/#

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

interface Connected extends Client {
  /** The CONNACK's return code (3.1.1) or reason code (5.0). */
  connack: number;
}

function open(t: TestContext, port: number, peer: Peer, extra: IClientOptions = {}): Promise<Connected> {
  const mqtt = mqttConnect({ host: '127.0.0.1', port, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000, clientId: peer.clientId, username: peer.username, password: peer.password, ...extra });
  t.after(() => mqtt.endAsync(true));
  const received: string[] = [];
  mqtt.on('message', (topic, payload) => received.push(`${topic} ${payload.toString()}`));
  return new Promise((resolve, reject) => {
    mqtt.once('connect', (connack) => resolve({
      mqtt, received, connack: connack.reasonCode ?? connack.returnCode ?? 0, sync: async () => { await mqtt.unsubscribeAsync('sync/never'); },
    }));
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

/** One will: who leaves it, through which listener, with which protocol version and topic. */
interface WillCase { peer: keyof typeof PEERS; listener: 'plain' | 'mount'; version: 4 | 5; topic: string }

// Mosquitto 2.0 checks a will for write only when it sends it (context__send_will), with the
// mount point already in its topic; $SYS (but for the bridge-state topic) and $share are refused
// whatever the ACL says. alice's ACL allows her $SYS/# and tenant/alice/#.
const WILLS: WillCase[] = [
  { peer: 'alice', listener: 'plain', version: 4, topic: 'alice/will' },
  { peer: 'alice', listener: 'plain', version: 4, topic: 'alice/secret' },
  { peer: 'alice', listener: 'plain', version: 4, topic: 'shared/x' },
  { peer: 'alice', listener: 'plain', version: 5, topic: 'alice/secret' },
  { peer: 'alice', listener: 'plain', version: 5, topic: 'alice/will5' },
  { peer: 'alice', listener: 'plain', version: 4, topic: '$SYS/alice' },
  { peer: 'alice', listener: 'plain', version: 4, topic: '$SYS/broker/connection/alice/state' },
  { peer: 'bob', listener: 'plain', version: 4, topic: 'clients/c-bob/will' },
  { peer: 'bob', listener: 'plain', version: 4, topic: 'bob/will' },
  { peer: 'anonymous', listener: 'plain', version: 4, topic: 'anon/will' },
  { peer: 'anonymous', listener: 'plain', version: 4, topic: 'public/will' },
  { peer: 'alice', listener: 'mount', version: 4, topic: 'alice/will' }, // tenant/alice/will
  { peer: 'alice', listener: 'mount', version: 5, topic: 'alice/secret' }, // tenant/alice/secret: no deny there
  { peer: 'alice', listener: 'mount', version: 4, topic: 'secret' }, // tenant/secret
];

/**
 * For each will: the CONNACK code, then the connection is cut (no DISCONNECT) and the same
 * client id connects again. The broker has sent or dropped the will by the time it answers that
 * CONNACK (on the closed socket, or as the old session's end at the takeover), so the
 * observer's UNSUBSCRIBE round trip after it brings any will home. Returns a line per will.
 */
async function observeWills(t: TestContext, plainPort: number, mountPort: number): Promise<string[]> {
  const observer = await open(t, plainPort, { username: 'observer', password: 'observer-pw', clientId: 'c-observer' });
  await observer.mqtt.subscribeAsync(['#', '$SYS/alice', '$SYS/broker/connection/+/state'], { qos: 1 });
  const results: string[] = [];
  for (const [index, will] of WILLS.entries()) {
    const port = will.listener === 'plain' ? plainPort : mountPort;
    const peer = PEERS[will.peer]!;
    const payload = `will-${index}`;
    const leaving = await open(t, port, peer, { protocolVersion: will.version, will: { topic: will.topic, payload: Buffer.from(payload), qos: 1, retain: false } });
    leaving.mqtt.stream.destroy();
    const again = await open(t, port, peer, { protocolVersion: will.version });
    await again.mqtt.endAsync();
    await observer.sync();
    const arrived = observer.received.find((line) => line.endsWith(` ${payload}`));
    results.push(`${will.peer} v${will.version} ${will.listener} '${will.topic}': CONNACK ${leaving.connack}, ${arrived === undefined ? 'dropped' : `delivered as ${arrived.slice(0, -payload.length - 1)}`}`);
  }
  return results;
}

test('will differential: the same ACL accepts every CONNECT and sends or drops the same wills on mosquitto and mqx broker, mount_point included', async (t) => {
  if (!havePeers(t, 'mosquitto', 'mosquitto_passwd')) return;
  const dir = writeFiles(t);
  const mount = (port: number) => `listener ${port} 127.0.0.1\nmount_point tenant/\n`;
  // startMosquitto writes the first listener itself; the mounted one follows it.
  const mosquittoMount = await freePort();
  const mosquitto = await startMosquitto(`password_file ${dir}/passwd\nacl_file ${dir}/acl\n${mount(mosquittoMount)}`, { anonymous: true });
  t.after(() => mosquitto.stop());
  const expected = await observeWills(t, mosquitto.port, mosquittoMount);
  await mosquitto.stop();
  const mqxMount = await freePort();
  const mqx = await startMqxBroker(t, `allow_anonymous true\npassword_file ${dir}/passwd\nacl_file ${dir}/acl\nlistener PORT 127.0.0.1\n${mount(mqxMount)}`);
  const actual = await observeWills(t, mqx.port, mqxMount);
  assert.deepEqual(actual, expected);
  // What mosquitto 2.0.11 does, so that the comparison cannot pass vacuously.
  assert.ok(expected.every((line) => line.includes(': CONNACK 0, ')), expected.join('\n'));
  for (const line of [
    "alice v4 plain 'alice/will': CONNACK 0, delivered as alice/will",
    "alice v4 plain 'alice/secret': CONNACK 0, dropped",
    "alice v5 plain 'alice/secret': CONNACK 0, dropped",
    "alice v4 plain '$SYS/alice': CONNACK 0, dropped",
    "alice v4 mount 'alice/will': CONNACK 0, delivered as tenant/alice/will",
    "alice v4 mount 'secret': CONNACK 0, dropped",
  ]) assert.ok(expected.includes(line), `${line}\nnot in:\n${expected.join('\n')}`);
});
