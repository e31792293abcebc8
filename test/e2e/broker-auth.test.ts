// Passwords and ACLs enforced by `mqx broker -c`: files from `mqx passwd`, acl_check_subscribe,
// and SIGHUP reloading the files without dropping clients (a bad file keeps the old ones).

import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IClientOptions, MqttClient } from 'mqtt';
import { runMqx } from '../helpers/process.js';
import { startMqxBroker, tempDir } from '../helpers/mqx-broker.js';
import { connectClient } from '../helpers/mqttjs.js';

function client(t: TestContext, port: number, options: IClientOptions = {}): Promise<MqttClient> {
  return connectClient(t, null, { host: '127.0.0.1', port, ...options });
}

/** True when a QoS 1 publish by `pub` on `topic` reaches `sub` (which must be subscribed to it). */
async function delivered(pub: MqttClient, sub: MqttClient, topic: string): Promise<boolean> {
  const tag = `${topic} ${Math.random()}`;
  let seen = false;
  const onMessage = (_topic: string, payload: Buffer) => { if (payload.toString() === tag) seen = true; };
  sub.on('message', onMessage);
  await pub.publishAsync(topic, tag, { qos: 1 });
  await sub.unsubscribeAsync('sync/never'); // everything routed to sub before now has arrived
  sub.off('message', onMessage);
  return seen;
}

/** The SUBACK return codes (MQTT.js rejects a SUBACK with a failure but keeps the packet). */
async function subackCodes(c: MqttClient, filters: string[]): Promise<number[]> {
  try {
    return (await c.subscribeAsync(filters)).map((grant) => grant.qos);
  } catch (error) {
    const packet = (error as { packet?: { granted?: Array<number | { qos: number }> } }).packet;
    if (!packet?.granted) throw error;
    return packet.granted.map((grant) => (typeof grant === 'number' ? grant : grant.qos));
  }
}

async function setup(t: TestContext, acl: string, extra = '') {
  const dir = tempDir(t);
  const passwd = join(dir, 'passwd');
  for (const [user, password, create] of [['alice', 'alice-pw', true], ['watcher', 'watcher-pw', false]] as const) {
    const made = await runMqx(['passwd', ...(create ? ['-c'] : []), '-b', passwd, user, password]);
    assert.equal(made.code, 0, made.stderr);
  }
  writeFileSync(join(dir, 'acl'), acl);
  const broker = await startMqxBroker(t, `listener PORT 127.0.0.1\npassword_file DIR/passwd\nacl_file DIR/acl\n${extra}`, { dir });
  return { dir, broker };
}

test('a password file written by mqx passwd: right password in, wrong password and anonymous refused', async (t) => {
  const { broker } = await setup(t, 'user alice\ntopic alice/#\n');
  const alice = await client(t, broker.port, { username: 'alice', password: 'alice-pw' });
  assert.equal(alice.connected, true);
  await assert.rejects(client(t, broker.port, { username: 'alice', password: 'nope' }), (error: Error & { code?: number }) => error.code === 5);
  await assert.rejects(client(t, broker.port, {}), (error: Error & { code?: number }) => error.code === 5);
  await broker.waitForLog(/u'alice'/);
  assert.doesNotMatch(broker.log(), /alice-pw|nope/, 'passwords never logged');
});

test('acl_check_subscribe true: a filter under which nothing can be read is refused at SUBACK (3.1.1 0x80, 5.0 0x87)', async (t) => {
  const { broker } = await setup(t, 'user alice\ntopic read alice/#\ntopic deny alice/secret/#\n', 'acl_check_subscribe true\n');
  const alice = await client(t, broker.port, { username: 'alice', password: 'alice-pw' });
  assert.deepEqual(await subackCodes(alice, ['alice/#', 'alice/secret/#', 'bob/#']), [0, 128, 128]);
  const alice5 = await client(t, broker.port, { username: 'alice', password: 'alice-pw', protocolVersion: 5, clientId: 'alice5' });
  assert.deepEqual(await subackCodes(alice5, ['alice/x', 'bob/x']), [0, 0x87]);
  assert.equal(alice.connected && alice5.connected, true);
});

test('SIGHUP reloads the ACL without dropping clients; a broken ACL is refused and the old one stays', async (t) => {
  const { dir, broker } = await setup(t, 'user alice\ntopic readwrite alice/#\nuser watcher\ntopic read #\n');
  const alice = await client(t, broker.port, { username: 'alice', password: 'alice-pw', clientId: 'alice' });
  const watcher = await client(t, broker.port, { username: 'watcher', password: 'watcher-pw', clientId: 'watcher' });
  await watcher.subscribeAsync('#', { qos: 1 });
  assert.equal(await delivered(alice, watcher, 'alice/a'), true);
  assert.equal(await delivered(alice, watcher, 'news/a'), false);

  writeFileSync(join(dir, 'acl'), 'user alice\ntopic readwrite news/#\nuser watcher\ntopic read #\n');
  broker.child.kill('SIGHUP');
  await broker.waitForLog(/Reloaded .*acl/);
  assert.equal(await delivered(alice, watcher, 'news/a'), true, 'new rule in force on the same connection');
  assert.equal(await delivered(alice, watcher, 'alice/a'), false, 'old rule gone');
  assert.equal(alice.connected && watcher.connected, true);

  writeFileSync(join(dir, 'acl'), 'user alice\ntopic readwrite alice/#\ntopic read bad/#/filter\n');
  broker.child.kill('SIGHUP');
  await broker.waitForLog(new RegExp(`reload refused, keeping the previous password and ACL files: ${join(dir, 'acl')}:3: invalid topic filter`));
  assert.equal(await delivered(alice, watcher, 'news/b'), true, 'previous ACL kept');
  assert.equal(alice.connected && watcher.connected, true);
});

test('SIGHUP reloads the password file: a user added by mqx passwd can connect', async (t) => {
  const { dir, broker } = await setup(t, 'user carol\ntopic carol/#\n');
  await assert.rejects(client(t, broker.port, { username: 'carol', password: 'carol-pw' }));
  const added = await runMqx(['passwd', '-b', join(dir, 'passwd'), 'carol', 'carol-pw']);
  assert.equal(added.code, 0, added.stderr);
  broker.child.kill('SIGHUP');
  await broker.waitForLog(/Reloaded .*passwd/);
  const carol = await client(t, broker.port, { username: 'carol', password: 'carol-pw' });
  assert.equal(carol.connected, true);
});
