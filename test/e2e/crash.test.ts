// Crash test: a broker process with persistence is killed with SIGKILL at random moments under
// QoS 1, QoS 2 and retained load, and restarted; the checker proves that every acknowledged
// message reached the persistent subscriber (QoS 2 exactly once), retained and subscriptions kept.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import type { MqttClient } from 'mqtt';
import { freePort } from '../helpers/peers.js';
import { repoRoot, waitForOutput } from '../helpers/process.js';

const KILLS = 22;
const WINDOW = 20;

/**
 * The broker under test, as its own process: the library with persistence on a fixed port.
 * (`mqx broker -c` with `persistence true` runs the same code once the config layer passes the
 * persistence options through; this keeps the crash test independent of the CLI wiring.)
 */
function startBrokerProcess(dir: string, port: number): { child: ChildProcess; ready: Promise<string> } {
  const script = `
    import { createBroker } from ${JSON.stringify(`${repoRoot}dist/src/broker/broker.js`)};
    const broker = createBroker({ persistence: true, persistence_location: ${JSON.stringify(dir)}, max_queued_messages: 0,
      sys_interval: 0, listeners: [{ port: ${port}, host: '127.0.0.1' }],
      logger: { log: (type, message) => { if (type === 'error' || type === 'warning') process.stderr.write(message + '\\n'); } } });
    await broker.listen();
    process.stderr.write('broker running\\n');`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (chunk: Buffer) => { log += chunk.toString(); });
  child.on('exit', (code, signal) => { if (process.env.CRASH_DEBUG) process.stderr.write(`broker exit ${code} ${signal}: ${log}\n`); });
  const ready = waitForOutput(child.stderr!, 'broker running', 15000).then(() => log);
  return { child, ready };
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
  const dir = mkdtempSync(join(tmpdir(), 'mqx-crash-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  let broker = startBrokerProcess(dir, port);
  t.after(() => kill(broker.child));
  await broker.ready;

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
    await kill(broker.child);
    const ackedRetained = retainedWriter.lastAcked;
    broker = startBrokerProcess(dir, port);
    const log = await broker.ready;
    assert.doesNotMatch(log, /Error/, `broker restart ${kill_} logged an error: ${log}`);
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
  t.diagnostic(`${KILLS} kills; ${p1.acked.size} QoS 1, ${p2.acked.size} QoS 2, ${retainedWriter.acked.size} retained acknowledged; QoS 1 duplicates ${[...received1.values()].filter((n) => n > 1).length}`);
});

test('crash: a delayed will and session expiry survive a SIGKILL (the will fires after its delay, an expired session is gone, a kept one is present)', { timeout: 30_000 }, async (t) => {
  const { RawClient } = await import('../helpers/raw-client.js');
  const dir = mkdtempSync(join(tmpdir(), 'mqx-crash-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  let broker = startBrokerProcess(dir, port);
  t.after(() => kill(broker.child));
  await broker.ready;
  const { client: willClient } = await RawClient.connect(port, 5, {
    clientId: 'will-holder', clean: false, properties: { sessionExpiryInterval: 3600 },
    will: { topic: 'wills/holder', payload: Buffer.from('gone'), qos: 1, retain: true, properties: { willDelayInterval: 1 } },
  });
  const { client: short } = await RawClient.connect(port, 5, { clientId: 'short-lived', clean: false, properties: { sessionExpiryInterval: 2 } });
  await short.disconnect();
  await kill(broker.child);
  willClient.socket.destroy();
  const killedAt = Date.now();
  broker = startBrokerProcess(dir, port);
  await broker.ready;
  const restartedAt = Date.now();
  // The will is retained: a reader sees it once it has fired, about 1 s after the restart.
  const { client: reader } = await RawClient.connect(port, 5, { clientId: 'will-reader', clean: true });
  reader.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'wills/#', qos: 1 }] });
  await reader.expect('suback');
  const will = await reader.expect('publish', 10_000);
  assert.equal(String((will as { payload: Buffer }).payload), 'gone');
  assert.ok(Date.now() - killedAt >= 900, 'the will waited for its delay');
  await reader.disconnect();
  // short-lived (2 s expiry): gone 2 s after it went offline, or after the restart if the kill
  // came before its DISCONNECT was committed (nothing acknowledged that).
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, 2300 - (Date.now() - restartedAt))));
  const back = await RawClient.open(port, 5);
  const connack = await back.handshake({ clientId: 'short-lived', clean: false, properties: { sessionExpiryInterval: 2 } });
  assert.equal(connack.sessionPresent, false);
  await back.disconnect();
  const holder = await RawClient.open(port, 5);
  assert.equal((await holder.handshake({ clientId: 'will-holder', clean: false, properties: { sessionExpiryInterval: 3600 } })).sessionPresent, true);
  await holder.disconnect();
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
  assert.match(String(newer.stderr), /^Error: .*store format version 9; this mqx reads version 2/m);
  assert.doesNotMatch(String(newer.stderr), /\n\s+at /, 'no stack trace');
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
