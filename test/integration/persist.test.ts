// Persistence across an in-process restart: retained messages, sessions with subscriptions,
// queued and in-flight QoS 1/2 state both ways; torn tails, corrupt frames, foreign and newer stores.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { createBroker } from '../../src/broker/broker.js';
import { isClientConductError } from '../../src/broker/disconnect-log.js';
import type { Broker } from '../../src/broker/broker.js';
import type { LogType } from '../../src/broker/logger.js';
import { RawClient, VERSIONS } from '../helpers/raw-client.js';
import type { IConnectPacket, IPublishPacket, ProtocolVersion } from '../../src/codec/index.js';
import { crc32 } from '../../src/broker/persistence/crc32.js';
import { FORMAT_VERSION, HEADER_SIZE } from '../../src/broker/persistence/log-file.js';
import { Writer } from '../../src/broker/persistence/records.js';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'mqx-persist-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

interface Running { broker: Broker; port: number; logs: Array<{ type: LogType; message: string }>; clients: RawClient[] }

async function start(dir: string, extra: { autosave_interval?: number; autosave_on_changes?: boolean } = {}): Promise<Running> {
  const logs: Array<{ type: LogType; message: string }> = [];
  const broker = createBroker({
    ...extra, sys_interval: 0, persistence: true, persistence_location: dir, listeners: [{ port: 0, host: '127.0.0.1' }],
    logger: { log: (type, message) => logs.push({ type, message }) },
  });
  const [address] = await broker.listen();
  return { broker, port: address!.port, logs, clients: [] };
}

async function stop(running: Running): Promise<void> {
  await Promise.all(running.clients.map((client) => client.drop()));
  await running.broker.close();
  const errors = running.logs.filter((line) => line.type === 'error' && !isClientConductError(line.message));
  assert.deepEqual(errors, []);
}

async function connect(running: Running, version: ProtocolVersion, fields: Partial<IConnectPacket>): Promise<{ client: RawClient; sessionPresent: boolean }> {
  const client = await RawClient.open(running.port, version);
  running.clients.push(client);
  const connack = await client.handshake(fields);
  assert.equal(connack.reasonCode ?? connack.returnCode ?? 0, 0);
  return { client, sessionPresent: connack.sessionPresent };
}

const persistent = (version: number, clientId: string): Partial<IConnectPacket> =>
  version === 5 ? { clientId, clean: false, properties: { sessionExpiryInterval: 3600 } } : { clientId, clean: false };

for (const version of VERSIONS) {
  test(`restart keeps retained messages, sessions, subscriptions and queued QoS 1/2 messages (v${version})`, async (t) => {
    const dir = tempDir(t);
    const first = await start(dir);
    const { client: sub } = await connect(first, version, persistent(version, 'keeper'));
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'p/#', qos: 2 }] });
    await sub.expect('suback');
    await sub.disconnect();
    const { client: pub } = await connect(first, version, { clientId: 'pub', clean: true });
    pub.send({ cmd: 'publish', topic: 'state/lamp', payload: Buffer.from('on'), qos: 1, messageId: 1, retain: true, dup: false });
    await pub.expect('puback');
    pub.send({ cmd: 'publish', topic: 'p/1', payload: Buffer.from('one'), qos: 1, messageId: 2, retain: false, dup: false });
    await pub.expect('puback');
    pub.send({ cmd: 'publish', topic: 'p/2', payload: Buffer.from('two'), qos: 2, messageId: 3, retain: false, dup: false });
    await pub.expect('pubrec');
    pub.send({ cmd: 'pubrel', messageId: 3 }); // routed (and queued for keeper) now
    await pub.expect('pubcomp');
    await stop(first);

    const second = await start(dir);
    t.after(() => second.broker.close());
    const { client: reader } = await connect(second, version, { clientId: 'reader', clean: true });
    reader.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'state/#', qos: 1 }] });
    await reader.expect('suback');
    const retained = (await reader.expect('publish')) as IPublishPacket;
    assert.deepEqual([retained.topic, String(retained.payload), retained.retain], ['state/lamp', 'on', true]);
    const back = await connect(second, version, persistent(version, 'keeper'));
    assert.equal(back.sessionPresent, true);
    const a = (await back.client.expect('publish')) as IPublishPacket;
    const b = (await back.client.expect('publish')) as IPublishPacket;
    assert.deepEqual([a.topic, String(a.payload), a.qos, b.topic, String(b.payload), b.qos], ['p/1', 'one', 1, 'p/2', 'two', 2]);
    back.client.send({ cmd: 'puback', messageId: a.messageId! });
    // The subscription came back too: a new publish reaches it.
    second.broker.publish('p/3', 'three', { qos: 1 });
    const c = (await back.client.expect('publish')) as IPublishPacket;
    assert.equal(c.topic, 'p/3');
    await stop(second);
  });

  test(`[MQTT-4.3.3-9] an inbound QoS 2 message acknowledged with PUBREC is not routed again after a restart (v${version})`, async (t) => {
    const dir = tempDir(t);
    const first = await start(dir);
    const { client: sub } = await connect(first, version, persistent(version, 'sub2'));
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'x', qos: 2 }] });
    await sub.expect('suback');
    await sub.disconnect();
    const { client: pub } = await connect(first, version, persistent(version, 'pub2'));
    pub.send({ cmd: 'publish', topic: 'x', payload: Buffer.from('once'), qos: 2, messageId: 7, retain: false, dup: false });
    await pub.expect('pubrec');
    await pub.drop();
    await stop(first);

    const second = await start(dir);
    t.after(() => second.broker.close());
    const again = await connect(second, version, persistent(version, 'pub2'));
    assert.equal(again.sessionPresent, true);
    again.client.send({ cmd: 'publish', topic: 'x', payload: Buffer.from('once'), qos: 2, messageId: 7, retain: false, dup: true });
    await again.client.expect('pubrec');
    again.client.send({ cmd: 'pubrel', messageId: 7 });
    await again.client.expect('pubcomp');
    const { client: back } = await connect(second, version, persistent(version, 'sub2'));
    const got = (await back.expect('publish')) as IPublishPacket;
    assert.equal(String(got.payload), 'once');
    back.send({ cmd: 'pubrec', messageId: got.messageId! });
    await back.expect('pubrel');
    back.send({ cmd: 'pubcomp', messageId: got.messageId! });
    assert.equal(await back.silentFor(200), true);
    await stop(second);
  });

  test(`a QoS 2 message acknowledged with PUBREC survives a restart in its publisher's session and is routed at its PUBREL (v${version})`, async (t) => {
    const dir = tempDir(t);
    const first = await start(dir);
    const { client: sub } = await connect(first, version, persistent(version, 'held-sub'));
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'held/#', qos: 1 }] });
    await sub.expect('suback');
    await sub.disconnect();
    const { client: pub } = await connect(first, version, persistent(version, 'held-pub'));
    const properties = version === 5 ? { contentType: 'text/plain', userProperties: { k: 'v' }, correlationData: Buffer.from([7, 8]) } : undefined;
    pub.send({ cmd: 'publish', topic: 'held/x', payload: Buffer.from('kept'), qos: 2, messageId: 4, retain: true, dup: false, ...(properties ? { properties } : {}) });
    await pub.expect('pubrec');
    await pub.drop();
    await stop(first);

    const second = await start(dir);
    t.after(() => second.broker.close());
    assert.equal(second.broker.retained.get('held/x'), undefined, 'not retained before PUBREL');
    const back = await connect(second, version, persistent(version, 'held-sub'));
    assert.equal(back.sessionPresent, true);
    const again = await connect(second, version, persistent(version, 'held-pub'));
    assert.equal(again.sessionPresent, true);
    // Nothing was routed before the PUBREL: a marker from the publisher reaches the subscriber first.
    again.client.send({ cmd: 'publish', topic: 'held/marker', payload: Buffer.from('marker'), qos: 0, messageId: undefined, retain: false, dup: false });
    assert.equal(String(((await back.client.expect('publish')) as IPublishPacket).payload), 'marker');
    again.client.send({ cmd: 'pubrel', messageId: 4 });
    assert.equal(((await again.client.expect('pubcomp')) as { reasonCode?: number }).reasonCode ?? 0, 0);
    const got = (await back.client.expect('publish')) as IPublishPacket;
    assert.deepEqual([got.topic, String(got.payload), got.qos], ['held/x', 'kept', 1]);
    if (properties) assert.deepEqual([got.properties?.contentType, { ...got.properties?.userProperties }, got.properties?.correlationData], [properties.contentType, properties.userProperties, properties.correlationData]);
    back.client.send({ cmd: 'puback', messageId: got.messageId! });
    assert.equal(String(second.broker.retained.get('held/x')?.payload), 'kept');
    await stop(second);
  });

  test(`an outgoing QoS 2 delivery released with PUBREL resumes with PUBREL after a restart (v${version})`, async (t) => {
    const dir = tempDir(t);
    const first = await start(dir);
    const { client: sub } = await connect(first, version, persistent(version, 'rel'));
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'r', qos: 2 }] });
    await sub.expect('suback');
    first.broker.publish('r', 'payload', { qos: 2 });
    const got = (await sub.expect('publish')) as IPublishPacket;
    sub.send({ cmd: 'pubrec', messageId: got.messageId! });
    await sub.expect('pubrel');
    await sub.drop();
    await stop(first);

    const second = await start(dir);
    t.after(() => second.broker.close());
    const back = await connect(second, version, persistent(version, 'rel'));
    assert.equal(back.sessionPresent, true);
    const pubrel = await back.client.expect('pubrel');
    assert.equal((pubrel as { messageId?: number }).messageId, got.messageId);
    back.client.send({ cmd: 'pubcomp', messageId: got.messageId! });
    assert.equal(await back.client.silentFor(200), true);
    await stop(second);
  });
}

/** A store file as an older mqx wrote it: its header with format `version`, then one frame holding `ops`. */
function writeOldStore(dir: string, version: number, ops: Writer): void {
  const payload = ops.take();
  const header = Buffer.alloc(HEADER_SIZE);
  Buffer.from('MQXSTORE').copy(header);
  header.writeUInt32BE(version, 8);
  const frame = Buffer.alloc(8);
  frame.writeUInt32BE(payload.length, 0);
  frame.writeUInt32BE(crc32(payload), 4);
  writeFileSync(join(dir, 'mosquitto.db'), Buffer.concat([header, frame, payload]));
}

test('a session that ended (clean start) and an unsubscribed filter stay gone after a restart', async (t) => {
  const dir = tempDir(t);
  const first = await start(dir);
  const { client } = await connect(first, 4, persistent(4, 'gone'));
  client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a', qos: 1 }, { topic: 'b', qos: 1 }] });
  await client.expect('suback');
  client.send({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: ['a'] });
  await client.expect('unsuback');
  await client.disconnect();
  await stop(first);
  const second = await start(dir);
  assert.deepEqual(second.broker.router.subscriptionsOf('gone').map((s) => s.filter), ['b']);
  const { client: clean } = await connect(second, 4, { clientId: 'gone', clean: true });
  await clean.disconnect();
  await stop(second);
  const third = await start(dir);
  assert.equal(third.broker.sessions.get('gone'), undefined);
  await stop(third);
});

test('a PUBACK leaves only once the acknowledged message is in the store file', async (t) => {
  const dir = tempDir(t);
  const running = await start(dir);
  const { client: sub } = await connect(running, 4, persistent(4, 'durable-sub'));
  sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'd/#', qos: 1 }] });
  await sub.expect('suback');
  await sub.disconnect();
  const { client: pub } = await connect(running, 4, { clientId: 'durable-pub' });
  for (let i = 0; i < 20; i++) {
    const marker = `durable-marker-${i}-${'x'.repeat(i * 10)}`;
    pub.send({ cmd: 'publish', topic: `d/${i}`, payload: Buffer.from(marker), qos: 1, messageId: i + 1, retain: i % 2 === 0, dup: false });
    await pub.expect('puback');
    assert.ok(readFileSync(join(dir, 'mosquitto.db')).includes(marker), `message ${i} is in the store when its PUBACK arrives`);
  }
  await stop(running);
});

test('a PUBREC leaves only once the QoS 2 message it acknowledges is in the store file', async (t) => {
  const dir = tempDir(t);
  const running = await start(dir);
  const { client: pub } = await connect(running, 5, persistent(5, 'durable-pub2'));
  for (let i = 0; i < 20; i++) {
    const marker = `pending-marker-${i}-${'y'.repeat(i * 10)}`;
    pub.send({ cmd: 'publish', topic: `d2/${i}`, payload: Buffer.from(marker), qos: 2, messageId: i + 1, retain: false, dup: false });
    await pub.expect('pubrec');
    assert.ok(readFileSync(join(dir, 'mosquitto.db')).includes(marker), `message ${i} is in the store when its PUBREC arrives`);
  }
  await stop(running);
});

test('a store whose inbound QoS 2 record holds only a packet id (format 2) loads: that PUBREL completes and routes nothing', async (t) => {
  const dir = tempDir(t);
  // Exactly what the format 2 writer produced: a session (type 15) and an id-only inbound QoS 2 record (type 12).
  const ops = new Writer();
  ops.u8(15); ops.str('old-pub'); ops.u32(3600); ops.u8(4); ops.optStr(null); ops.optStr(null); ops.f64(Date.now()); ops.u8(0);
  ops.u8(12); ops.str('old-pub'); ops.u16(9);
  writeOldStore(dir, 2, ops);

  const first = await start(dir);
  assert.equal(readFileSync(join(dir, 'mosquitto.db')).readUInt32BE(8), FORMAT_VERSION);
  assert.deepEqual([...first.broker.sessions.get('old-pub')!.inboundQos2], [[9, null]]);
  const { client: sub } = await connect(first, 5, { clientId: 'watcher', clean: true });
  sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '#', qos: 0 }] });
  await sub.expect('suback');
  const back = await connect(first, 5, persistent(5, 'old-pub'));
  assert.equal(back.sessionPresent, true);
  // Known (0x00, not 0x92): the old broker routed it at PUBLISH, so nothing goes out now.
  back.client.send({ cmd: 'pubrel', messageId: 9 });
  assert.equal(((await back.client.expect('pubcomp')) as { reasonCode?: number }).reasonCode ?? 0, 0);
  back.client.send({ cmd: 'publish', topic: 'marker', payload: Buffer.from('marker'), qos: 0, retain: false, dup: false });
  assert.equal(((await sub.expect('publish')) as IPublishPacket).topic, 'marker');
  await stop(first);
  const second = await start(dir);
  assert.equal(second.broker.sessions.get('old-pub')!.inboundQos2.size, 0, 'the PUBREL was stored');
  await stop(second);
});

/** Resolves once `count` log lines match `pattern` (bounded). */
async function waitForLogs(running: Running, pattern: RegExp, count = 1, timeoutMs = 10_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lines = running.logs.map((line) => line.message).filter((message) => pattern.test(message));
    if (lines.length >= count) return lines;
    assert.ok(Date.now() < deadline, `timed out waiting for ${count} log lines like ${pattern}; log: ${running.logs.map((line) => line.message).join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const SAVED = /^Saved persistence store \S+: (\d+) bytes of log compacted to (\d+) \(\d+ ms\)\.$/;

test('autosave_interval (seconds): a changed log is compacted in the background; the compacted store restores the same state', async (t) => {
  const dir = tempDir(t);
  const running = await start(dir, { autosave_interval: 1 });
  const { client: pub } = await connect(running, 4, { clientId: 'compact-pub' });
  const big = Buffer.alloc(10_000, 0x61);
  for (let i = 1; i <= 100; i++) {
    pub.send({ cmd: 'publish', topic: 'c/value', payload: Buffer.concat([Buffer.from(`${i};`), big]), qos: 1, messageId: i, retain: true, dup: false });
    await pub.expect('puback');
  }
  const path = join(dir, 'mosquitto.db');
  const grown = readFileSync(path).length;
  assert.ok(grown > 100 * 10_000, `log holds every update (${grown} bytes)`);
  const [line] = await waitForLogs(running, SAVED);
  const [, before, after] = SAVED.exec(line!)!;
  assert.equal(Number(before), grown);
  const compacted = readFileSync(path).length;
  assert.equal(compacted, Number(after));
  assert.ok(compacted < 3 * 10_000, `compacted to the live state (${compacted} bytes)`);
  pub.send({ cmd: 'publish', topic: 'c/value', payload: Buffer.concat([Buffer.from('101;'), big]), qos: 1, messageId: 101, retain: true, dup: false });
  await pub.expect('puback');
  await stop(running);
  const again = await start(dir);
  assert.equal(String(again.broker.retained.get('c/value')!.payload).split(';')[0], '101');
  await stop(again);
});

test('autosave_on_changes: the log is compacted once autosave_interval changes (retained messages, subscription changes) were made, not before', async (t) => {
  const dir = tempDir(t);
  const running = await start(dir, { autosave_interval: 5, autosave_on_changes: true });
  const { client: pub } = await connect(running, 4, { clientId: 'changes-pub' });
  const retain = async (id: number) => {
    pub.send({ cmd: 'publish', topic: 'ch/value', payload: Buffer.from(String(id)), qos: 1, messageId: id, retain: true, dup: false });
    await pub.expect('puback');
  };
  for (let i = 1; i <= 4; i++) await retain(i);
  // Four changes, all on disk (acknowledged): no compaction yet.
  assert.deepEqual(running.logs.filter((line) => SAVED.test(line.message)), []);
  await retain(5);
  const [first] = await waitForLogs(running, SAVED);
  const [, before, after] = SAVED.exec(first!)!;
  assert.ok(Number(after) < Number(before), `${before} -> ${after} bytes`);
  // Subscription changes count too: three subscriptions and two retained messages.
  const { client: sub } = await connect(running, 4, persistent(4, 'changes-sub'));
  sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a', qos: 1 }, { topic: 'b', qos: 1 }, { topic: 'c', qos: 1 }] });
  await sub.expect('suback');
  await retain(6);
  assert.equal(running.logs.filter((line) => SAVED.test(line.message)).length, 1);
  await retain(7);
  await waitForLogs(running, SAVED, 2);
  await stop(running);
});

test('two brokers on one store: the second is refused with an error naming the lock file; once the first closes, the store opens', async (t) => {
  const dir = tempDir(t);
  const first = await start(dir);
  assert.throws(() => createBroker({ persistence: true, persistence_location: dir, listeners: [] }), (error: Error) => {
    assert.equal(error.name, 'StoreLockedError');
    assert.equal(error.message, `persistence store ${join(dir, 'mosquitto.db')} is in use by process ${process.pid} (lock file ${join(dir, 'mosquitto.db.lock')}); two brokers must not share a store`);
    return true;
  });
  await stop(first);
  const second = await start(dir);
  await stop(second);
});

test('a lock file left by a process that has exited is taken over with a warning naming it and that process', async (t) => {
  const dir = tempDir(t);
  const gone = spawnSync(process.execPath, ['-e', '']);
  assert.equal(gone.status, 0);
  const lock = join(dir, 'mosquitto.db.lock');
  writeFileSync(lock, `${gone.pid}\n`);
  const running = await start(dir);
  assert.deepEqual(running.logs.filter((line) => line.type === 'warning').map((line) => line.message),
    [`Warning: Taking over the lock file ${lock} left by process ${gone.pid}, which has exited.`]);
  assert.equal(readFileSync(lock, 'utf8'), `${process.pid}\n`);
  await stop(running);
  assert.throws(() => readFileSync(lock), { code: 'ENOENT' });
});

/** Frame boundaries of a store file: [start, end) of each frame after the header. */
function frames(bytes: Buffer): Array<[number, number]> {
  const list: Array<[number, number]> = [];
  let offset = HEADER_SIZE;
  while (offset < bytes.length) {
    const end = offset + 8 + bytes.readUInt32BE(offset);
    list.push([offset, end]);
    offset = end;
  }
  return list;
}

test('a torn last record, cut at every byte offset, is detected, cut off and logged; everything before it is kept', async (t) => {
  const dir = tempDir(t);
  const first = await start(dir);
  const { client: sub } = await connect(first, 5, persistent(5, 'torn'));
  sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 't/#', qos: 1 }] });
  await sub.expect('suback');
  await sub.disconnect();
  const { client: pub } = await connect(first, 5, { clientId: 'tp' });
  pub.send({ cmd: 'publish', topic: 't/kept', payload: Buffer.from('before'), qos: 1, messageId: 1, retain: true, dup: false });
  await pub.expect('puback');
  pub.send({ cmd: 'publish', topic: 't/last', payload: Buffer.from('the last record'), qos: 1, messageId: 2, retain: true, dup: false });
  await pub.expect('puback');
  const path = join(dir, 'mosquitto.db');
  // Taken while the broker runs: the log as it stands after the last acknowledged commit.
  const full = readFileSync(path);
  await pub.disconnect();
  await stop(first);
  const list = frames(full);
  const [lastStart, lastEnd] = list[list.length - 1]!;
  assert.equal(lastEnd, full.length);
  const work = join(dir, 'work');
  for (let cut = lastStart; cut < lastEnd; cut++) {
    rmSync(work, { recursive: true, force: true });
    const { mkdirSync } = await import('node:fs');
    mkdirSync(work);
    writeFileSync(join(work, 'mosquitto.db'), full.subarray(0, cut));
    const logs: string[] = [];
    const broker = createBroker({ sys_interval: 0, persistence: true, persistence_location: work, logger: { log: (_type, message) => logs.push(message) } });
    assert.equal(broker.retained.get('t/kept') !== undefined, true, `cut at ${cut}`);
    assert.equal(broker.retained.get('t/last'), undefined, `cut at ${cut}`);
    assert.deepEqual(broker.router.subscriptionsOf('torn').map((s) => s.filter), ['t/#']);
    assert.equal(readFileSync(join(work, 'mosquitto.db')).length, lastStart, 'the torn tail is cut off the file');
    if (cut > lastStart) assert.ok(logs.some((line) => /torn frame|checksum/.test(line)), `logged at ${cut}: ${logs.join(' | ')}`);
    await broker.close();
  }
  // The whole file still restores everything, and a flipped byte in the last frame is caught by its CRC.
  copyFileSync(path, join(dir, 'copy.db'));
  const corrupt = Buffer.from(full);
  corrupt[lastEnd - 1] ^= 0xff;
  rmSync(work, { recursive: true, force: true });
  (await import('node:fs')).mkdirSync(work);
  writeFileSync(join(work, 'mosquitto.db'), corrupt);
  const logs: string[] = [];
  const broker = createBroker({ sys_interval: 0, persistence: true, persistence_location: work, logger: { log: (_type, message) => logs.push(message) } });
  assert.equal(broker.retained.get('t/last'), undefined);
  assert.ok(logs.some((line) => /checksum mismatch/.test(line)));
  await broker.close();
});

test('a store from a newer format version, or not an mqx store, is refused with a clear error', (t) => {
  const dir = tempDir(t);
  const header = Buffer.alloc(16);
  Buffer.from('MQXSTORE').copy(header);
  header.writeUInt32BE(FORMAT_VERSION + 1, 8);
  writeFileSync(join(dir, 'mosquitto.db'), header);
  assert.throws(() => createBroker({ persistence: true, persistence_location: dir }), new RegExp(`store format version ${FORMAT_VERSION + 1}; this mqx reads version ${FORMAT_VERSION} and older`));
  writeFileSync(join(dir, 'mosquitto.db'), Buffer.from('\x00\x00\x00\x00mosquitto db'));
  assert.throws(() => createBroker({ persistence: true, persistence_location: dir }), /is not an mqx persistence store/);
});

test('CRC-32 matches the standard check value', () => {
  assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
  assert.equal(crc32(Buffer.alloc(0)), 0);
});

test('a format 1 store (no publisher fields) is still read, and rewritten in the current format with them', async (t) => {
  const dir = tempDir(t);
  // Exactly what the format 1 writer produced: a retained message (type 1) and a session (type 3).
  const ops = new Writer();
  ops.u8(1); ops.str('old/kept'); ops.bytes(Buffer.from('from format 1')); ops.u8(1 | 4); ops.f64(0); ops.optStr('old-publisher'); ops.optStr(null);
  ops.u8(3); ops.str('old-session'); ops.u32(3600); ops.u8(4); ops.optStr('olduser'); ops.f64(Date.now()); ops.u8(0);
  writeOldStore(dir, 1, ops);

  const first = await start(dir);
  // Rewritten at start-up, before anything newer is appended behind the format 1 header.
  assert.equal(readFileSync(join(dir, 'mosquitto.db')).readUInt32BE(8), FORMAT_VERSION);
  assert.ok(first.logs.some((line) => line.message === `Rewrote persistence store ${join(dir, 'mosquitto.db')} from format 1 to format ${FORMAT_VERSION}.`));
  const old = first.broker.retained.get('old/kept')!;
  assert.equal(old.payload.toString(), 'from format 1');
  assert.equal(old.publisherId, 'old-publisher');
  assert.equal(old.publisher, undefined, 'a format 1 record has no publisher: check_retain_source cannot check it');
  assert.equal(first.broker.sessions.get('old-session')?.clientInfo.username, 'olduser');
  // A retained message published now keeps its publisher through the restart.
  const { client } = await connect(first, 4, { clientId: 'writer', username: 'alice' });
  client.send({ cmd: 'publish', topic: 'new/kept', payload: Buffer.from('from format 2'), qos: 1, retain: true, messageId: 1, dup: false });
  await client.expect('puback');
  await stop(first);

  assert.equal(readFileSync(join(dir, 'mosquitto.db')).readUInt32BE(8), FORMAT_VERSION);
  const second = await start(dir);
  // The listener's name: its configured port, "0" here.
  assert.deepEqual(second.broker.retained.get('new/kept')!.publisher, { clientId: 'writer', username: 'alice', protocolVersion: 4, listener: '0' });
  assert.equal(second.broker.retained.get('old/kept')!.payload.toString(), 'from format 1');
  assert.equal(second.broker.sessions.get('old-session')?.clientInfo.username, 'olduser');
  await stop(second);
});
