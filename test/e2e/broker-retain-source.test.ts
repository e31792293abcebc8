// check_retain_source with `mqx broker -c`: after a SIGHUP reload (or a restart with persistence
// and a changed ACL) takes a user's write access away, their old retained messages stop reaching
// new subscribers (unless the option is false).

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

/** The retained payloads a new subscription to `filter` receives. */
async function retainedFor(c: MqttClient, filter: string): Promise<string[]> {
  const seen: string[] = [];
  const onMessage = (_topic: string, payload: Buffer, packet: { retain: boolean }) => { if (packet.retain) seen.push(payload.toString()); };
  c.on('message', onMessage);
  await c.subscribeAsync(filter, { qos: 1 });
  await c.unsubscribeAsync('sync/never'); // everything sent before the UNSUBACK has arrived
  c.off('message', onMessage);
  return seen;
}

/** A directory with a password file (alice, watcher) and an ACL: alice writes r/#, watcher reads everything. */
async function aliceAndWatcher(t: TestContext): Promise<string> {
  const dir = tempDir(t);
  const passwd = join(dir, 'passwd');
  for (const [user, password, create] of [['alice', 'alice-pw', true], ['watcher', 'watcher-pw', false]] as const) {
    const made = await runMqx(['passwd', ...(create ? ['-c'] : []), '-b', passwd, user, password]);
    assert.equal(made.code, 0, made.stderr);
  }
  writeFileSync(join(dir, 'acl'), 'user alice\ntopic readwrite r/#\nuser watcher\ntopic read #\n');
  return dir;
}

async function revokeAfterRetain(t: TestContext, extra: string): Promise<string[]> {
  const dir = await aliceAndWatcher(t);
  const broker = await startMqxBroker(t, `listener PORT 127.0.0.1\npassword_file DIR/passwd\nacl_file DIR/acl\n${extra}`, { dir });
  const alice = await client(t, broker.port, { username: 'alice', password: 'alice-pw', clientId: 'alice' });
  await alice.publishAsync('r/a', 'from alice', { qos: 1, retain: true });
  const before = await client(t, broker.port, { username: 'watcher', password: 'watcher-pw', clientId: 'w1' });
  assert.deepEqual(await retainedFor(before, 'r/#'), ['from alice']);

  writeFileSync(join(dir, 'acl'), 'user alice\ntopic read r/#\nuser watcher\ntopic read #\n');
  broker.child.kill('SIGHUP');
  await broker.waitForLog(/Reloaded .*acl/);
  const after = await client(t, broker.port, { username: 'watcher', password: 'watcher-pw', clientId: 'w2' });
  return retainedFor(after, 'r/#');
}

test('check_retain_source (default true): a revoked publisher\'s retained message is no longer delivered', async (t) => {
  assert.deepEqual(await revokeAfterRetain(t, ''), []);
});

test('check_retain_source false: the retained message is still delivered after the revocation', async (t) => {
  assert.deepEqual(await revokeAfterRetain(t, 'check_retain_source false\n'), ['from alice']);
});

/** Alice's retained message, a restart with persistence, then the ACL as given: what does a new subscriber get? */
async function acrossRestart(t: TestContext, aclAfter: string, extra = ''): Promise<string[]> {
  const dir = await aliceAndWatcher(t);
  const config = `listener PORT 127.0.0.1\npassword_file DIR/passwd\nacl_file DIR/acl\npersistence true\npersistence_location DIR/\n${extra}`;
  const first = await startMqxBroker(t, config, { dir });
  const alice = await client(t, first.port, { username: 'alice', password: 'alice-pw', clientId: 'alice' });
  await alice.publishAsync('r/a', 'from alice', { qos: 1, retain: true });
  await alice.endAsync();
  await first.stop();

  writeFileSync(join(dir, 'acl'), aclAfter);
  const second = await startMqxBroker(t, config, { dir });
  const watcher = await client(t, second.port, { username: 'watcher', password: 'watcher-pw', clientId: 'w' });
  return retainedFor(watcher, 'r/#');
}

test('check_retain_source after a restart with persistence: the restored message still names its publisher', async (t) => {
  // Unchanged ACL: the message survived the restart.
  assert.deepEqual(await acrossRestart(t, 'user alice\ntopic readwrite r/#\nuser watcher\ntopic read #\n'), ['from alice']);
});

test('check_retain_source after a restart with persistence: alice\'s write access revoked, her retained message is not delivered', async (t) => {
  assert.deepEqual(await acrossRestart(t, 'user alice\ntopic read r/#\nuser watcher\ntopic read #\n'), []);
});

test('check_retain_source false after a restart: the revoked publisher\'s retained message is delivered', async (t) => {
  assert.deepEqual(await acrossRestart(t, 'user alice\ntopic read r/#\nuser watcher\ntopic read #\n', 'check_retain_source false\n'), ['from alice']);
});
