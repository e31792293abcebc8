// The persistence store as a user runs it with `mqx broker -c`: one broker per store (lock file),
// SIGUSR1 compacts the log, and a SIGKILL in the middle of a compaction loses nothing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { startMqxBroker } from '../helpers/mqx-broker.js';
import { freePort } from '../helpers/peers.js';
import { runMqx } from '../helpers/process.js';

const STORE = 'persistence true\npersistence_location DIR/\nlistener PORT 127.0.0.1\nallow_anonymous true\nsys_interval 0\n';

test('a second mqx broker on the same store refuses to start with one line naming the lock file; the first keeps serving; once it stops the store is free', { timeout: 30_000 }, async (t) => {
  const first = await startMqxBroker(t, STORE);
  const lockPath = join(first.dir, 'mosquitto.db.lock');
  assert.equal(readFileSync(lockPath, 'utf8'), `${first.child.pid}\n`);
  // Another config (another port) on the same persistence_location.
  const secondConfig = join(first.dir, 'second.conf');
  const secondPort = await freePort();
  writeFileSync(secondConfig, `user root\nlog_dest stderr\npersistence true\npersistence_location ${first.dir}/\nlistener ${secondPort} 127.0.0.1\nallow_anonymous true\n`);
  const second = await runMqx(['broker', '-c', secondConfig]);
  assert.equal(second.code, 1);
  const errors = second.stderr.split('\n').filter((line) => /error/i.test(line));
  assert.equal(errors.length, 1, second.stderr);
  assert.equal(errors[0], `Error: persistence store ${join(first.dir, 'mosquitto.db')} is in use by process ${first.child.pid} (lock file ${lockPath}); two brokers must not share a store`);
  assert.doesNotMatch(second.stderr, /\n\s+at /, 'no stack trace');

  const client = await mqtt.connectAsync({ host: '127.0.0.1', port: first.port, reconnectPeriod: 0 });
  await client.publishAsync('lock/still', 'serving', { qos: 1, retain: true });
  await client.endAsync(true);
  await first.stop();
  assert.equal(existsSync(lockPath), false, 'a broker that stops removes its lock');
  const third = await startMqxBroker(t, STORE, { dir: first.dir });
  assert.match(third.log(), /Restored 0 sessions, 1 retained messages/);
  assert.doesNotMatch(third.log(), /Taking over/);
  await third.stop();
});

test('autosave_interval 0: the log is compacted at SIGUSR1 (and not before)', { timeout: 30_000 }, async (t) => {
  const broker = await startMqxBroker(t, `${STORE}autosave_interval 0\n`);
  const store = join(broker.dir, 'mosquitto.db');
  const client = await mqtt.connectAsync({ host: '127.0.0.1', port: broker.port, reconnectPeriod: 0 });
  for (let i = 0; i < 50; i++) await client.publishAsync('usr1/value', `value ${i}`, { qos: 1, retain: true });
  await client.endAsync(true);
  const grown = statSync(store).size;
  assert.doesNotMatch(broker.log(), /Saved persistence store/);
  broker.child.kill('SIGUSR1');
  await broker.waitForLog(/Saved persistence store \S+: \d+ bytes of log compacted to \d+/);
  const [, before, after] = /Saved persistence store \S+: (\d+) bytes of log compacted to (\d+)/.exec(broker.log())!;
  assert.equal(Number(before), grown);
  assert.equal(statSync(store).size, Number(after));
  assert.ok(Number(after) < grown / 10, `50 values of one retained topic compact to one (${grown} -> ${after} bytes)`);
});

/** Retained QoS 1 writes on `${prefix}/N`, one after the other, until stopped; `acked` grows with each PUBACK. */
function retainedWriter(client: mqtt.MqttClient, prefix: string): { acked: number[]; stop: () => void } {
  const acked: number[] = [];
  let running = true;
  (async () => {
    for (let i = 0; running; i++) {
      await client.publishAsync(`${prefix}/${i}`, String(i), { qos: 1, retain: true });
      acked.push(i);
    }
  })().catch(() => undefined);
  return { acked, stop: () => { running = false; } };
}

async function until(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    assert.ok(Date.now() < deadline, what);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

function restoredRetained(log: string): number {
  const restored = /Restored \d+ sessions, (\d+) retained messages/.exec(log);
  assert.ok(restored, log);
  return Number(restored[1]);
}

test('a SIGKILL during a compaction loses nothing, nor one after it: writes acknowledged while it ran are in the new store', { timeout: 60_000 }, async (t) => {
  const COUNT = 30_000;
  const config = `${STORE}autosave_interval 0\nlog_type error\nlog_type warning\nlog_type information\n`;
  let broker = await startMqxBroker(t, config);
  const { dir } = broker;
  const temp = join(dir, 'mosquitto.db.tmp');
  let client = await mqtt.connectAsync({ host: '127.0.0.1', port: broker.port, reconnectPeriod: 0 });
  const payload = Buffer.alloc(1000, 'p');
  // A large state, so that compaction takes many event-loop turns; QoS 0 then one QoS 1 round
  // trip: its PUBACK comes after everything before it is on disk.
  for (let i = 0; i < COUNT; i++) client.publish(`big/${i}`, payload, { qos: 0, retain: true });
  await client.publishAsync('big/fence', 'fence', { qos: 1, retain: true });

  // 1. Killed while compacting: acknowledged writes meanwhile are in the old log only. This state
  // takes many event-loop turns to compact, but a fast machine may still finish before an
  // acknowledgement comes back: then the compaction is simply started again (at most 5 times).
  const writer = retainedWriter(client, 'during');
  const saves = () => (broker.log().match(/Saved persistence store/g) ?? []).length;
  let duringCompaction = false;
  for (let attempt = 0; attempt < 5 && !duringCompaction; attempt++) {
    const savedBefore = saves();
    broker.child.kill('SIGUSR1');
    await until(() => existsSync(temp) || saves() > savedBefore, 'compaction started (its temp file appeared) or ended');
    const ackedBefore = writer.acked.length;
    await until(() => writer.acked.length > ackedBefore || saves() > savedBefore, 'an acknowledgement while compacting, or its end');
    // The temp file exists from the start of a compaction until its rename.
    duringCompaction = writer.acked.length > ackedBefore && existsSync(temp);
    if (!duringCompaction) await until(() => saves() > savedBefore, 'the compaction ended');
  }
  broker.child.kill('SIGKILL');
  writer.stop();
  await new Promise((resolve) => broker.child.once('exit', resolve));
  client.end(true);
  assert.ok(duringCompaction, 'the kill came while the compaction was running');
  broker = await startMqxBroker(t, config, { dir });
  assert.equal(existsSync(temp), false, 'the cut-short compaction\'s temp file is removed at start-up');
  // Every acknowledged retained topic; one more `during` write may be stored without its PUBACK having arrived.
  const duringAcked = writer.acked.length;
  let total = restoredRetained(broker.log());
  assert.ok(total >= COUNT + 1 + duringAcked && total <= COUNT + 2 + duringAcked, `restored ${total}, acknowledged ${COUNT + 1 + duringAcked}`);

  // 2. Killed after a compaction that ran under writes: they followed the snapshot into the new file.
  client = await mqtt.connectAsync({ host: '127.0.0.1', port: broker.port, reconnectPeriod: 0 });
  const afterWriter = retainedWriter(client, 'after');
  const savedBefore = saves();
  const ackedAtStart = afterWriter.acked.length;
  broker.child.kill('SIGUSR1');
  await until(() => saves() > savedBefore, 'the compaction ended');
  await until(() => afterWriter.acked.length >= ackedAtStart + 3, 'acknowledgements after the compaction');
  broker.child.kill('SIGKILL');
  afterWriter.stop();
  await new Promise((resolve) => broker.child.once('exit', resolve));
  client.end(true);
  broker = await startMqxBroker(t, config, { dir });
  const afterAcked = afterWriter.acked.length;
  const before = total;
  total = restoredRetained(broker.log());
  assert.ok(total >= before + afterAcked && total <= before + afterAcked + 1, `restored ${total}, acknowledged ${before + afterAcked}`);
  assert.doesNotMatch(broker.log(), /Error/);
});
