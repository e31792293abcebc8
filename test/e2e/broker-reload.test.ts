// SIGHUP with `mqx broker -c`: after `mqx passwd` deletes a user or changes a password, or the
// config stops allowing anonymous clients, the clients that would now be refused are
// disconnected (without their wills), the others stay; a reloaded ACL decides the wills of
// clients connected before it; then the same steps on mosquitto 2.0.

import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as mqttConnect } from 'mqtt';
import type { IClientOptions, MqttClient } from 'mqtt';
import { runMqx, waitForOutput } from '../helpers/process.js';
import { startMqxBroker, tempDir } from '../helpers/mqx-broker.js';
import { havePeers, startMosquitto } from '../helpers/peers.js';

interface Client {
  mqtt: MqttClient;
  received: string[];
  closed: Promise<void>;
  /** Packets the client got after CONNACK, as `cmd` or `cmd reason`. */
  packets: string[];
}

function open(t: TestContext, port: number, clientId: string, extra: IClientOptions = {}): Promise<Client> {
  const mqtt = mqttConnect({ host: '127.0.0.1', port, reconnectPeriod: 0, connectTimeout: 5000, clientId, will: { topic: `will/${clientId}`, payload: Buffer.from('gone'), qos: 1, retain: false }, ...extra });
  t.after(() => mqtt.endAsync(true));
  const received: string[] = [];
  const packets: string[] = [];
  mqtt.on('message', (topic, payload) => received.push(`${topic} ${payload.toString()}`));
  mqtt.on('packetreceive', (packet) => { if (packet.cmd === 'disconnect') packets.push(`disconnect ${packet.reasonCode ?? 0}`); });
  const closed = new Promise<void>((resolve) => mqtt.once('close', () => resolve()));
  return new Promise((resolve, reject) => {
    mqtt.once('connect', () => resolve({ mqtt, received, closed, packets }));
    mqtt.once('error', reject);
  });
}

async function addUser(file: string, user: string, password: string, create = false): Promise<void> {
  const made = await runMqx(['passwd', ...(create ? ['-c'] : []), '-b', file, user, password]);
  assert.equal(made.code, 0, made.stderr);
}

async function writeFiles(t: TestContext): Promise<string> {
  const dir = tempDir(t);
  await addUser(join(dir, 'passwd'), 'alice', 'alice-pw', true);
  await addUser(join(dir, 'passwd'), 'bob', 'bob-pw');
  await addUser(join(dir, 'passwd'), 'carol', 'carol-pw');
  return dir;
}

/**
 * Connects alice (5.0), bob (3.1.1), carol and an anonymous client, each with a will; deletes
 * alice with `mqx passwd -D`, changes bob's password, turns allow_anonymous off, sends SIGHUP
 * to `broker`. Returns who was disconnected, the wills published, and whether carol still works.
 */
async function reloadScenario(t: TestContext, port: number, dir: string, configPath: string, broker: ChildProcess): Promise<Record<string, unknown>> {
  const watcher = await open(t, port, 'watcher', { username: 'carol', password: 'carol-pw' });
  await watcher.mqtt.subscribeAsync(['will/#', 'still/#'], { qos: 1 });
  const clients: Record<string, Client> = {
    alice: await open(t, port, 'c-alice', { username: 'alice', password: 'alice-pw', protocolVersion: 5 }),
    bob: await open(t, port, 'c-bob', { username: 'bob', password: 'bob-pw', protocolVersion: 4 }),
    carol: await open(t, port, 'c-carol', { username: 'carol', password: 'carol-pw', protocolVersion: 5 }),
    anonymous: await open(t, port, 'c-anon', { protocolVersion: 5 }),
  };
  const deleted = await runMqx(['passwd', '-D', join(dir, 'passwd'), 'alice']);
  assert.equal(deleted.code, 0, deleted.stderr);
  await addUser(join(dir, 'passwd'), 'bob', 'a-new-password');
  writeFileSync(configPath, readFileSync(configPath, 'utf8').replace('allow_anonymous true', 'allow_anonymous false'));
  broker.kill('SIGHUP');
  await Promise.all([clients.alice!.closed, clients.bob!.closed, clients.anonymous!.closed]);
  // Carol is still connected: her message arrives, and with it everything sent before it.
  await clients.carol!.mqtt.publishAsync('still/here', 'carol', { qos: 1 });
  await watcher.mqtt.unsubscribeAsync('sync/never');
  return {
    disconnected: Object.entries(clients).filter(([, client]) => !client.mqtt.connected).map(([name]) => name),
    packets: Object.fromEntries(Object.entries(clients).map(([name, client]) => [name, client.packets])),
    watcher: watcher.received,
  };
}

const EXPECTED = {
  disconnected: ['alice', 'bob', 'anonymous'],
  // No DISCONNECT packet, even to 5.0 clients, and no will: Mosquitto closes them as "not authorised".
  packets: { alice: [], bob: [], carol: [], anonymous: [] },
  watcher: ['still/here carol'],
};

test('SIGHUP disconnects clients the reloaded password file and allow_anonymous refuse, keeps the rest', async (t) => {
  const dir = await writeFiles(t);
  const broker = await startMqxBroker(t, 'listener PORT 127.0.0.1\nallow_anonymous true\npassword_file DIR/passwd\n', { dir });
  assert.deepEqual(await reloadScenario(t, broker.port, dir, broker.configPath, broker.child), EXPECTED);
  await broker.waitForLog(/Client c-anon disconnected, not authorised\./);
  for (const id of ['c-alice', 'c-bob']) assert.match(broker.log(), new RegExp(`Client ${id} disconnected, not authorised\\.`));
  assert.doesNotMatch(broker.log(), /Client c-carol disconnected/);
  // A refused client cannot come back either.
  await assert.rejects(open(t, broker.port, 'c-alice-2', { username: 'alice', password: 'alice-pw' }));
  const bob = await open(t, broker.port, 'c-bob-2', { username: 'bob', password: 'a-new-password' });
  assert.equal(bob.mqtt.connected, true);
});

test('SIGHUP that turns security on for a broker started without any: anonymous clients out, new ones refused', async (t) => {
  const broker = await startMqxBroker(t, 'listener PORT 127.0.0.1\nallow_anonymous true\n', { dir: tempDir(t) });
  const anonymous = await open(t, broker.port, 'c-open', { protocolVersion: 4 });
  writeFileSync(broker.configPath, readFileSync(broker.configPath, 'utf8').replace('allow_anonymous true', 'allow_anonymous false'));
  broker.child.kill('SIGHUP');
  await anonymous.closed;
  await broker.waitForLog(/Client c-open disconnected, not authorised\./);
  await assert.rejects(open(t, broker.port, 'c-open-2', { protocolVersion: 4 }), /Not authorized|not authori[sz]ed|Connection refused/i);
});

test('SIGHUP with a broken config file keeps the previous settings and every client', async (t) => {
  const dir = await writeFiles(t);
  const broker = await startMqxBroker(t, 'listener PORT 127.0.0.1\nallow_anonymous true\npassword_file DIR/passwd\n', { dir });
  const anonymous = await open(t, broker.port, 'c-anon');
  writeFileSync(broker.configPath, readFileSync(broker.configPath, 'utf8').replace('allow_anonymous true', 'allow_anonymous false\nno_such_option 1'));
  broker.child.kill('SIGHUP');
  await broker.waitForLog(/reload refused, keeping the previous configuration: .*mosquitto\.conf:\d+: .*no_such_option/);
  await anonymous.mqtt.publishAsync('x', 'still connected', { qos: 1 });
  assert.equal(anonymous.mqtt.connected, true);
});

test('SIGHUP differential: mosquitto 2.0 disconnects the same clients, the same way', async (t) => {
  if (!havePeers(t, 'mosquitto')) return;
  const dir = await writeFiles(t);
  // startMosquitto puts allow_anonymous true in the file: the scenario turns it off there.
  const mosquitto = await startMosquitto(`password_file ${dir}/passwd\n`);
  t.after(() => mosquitto.stop());
  assert.deepEqual(await reloadScenario(t, mosquitto.port, dir, join(mosquitto.dir, 'mosquitto.conf'), mosquitto.process), EXPECTED);
});

const ACL_BEFORE = 'user alice\ntopic readwrite alice/#\n\nuser bob\ntopic readwrite bob/#\n\nuser carol\ntopic read #\n';
const ACL_AFTER = 'user alice\ntopic readwrite alice/#\ntopic write wills/#\n\nuser bob\ntopic read bob/#\n\nuser carol\ntopic read #\n';

/**
 * alice connects with a will the ACL denies, bob with one it allows; the ACL file is swapped
 * the other way round and `reload()` sends SIGHUP and waits until the broker has read it; then
 * both connections are cut and their client ids connect again, after which the broker has sent
 * or dropped the wills. Returns what the watcher (carol, reading #) got.
 */
async function willReloadScenario(t: TestContext, port: number, dir: string, reload: () => Promise<void>): Promise<string[]> {
  const watcher = await open(t, port, 'watcher', { username: 'carol', password: 'carol-pw' });
  await watcher.mqtt.subscribeAsync('#', { qos: 1 });
  const alice = await open(t, port, 'c-alice', { username: 'alice', password: 'alice-pw', will: { topic: 'wills/alice', payload: Buffer.from('alice gone'), qos: 1, retain: false } });
  const bob = await open(t, port, 'c-bob', { username: 'bob', password: 'bob-pw', will: { topic: 'bob/w', payload: Buffer.from('bob gone'), qos: 1, retain: false } });
  writeFileSync(join(dir, 'acl'), ACL_AFTER);
  await reload();
  for (const [client, id, username] of [[alice, 'c-alice', 'alice'], [bob, 'c-bob', 'bob']] as const) {
    client.mqtt.stream.destroy();
    const again = await open(t, port, id, { username, password: `${username}-pw`, will: undefined });
    await again.mqtt.endAsync();
  }
  await watcher.mqtt.unsubscribeAsync('sync/never');
  return watcher.received;
}

test('SIGHUP: a will is checked against the ACL in force when it is sent, not at CONNECT (mqx and mosquitto 2.0)', async (t) => {
  const dir = await writeFiles(t);
  writeFileSync(join(dir, 'acl'), ACL_BEFORE);
  const broker = await startMqxBroker(t, 'listener PORT 127.0.0.1\npassword_file DIR/passwd\nacl_file DIR/acl\n', { dir });
  const received = await willReloadScenario(t, broker.port, dir, async () => {
    const reloaded = waitForOutput(broker.child.stderr!, /Reloaded .*acl/);
    broker.child.kill('SIGHUP');
    await reloaded;
  });
  // Denied when alice connected, allowed when sent; bob's the other way round.
  assert.deepEqual(received, ['wills/alice alice gone']);
  if (!havePeers(t, 'mosquitto')) return;
  writeFileSync(join(dir, 'acl'), ACL_BEFORE);
  const mosquitto = await startMosquitto(`password_file ${dir}/passwd\nacl_file ${dir}/acl\n`, { anonymous: false });
  t.after(() => mosquitto.stop());
  assert.deepEqual(await willReloadScenario(t, mosquitto.port, dir, async () => {
    // mosquitto logs this in the loop turn that reloads, before it serves any client again.
    const reloaded = waitForOutput(mosquitto.process.stderr!, /Reloading config\./);
    mosquitto.process.kill('SIGHUP');
    await reloaded;
  }), received);
});
