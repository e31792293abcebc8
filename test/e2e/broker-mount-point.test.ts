// mount_point with `mqx broker -c`: two listeners, one with `mount_point tenant/`, and real
// MQTT.js clients on each; then the same steps against mosquitto 2.0 with the same config.

import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as mqttConnect } from 'mqtt';
import type { IClientOptions, MqttClient } from 'mqtt';
import { freePort, havePeers, peerPath, startMosquitto } from '../helpers/peers.js';
import { startMqxBroker, tempDir } from '../helpers/mqx-broker.js';

// ACL checks see the full topic: `secret` from a client under tenant/ is tenant/secret, denied.
const ACL = `topic readwrite tenant/#
topic deny tenant/secret
topic readwrite secret
topic readwrite other
topic readwrite fence
`;

interface Client {
  mqtt: MqttClient;
  /** `topic payload`, with ` (retained)` for retained deliveries, in arrival order. */
  received: string[];
  /** Resolves once everything the broker sent before now has arrived (UNSUBSCRIBE round trip). */
  sync(): Promise<void>;
}

function open(t: TestContext, port: number, clientId: string, extra: IClientOptions = {}): Promise<Client> {
  const mqtt = mqttConnect({ host: '127.0.0.1', port, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000, clientId, ...extra });
  t.after(() => mqtt.endAsync(true));
  const received: string[] = [];
  mqtt.on('message', (topic, payload, packet) => received.push(`${topic} ${payload.toString()}${packet.retain ? ' (retained)' : ''}`));
  return new Promise((resolve, reject) => {
    mqtt.once('connect', () => resolve({ mqtt, received, sync: async () => { await mqtt.unsubscribeAsync('sync/never'); } }));
    mqtt.once('error', reject);
  });
}

/** Resolves once `client` has received a line matching `line`. */
function arrival(client: Client, line: string): Promise<void> {
  return new Promise((resolve) => {
    if (client.received.includes(line)) { resolve(); return; }
    const onMessage = () => { if (client.received.includes(line)) { client.mqtt.off('message', onMessage); resolve(); } };
    client.mqtt.on('message', onMessage);
  });
}

/** The config both brokers run: a plain listener and one with a mount point, one ACL file. */
function config(plainPort: number, mountPort: number, dir: string): string {
  return `allow_anonymous true\nacl_file ${dir}/acl\nlistener ${plainPort} 127.0.0.1\nlistener ${mountPort} 127.0.0.1\nmount_point tenant/\n`;
}

/**
 * What clients on each listener see for the same steps: publishing, subscribing and a will from
 * under the mount point; `$SYS/...` and `$share/...` written there; the ACL on the full topic.
 */
async function observe(t: TestContext, plainPort: number, mountPort: number): Promise<Record<string, string[]>> {
  const plain = await open(t, plainPort, 'plain');
  await plain.mqtt.publishAsync('tenant/kept', 'retained for the tenant', { qos: 1, retain: true });
  await plain.mqtt.subscribeAsync('#', { qos: 1 });
  const mount = await open(t, mountPort, 'mount');
  await mount.mqtt.subscribeAsync('#', { qos: 1 });
  const sharer = await open(t, mountPort, 'sharer');
  await sharer.mqtt.subscribeAsync('$share/g/s', { qos: 1 });

  for (const topic of ['bas', '$SYS/foo', 'secret']) await mount.mqtt.publishAsync(topic, 'from the tenant', { qos: 1 });
  for (const topic of ['tenant/x', 'other', 'secret', 'tenant/$share/g/s']) await plain.mqtt.publishAsync(topic, 'from outside', { qos: 1 });

  const willer = await open(t, mountPort, 'willer', { will: { topic: 'gone', payload: Buffer.from('will of the tenant'), qos: 1, retain: false } });
  const will = arrival(plain, 'tenant/gone will of the tenant');
  willer.mqtt.stream.destroy(); // not a DISCONNECT: the will is published
  await will;

  // One last message that all three receive: everything before it has arrived.
  await plain.mqtt.publishAsync('tenant/fence', 'end', { qos: 1 });
  await plain.mqtt.publishAsync('tenant/$share/g/s', 'end', { qos: 1 });
  await Promise.all([plain.sync(), mount.sync(), sharer.sync()]);
  return { plain: plain.received, mount: mount.received, sharer: sharer.received };
}

function writeAcl(t: TestContext): string {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'acl'), ACL);
  return dir;
}

test('mount_point: topics from the listener get the prefix, deliveries lose it, other topics stay out', async (t) => {
  const dir = writeAcl(t);
  const mountPort = await freePort();
  const broker = await startMqxBroker(t, config(0, mountPort, dir).replace('listener 0 ', 'listener PORT '), { dir });
  const seen = await observe(t, broker.port, mountPort);
  assert.deepEqual(seen.plain, [
    'tenant/kept retained for the tenant (retained)',
    'tenant/bas from the tenant',
    'tenant/$SYS/foo from the tenant', // not the broker's $SYS: a topic under the mount point
    // tenant/secret is denied: the ACL sees the full topic
    'tenant/x from outside',
    'other from outside',
    'secret from outside',
    'tenant/$share/g/s from outside',
    'tenant/gone will of the tenant',
    'tenant/fence end',
    'tenant/$share/g/s end',
  ]);
  assert.deepEqual(seen.mount, [
    'kept retained for the tenant (retained)',
    'bas from the tenant',
    '$SYS/foo from the tenant',
    'x from outside',
    '$share/g/s from outside',
    'gone will of the tenant',
    'fence end',
    '$share/g/s end',
  ]);
  // `$share/g/s` under a mount point is an ordinary subscription to tenant/$share/g/s, as in Mosquitto.
  assert.deepEqual(seen.sharer, ['$share/g/s from outside', '$share/g/s end']);
});

test('mount_point: UNSUBSCRIBE takes the relative filter; a topic equal to the bare prefix is not delivered', async (t) => {
  const mountPort = await freePort();
  const broker = await startMqxBroker(t, `allow_anonymous true\nlistener PORT 127.0.0.1\nlistener ${mountPort} 127.0.0.1\nmount_point tenant/\n`);
  const plain = await open(t, broker.port, 'plain');
  const mount = await open(t, mountPort, 'mount', { protocolVersion: 5 });
  await mount.mqtt.subscribeAsync(['a', '#'], { qos: 1 });
  const unsuback = await mount.mqtt.unsubscribeAsync('a') as unknown as { granted: number[] };
  assert.deepEqual(unsuback.granted, [0]); // 0x00 Success: the subscription to tenant/a existed
  // `tenant` matches tenant/# but has nothing left once the prefix is stripped.
  await plain.mqtt.publishAsync('tenant', 'bare prefix', { qos: 1 });
  await plain.mqtt.publishAsync('tenant/a', 'once', { qos: 1 });
  await mount.sync();
  assert.deepEqual(mount.received, ['a once']);
  // The subscription is stored with its full filter.
  await mount.mqtt.unsubscribeAsync('#');
  await plain.mqtt.publishAsync('tenant/a', 'after unsubscribe', { qos: 1 });
  await mount.sync();
  assert.deepEqual(mount.received, ['a once']);
});

test('mount_point: mosquitto_pub and mosquitto_sub on the mounted listener', async (t) => {
  if (!havePeers(t, 'mosquitto_pub', 'mosquitto_sub')) return;
  const mountPort = await freePort();
  const broker = await startMqxBroker(t, `allow_anonymous true\nlistener PORT 127.0.0.1\nlistener ${mountPort} 127.0.0.1\nmount_point tenant/\n`);
  const plain = await open(t, broker.port, 'plain');
  await plain.mqtt.publishAsync('tenant/sensor/1', '21.5', { qos: 1, retain: true });
  const sub = spawn(peerPath('mosquitto_sub')!, ['-p', String(mountPort), '-t', 'sensor/#', '-v', '-C', '1', '-W', '10']);
  let output = '';
  sub.stdout.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  const code = await new Promise<number | null>((resolve) => sub.once('exit', resolve));
  assert.equal(code, 0, output);
  assert.equal(output, 'sensor/1 21.5\n');

  await plain.mqtt.subscribeAsync('tenant/cmd', { qos: 1 });
  const arrived = arrival(plain, 'tenant/cmd on');
  const pub = spawn(peerPath('mosquitto_pub')!, ['-p', String(mountPort), '-t', 'cmd', '-m', 'on', '-q', '1']);
  assert.equal(await new Promise<number | null>((resolve) => pub.once('exit', resolve)), 0);
  await arrived;
});

test('mount_point differential: mosquitto 2.0 and mqx broker prefix, isolate and check ACLs alike', async (t) => {
  if (!havePeers(t, 'mosquitto')) return;
  const dir = writeAcl(t);
  const mountPort = await freePort();
  // startMosquitto writes the first listener itself; the rest of the config follows it.
  const mosquitto = await startMosquitto(config(0, mountPort, dir).replace(/listener 0 127\.0\.0\.1\n/, ''));
  t.after(() => mosquitto.stop());
  const expected = await observe(t, mosquitto.port, mountPort);
  await mosquitto.stop();

  const mqxDir = writeAcl(t);
  const mqxMountPort = await freePort();
  const broker = await startMqxBroker(t, config(0, mqxMountPort, mqxDir).replace('listener 0 ', 'listener PORT '), { dir: mqxDir });
  const actual = await observe(t, broker.port, mqxMountPort);
  assert.deepEqual(actual.plain, expected.plain);
  // Debian's 2.0.11 does not strip the prefix from what it sends (mosquitto issue #2244, fixed
  // after 2.0.11; 1.6 and later 2.0 releases strip it, as mqx does): compare without it.
  const unprefixed = (lines: string[]) => lines.map((line) => line.replace(/^tenant\//, ''));
  assert.deepEqual(actual.mount, unprefixed(expected.mount));
  assert.deepEqual(actual.sharer, unprefixed(expected.sharer));
});
