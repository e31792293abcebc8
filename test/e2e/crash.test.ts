// Crash test: `mqx broker -c mosquitto.conf` with persistence is killed with SIGKILL at random
// moments under QoS 1, QoS 2 and retained load (compacting all the while), and restarted; the
// checker proves that every acknowledged message reached the persistent subscriber (QoS 2 exactly
// once), retained and subscriptions kept, and that wills of clients cut off by the crash go out.

import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import type { MqttClient } from 'mqtt';
import type { IPublishPacket } from '../../src/codec/index.js';
import { freePort } from '../helpers/peers.js';
import { spawnMqx, waitForOutput } from '../helpers/process.js';

const KILLS = 22;
const WINDOW = 20;

/**
 * The store's configuration as a user writes it. autosave_on_changes with a small count makes
 * the broker compact its log every few hundred changes, so kills also land during compactions.
 * (`user root` keeps a broker started as root from dropping to a user that cannot write DIR.)
 */
function writeConfig(dir: string, port: number, extra = ''): string {
  const path = join(dir, 'mosquitto.conf');
  writeFileSync(path, [
    'user root', `listener ${port} 127.0.0.1`, 'allow_anonymous true',
    'persistence true', `persistence_location ${dir}/`, 'autosave_on_changes true', 'autosave_interval 50',
    'max_queued_messages 0', 'sys_interval 0', 'log_dest stderr', 'log_type error', 'log_type warning', 'log_type information', extra, '',
  ].join('\n'));
  return path;
}

/** `mqx broker -c config`: the process that gets killed; `ready` resolves with its log once it runs. */
function startBrokerProcess(config: string): { child: ChildProcess; ready: Promise<string>; log: () => string } {
  const child = spawnMqx(['broker', '-c', config]);
  let log = '';
  child.stderr!.on('data', (chunk: Buffer) => { log += chunk.toString(); });
  child.on('exit', (code, signal) => { if (process.env.CRASH_DEBUG) process.stderr.write(`broker exit ${code} ${signal}: ${log}\n`); });
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`mqx broker exited (${code}) before running: ${log}`))));
  exited.catch(() => undefined);
  const ready = Promise.race([waitForOutput(child.stderr!, / running\n/, 15000), exited]).then(() => log);
  return { child, ready, log: () => log };
}

/**
 * A store directory, its config on a free port and `mqx broker -c` on it, killed and started
 * again at will; killed (and the directory removed) when the test ends.
 */
async function storeBroker(t: TestContext): Promise<{ port: number; log(): string; kill(): Promise<void>; start(): Promise<string> }> {
  const dir = mkdtempSync(join(tmpdir(), 'mqx-crash-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  const config = writeConfig(dir, port);
  let current = startBrokerProcess(config);
  t.after(() => kill(current.child));
  await current.ready;
  return {
    port,
    log: () => current.log(),
    kill: () => kill(current.child),
    start: () => { current = startBrokerProcess(config); return current.ready; },
  };
}

function kill(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) { resolve(); return; }
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

function client(port: number, clientId: string): MqttClient {
  const c = mqtt.connect({ host: '127.0.0.1', port, clientId, clean: false, reconnectPeriod: 20, connectTimeout: 3000, resubscribe: false, keepalive: 60, protocolVersion: 4 });
  c.on('error', () => undefined);
  return c;
}

/** Publishes numbered messages with at most WINDOW unacknowledged; remembers which were acknowledged. */
class Publisher {
  readonly acked = new Set<number>();
  /** Refused by MQTT.js without being sent (connection closing): not acknowledged, not owed. */
  readonly failed: number[] = [];
  next = 1;
  lastAcked = 0;
  running = true;
  private outstanding = 0;
  constructor(readonly c: MqttClient, readonly topic: string, readonly qos: 1 | 2, readonly retain: boolean) {}
  pump(): void {
    while (this.running && this.outstanding < WINDOW) {
      const seq = this.next++;
      this.outstanding++;
      this.c.publish(this.topic, String(seq), { qos: this.qos, retain: this.retain }, (error) => {
        this.outstanding--;
        if (!error) { this.acked.add(seq); if (seq > this.lastAcked) this.lastAcked = seq; }
        else this.failed.push(seq);
        // MQTT.js fails queued publishes synchronously while it closes a connection: never refill from inside that.
        setImmediate(() => this.pump());
      });
    }
  }
  get published(): number { return this.next - 1; }
  get settled(): boolean { return this.acked.size + this.failed.length === this.published; }
}

async function until(condition: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The retained value a fresh client sees on r/value. */
async function readRetained(port: number): Promise<number> {
  const reader = mqtt.connect({ host: '127.0.0.1', port, clean: true, reconnectPeriod: 0, protocolVersion: 4 });
  reader.on('error', () => undefined);
  try {
    return await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no retained message on r/value')), 5000);
      reader.on('message', (_topic, payload) => { clearTimeout(timer); resolve(Number(String(payload))); });
      reader.on('connect', () => reader.subscribe('r/value', { qos: 1 }));
    });
  } finally {
    reader.end(true);
  }
}

test(`crash: ${KILLS} SIGKILLs under QoS 1/2 and retained load lose no acknowledged message, retained message or subscription`, { timeout: 90_000 }, async (t) => {
  const broker = await storeBroker(t);
  const port = broker.port;
  let compactions = 0;

  const received1 = new Map<number, number>();
  const received2 = new Map<number, number>();
  const notPresent: number[] = [];
  const sub = client(port, 'crash-sub');
  let connects = 0;
  sub.on('connect', (connack) => { if (connects++ > 0 && !connack.sessionPresent) notPresent.push(connects); });
  sub.on('message', (topic, payload) => {
    const seq = Number(String(payload));
    const map = topic === 'c/q2' ? received2 : received1;
    map.set(seq, (map.get(seq) ?? 0) + 1);
  });
  await new Promise<void>((resolve, reject) => sub.once('connect', () => sub.subscribe('c/#', { qos: 2 }, (error) => (error ? reject(error) : resolve()))));

  const publishers = [
    new Publisher(client(port, 'crash-p1'), 'c/q1', 1, false),
    new Publisher(client(port, 'crash-p2'), 'c/q2', 2, false),
    new Publisher(client(port, 'crash-r'), 'r/value', 1, true),
  ];
  t.after(() => { for (const p of publishers) p.c.end(true); sub.end(true); });
  const retainedWriter = publishers[2]!;
  for (const p of publishers) p.pump();

  const retainedLosses: string[] = [];
  for (let kill_ = 1; kill_ <= KILLS; kill_++) {
    // Random moment: after 50..250 ms of load, with acknowledgements flowing.
    if (process.env.CRASH_DEBUG) process.stderr.write(`kill ${kill_}: ${publishers.map((p) => `${p.acked.size}/${p.published}`).join(" ")} sub ${received1.size}/${received2.size}\n`);
    const before = publishers.reduce((sum, p) => sum + p.acked.size, 0);
    await new Promise((resolve) => setTimeout(resolve, 50 + Math.floor(Math.random() * 200)));
    await until(() => publishers.reduce((sum, p) => sum + p.acked.size, 0) > before, 10_000, () => `acknowledgements before kill ${kill_}`);
    compactions += broker.log().match(/Saved persistence store/g)?.length ?? 0;
    await broker.kill();
    const ackedRetained = retainedWriter.lastAcked;
    const log = await broker.start();
    assert.doesNotMatch(log, /Error/, `broker restart ${kill_} logged an error: ${log}`);
    // The killed broker's lock is stale: taken over, with a line saying so.
    assert.match(log, /Warning: Taking over the lock file .*mosquitto\.db\.lock left by process \d+, which has exited/);
    const value = await readRetained(port);
    if (value < ackedRetained) retainedLosses.push(`kill ${kill_}: retained ${value} < acknowledged ${ackedRetained}`);
  }
  for (const p of publishers) p.running = false;
  await until(() => publishers.every((p) => p.settled), 20_000, () => publishers.map((p) => `${p.topic}: ${p.acked.size}/${p.published} acknowledged`).join(', '));
  const [p1, p2] = publishers as [Publisher, Publisher, Publisher];
  await until(() => [...p1.acked].every((seq) => received1.has(seq)) && [...p2.acked].every((seq) => received2.has(seq)), 20_000,
    () => `delivery: QoS 1 missing ${[...p1.acked].filter((s) => !received1.has(s)).length}, QoS 2 missing ${[...p2.acked].filter((s) => !received2.has(s)).length}`);

  assert.deepEqual(retainedLosses, []);
  assert.equal(await readRetained(port), retainedWriter.published, 'the last retained message is kept');
  const twice = [...received2].filter(([, count]) => count > 1).map(([seq]) => seq);
  assert.deepEqual(twice, [], 'QoS 2 messages delivered more than once');
  assert.deepEqual(notPresent, [], 'the subscriber found its session on every reconnect');
  assert.ok(p1.acked.size > KILLS && p2.acked.size > KILLS, `load ran: ${p1.acked.size} QoS 1, ${p2.acked.size} QoS 2 acknowledged`);
  assert.ok(compactions > 0, 'the log was compacted under load (autosave_on_changes)');
  t.diagnostic(`${KILLS} kills, ${compactions} compactions; ${p1.acked.size} QoS 1, ${p2.acked.size} QoS 2, ${retainedWriter.acked.size} retained acknowledged; QoS 1 duplicates ${[...received1.values()].filter((n) => n > 1).length}`);
});

test('crash: wills of clients cut off by a SIGKILL go out after the restart (a delayed one after its delay), not those of clients that disconnected; session expiry survives', { timeout: 30_000 }, async (t) => {
  const { RawClient } = await import('../helpers/raw-client.js');
  const broker = await storeBroker(t);
  const port = broker.port;
  const will = (name: string, delay?: number) => ({
    topic: `wills/${name}`, payload: Buffer.from(`${name} gone`), qos: 1 as const, retain: true,
    ...(delay !== undefined ? { properties: { willDelayInterval: delay } } : {}),
  });
  // Connected when the broker dies: a persistent 5.0 session with a delayed will, a 3.1.1 clean
  // session and a 5.0 session that ends with its connection, both with plain wills.
  const { client: holder } = await RawClient.connect(port, 5, { clientId: 'will-holder', clean: false, properties: { sessionExpiryInterval: 3600 }, will: will('holder', 1) });
  const { client: clean311 } = await RawClient.connect(port, 4, { clientId: 'will-clean311', clean: true, will: will('clean311') });
  const { client: ends5 } = await RawClient.connect(port, 5, { clientId: 'will-ends5', clean: true, will: will('ends5') });
  // Taken over before the crash: the first connection's will goes out then, the second's after the restart.
  const { client: takenFirst } = await RawClient.connect(port, 4, { clientId: 'will-taken', clean: true, will: will('taken-first') });
  const { client: takenSecond } = await RawClient.connect(port, 4, { clientId: 'will-taken', clean: true, will: will('taken-second') });
  takenFirst.socket.destroy();
  // Gone before the crash with DISCONNECT: no will.
  const { client: polite } = await RawClient.connect(port, 4, { clientId: 'will-polite', clean: true, will: will('polite') });
  await polite.disconnect();
  const { client: short } = await RawClient.connect(port, 5, { clientId: 'short-lived', clean: false, properties: { sessionExpiryInterval: 2 } });
  await short.disconnect();
  // A round trip after the DISCONNECTs: their records are committed before this PUBACK.
  const { client: fence } = await RawClient.connect(port, 4, { clientId: 'fence', clean: true });
  fence.send({ cmd: 'publish', topic: 'fence', payload: Buffer.from('x'), qos: 1, messageId: 1, retain: false, dup: false });
  await fence.expect('puback');
  await broker.kill();
  for (const client of [holder, clean311, ends5, takenSecond, fence]) client.socket.destroy();
  const killedAt = Date.now();
  await broker.start();
  const restartedAt = Date.now();
  // The wills are retained: a reader sees the immediate ones at once, the delayed one about 1 s later.
  const { client: reader } = await RawClient.connect(port, 5, { clientId: 'will-reader', clean: true });
  reader.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'wills/#', qos: 1 }] });
  await reader.expect('suback');
  const seen = new Map<string, number>();
  while (!seen.has('wills/holder')) {
    const message = await reader.expect('publish', 10_000) as { topic: string; payload: Buffer };
    assert.equal(String(message.payload), `${message.topic.slice('wills/'.length)} gone`);
    if (message.topic === 'wills/holder') assert.ok(Date.now() - killedAt >= 900, 'the delayed will waited for its delay');
    seen.set(message.topic, (seen.get(message.topic) ?? 0) + 1);
  }
  assert.deepEqual([...seen].sort(), [['wills/clean311', 1], ['wills/ends5', 1], ['wills/holder', 1], ['wills/taken-first', 1], ['wills/taken-second', 1]]);
  await reader.disconnect();
  // short-lived (2 s expiry): gone 2 s after it went offline.
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, 2300 - (Date.now() - restartedAt))));
  const back = await RawClient.open(port, 5);
  const connack = await back.handshake({ clientId: 'short-lived', clean: false, properties: { sessionExpiryInterval: 2 } });
  assert.equal(connack.sessionPresent, false);
  await back.disconnect();
  const again = await RawClient.open(port, 5);
  assert.equal((await again.handshake({ clientId: 'will-holder', clean: false, properties: { sessionExpiryInterval: 3600 } })).sessionPresent, true);
  await again.disconnect();
});

test('crash: a QoS 2 message acknowledged with PUBREC survives a SIGKILL in its publisher\'s session and is delivered at its PUBREL after the restart', { timeout: 30_000 }, async (t) => {
  const { RawClient } = await import('../helpers/raw-client.js');
  const broker = await storeBroker(t);
  const port = broker.port;
  const session = (clientId: string) => ({ clientId, clean: false, keepalive: 30 });
  const { client: sub } = await RawClient.connect(port, 4, session('pending-sub'));
  sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'pending/#', qos: 1 }] });
  await sub.expect('suback');
  const { client: pub } = await RawClient.connect(port, 4, session('pending-pub'));
  pub.send({ cmd: 'publish', topic: 'pending/x', payload: Buffer.from('acknowledged'), qos: 2, messageId: 11, retain: false, dup: false });
  await pub.expect('pubrec');
  // Kept until PUBREL: a later marker from the same publisher reaches the subscriber first.
  pub.send({ cmd: 'publish', topic: 'pending/marker', payload: Buffer.from('marker'), qos: 0, retain: false, dup: false });
  assert.equal(String(((await sub.expect('publish')) as IPublishPacket).payload), 'marker');
  await broker.kill();
  pub.socket.destroy();
  sub.socket.destroy();
  await broker.start();
  const back = await RawClient.connect(port, 4, session('pending-sub'));
  t.after(() => back.client.socket.destroy());
  assert.equal(back.connack.sessionPresent, true);
  const again = await RawClient.connect(port, 4, session('pending-pub'));
  t.after(() => again.client.socket.destroy());
  assert.equal(again.connack.sessionPresent, true);
  again.client.send({ cmd: 'pubrel', messageId: 11 });
  await again.client.expect('pubcomp');
  const got = (await back.client.expect('publish', 5000)) as IPublishPacket;
  assert.deepEqual([got.topic, String(got.payload)], ['pending/x', 'acknowledged']);
  back.client.send({ cmd: 'puback', messageId: got.messageId! });
  await again.client.disconnect();
  await back.client.disconnect();
});

test('mqx broker --persistence DIR: a retained message survives SIGKILL; a newer store or --persistence with -c is a one-line error', { timeout: 30_000 }, async (t) => {
  const { spawnMqx, runMqx } = await import('../helpers/process.js');
  const dir = mkdtempSync(join(tmpdir(), 'mqx-crash-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  const first = spawnMqx(['broker', '--persistence', dir, '-p', String(port)]);
  t.after(() => kill(first));
  await waitForOutput(first.stderr!, /version \S+ running/, 15000);
  const publisher = await mqtt.connectAsync({ host: '127.0.0.1', port, reconnectPeriod: 0 });
  await publisher.publishAsync('cli/kept', 'kept', { qos: 1, retain: true });
  await publisher.endAsync(true);
  await kill(first);
  const second = spawnMqx(['broker', '--persistence', dir, '-p', String(port)]);
  t.after(() => kill(second));
  await waitForOutput(second.stderr!, /version \S+ running/, 15000);
  assert.equal(await readRetainedText(port, 'cli/kept'), 'kept');
  await kill(second);
  const { writeFileSync } = await import('node:fs');
  const header = Buffer.alloc(16);
  Buffer.from('MQXSTORE').copy(header);
  header.writeUInt32BE(9, 8);
  writeFileSync(join(dir, 'mosquitto.db'), header);
  const newer = await runMqx(['broker', '--persistence', dir, '-p', String(port)]);
  assert.equal(newer.code, 1);
  assert.match(String(newer.stderr), /^Error: .*store format version 9; this mqx reads version 3/m);
  assert.doesNotMatch(String(newer.stderr), /\n\s+at /, 'no stack trace');
  const missing = await runMqx(['broker', '--persistence', join(dir, 'missing'), '-p', String(port)]);
  assert.equal(missing.code, 1);
  assert.match(String(missing.stderr), new RegExp(`^Error: persistence_location ${join(dir, 'missing')} is not a directory`, 'm'));
  const both = await runMqx(['broker', '--persistence', dir, '-c', join(dir, 'none.conf')]);
  assert.notEqual(both.code, 0);
  assert.match(String(both.stderr), /--persistence cannot be used with -c/);
});

async function readRetainedText(port: number, topic: string): Promise<string> {
  const reader = await mqtt.connectAsync({ host: '127.0.0.1', port, reconnectPeriod: 0 });
  try {
    const message = new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no retained message on ${topic}`)), 5000);
      reader.on('message', (_topic, payload) => { clearTimeout(timer); resolve(String(payload)); });
    });
    await reader.subscribeAsync(topic, { qos: 1 });
    return await message;
  } finally {
    await reader.endAsync(true);
  }
}
