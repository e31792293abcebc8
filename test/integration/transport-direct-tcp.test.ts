// Plain TCP listeners on libuv's handles (DirectSocket) and on net.Socket (direct_tcp false): the
// same bytes, flow control, half-close, reset and listen errors, checked on both, so the faster
// path is held to what net.Socket does.

import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Socket } from 'node:net';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createBroker } from '../../src/broker/broker.js';
import { DirectSocket, loadDirectTcp } from '../../src/broker/transport/direct-tcp.js';
import { RawClient, startBroker } from '../helpers/raw-client.js';
import type { TestBroker } from '../helpers/raw-client.js';
import { LISTEN_BACKLOG } from '../../src/broker/transport/transport.js';

const MODES = [{ name: 'direct', direct_tcp: true }, { name: 'net', direct_tcp: false }] as const;

test('direct TCP: this Node offers the handles, so plain TCP listeners use them by default', () => {
  assert.notEqual(loadDirectTcp(), null);
});

async function brokerIn(t: TestContext, mode: (typeof MODES)[number]): Promise<TestBroker> {
  const broker = await startBroker(t, { direct_tcp: mode.direct_tcp });
  // The mode under test is the one serving: check the stream type of a live connection.
  const probe = await broker.connect(4, { clientId: 'probe' });
  const [connection] = [...broker.broker.connections];
  assert.equal(connection!.stream instanceof DirectSocket, mode.direct_tcp);
  assert.equal(connection!.stream instanceof Socket, !mode.direct_tcp);
  await probe.disconnect();
  return broker;
}

/** Subscribes a watcher to will/#; resolves to a function giving the topic of the next will it receives. */
async function watchWills(broker: TestBroker): Promise<() => Promise<string>> {
  const watcher = await broker.connect(4, { clientId: 'watcher' });
  watcher.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'will/#', qos: 0 }] });
  await watcher.expect('suback');
  return async () => ((await watcher.expect('publish')) as { topic: string }).topic;
}

/** A session touching every write path: CONNACK, SUBACK, QoS 1 and 2 both ways, 1 MiB payloads, PINGRESP. */
async function conversation(broker: TestBroker): Promise<Array<{ cmd: string; bytes: string }>> {
  const seen: Array<{ cmd: string; bytes: string }> = [];
  const client = await broker.connect(5, { clientId: 'talker', clean: true });
  // Whatever the order, it must be the same on both paths: the broker writes it, not the socket.
  const record = async (count: number) => {
    for (let i = 0; i < count; i++) {
      const received = await client.nextReceived();
      assert.ok(received, 'connection closed mid-conversation');
      // A 1 MiB delivery is compared by length and its last bytes, not printed whole.
      const bytes = received.bytes.length > 64 ? `${received.bytes.length}:${received.bytes.subarray(-16).toString('hex')}` : received.bytes.toString('hex');
      seen.push({ cmd: received.packet.cmd, bytes });
    }
  };
  client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'conv/#', qos: 2 }] });
  await record(1);
  const big = Buffer.alloc(1024 * 1024, 0x5a);
  big.write('end', big.length - 3);
  client.send({ cmd: 'publish', topic: 'conv/big', payload: big, qos: 1, messageId: 2, retain: false, dup: false });
  await record(2);
  client.send({ cmd: 'publish', topic: 'conv/two', payload: Buffer.from('exactly once'), qos: 2, messageId: 3, retain: false, dup: false });
  await record(1);
  client.send({ cmd: 'pubrel', messageId: 3 });
  await record(2);
  client.send({ cmd: 'pingreq' });
  await record(1);
  await client.disconnect();
  return seen;
}

test('direct TCP and net.Socket send a client the same bytes in the same order (1 MiB payloads included)', async (t) => {
  const results = [];
  for (const mode of MODES) results.push(await conversation(await brokerIn(t, mode)));
  assert.deepEqual(results[0]!.map((entry) => entry.cmd).sort(), ['pingresp', 'puback', 'pubcomp', 'publish', 'publish', 'pubrec', 'suback']);
  assert.ok(results[0]!.some((entry) => entry.bytes.startsWith('1048')), 'the 1 MiB delivery arrived whole');
  assert.deepEqual(results[0], results[1]);
});

for (const mode of MODES) {
  test(`${mode.name}: a client that stops reading is not read either until its replies drain, and loses nothing`, async (t) => {
    const broker = await brokerIn(t, mode);
    const client = await broker.connect(4, { clientId: 'self-flood', clean: true });
    client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'flood', qos: 0 }] });
    await client.expect('suback');
    // Publish to itself 16 MiB without reading: the broker's writes to it back up past the
    // kernel buffers, so it must stop reading this client until they drain (and not drop QoS 0).
    client.socket.pause();
    const count = 1024;
    const payload = Buffer.alloc(16 * 1024, 0x61);
    for (let i = 0; i < count; i++) client.send({ cmd: 'publish', topic: 'flood', payload, qos: 0, retain: false, dup: false });
    // Wait until the broker's writes to it are backed up (so the drain path is what resumes it).
    const connection = [...broker.broker.connections].find((candidate) => candidate.clientId === 'self-flood')!;
    for (let i = 0; i < 1000 && !connection.stream.writableNeedDrain; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(connection.stream.writableNeedDrain, true, 'the broker\'s writes to the client never backed up');
    // Another client is served meanwhile.
    const other = await broker.connect(4, { clientId: 'other' });
    other.send({ cmd: 'pingreq' });
    await other.expect('pingresp');
    client.socket.resume();
    for (let i = 0; i < count; i++) {
      const packet = await client.next(10000);
      assert.equal(packet?.cmd, 'publish', `message ${i} of ${count}`);
    }
    client.send({ cmd: 'pingreq' });
    await client.expect('pingresp');
  });

  test(`${mode.name}: a client that half-closes without DISCONNECT gets its will published and the connection closed`, async (t) => {
    const broker = await brokerIn(t, mode);
    const nextWill = await watchWills(broker);
    const leaver = await broker.connect(4, { clientId: 'leaver', will: { topic: 'will/leaver', payload: Buffer.from('gone'), qos: 0, retain: false } });
    leaver.socket.end();
    await leaver.closed;
    assert.equal(await nextWill(), 'will/leaver');
  });

  test(`${mode.name}: a connection reset publishes the will; a refused CONNACK arrives before the broker's FIN`, async (t) => {
    const broker = await brokerIn(t, mode);
    const nextWill = await watchWills(broker);
    const victim = await broker.connect(5, { clientId: 'victim', will: { topic: 'will/victim', payload: Buffer.from('reset'), qos: 0, retain: false } });
    victim.socket.resetAndDestroy();
    assert.equal(await nextWill(), 'will/victim');
    // Protocol level 6 is refused with CONNACK return code 1, written before the broker's FIN.
    const bad = await broker.open(4);
    bad.sendBytes([0x10, 0x0d, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x06, 0x02, 0x00, 0x00, 0x00, 0x01, 0x78]);
    const sent = await bad.closedByBroker();
    assert.deepEqual(sent.map((packet) => [packet.cmd, (packet as { returnCode?: number }).returnCode]), [['connack', 1]]);
  });

  test(`${mode.name}: port 0 binds a free port; a port in use is refused with EADDRINUSE naming it`, async (t) => {
    const first = createBroker({ direct_tcp: mode.direct_tcp, sys_interval: 0, listeners: [{ port: 0, host: '127.0.0.1' }] });
    t.after(() => first.close());
    const [address] = await first.listen();
    assert.ok(address!.port > 0);
    assert.equal(address!.host, '127.0.0.1');
    assert.equal(address!.family, 'IPv4');
    const second = createBroker({ direct_tcp: mode.direct_tcp, sys_interval: 0, listeners: [{ port: address!.port, host: '127.0.0.1' }] });
    t.after(() => second.close());
    await assert.rejects(second.listen(), (error: NodeJS.ErrnoException & { port?: number }) => {
      assert.equal(error.code, 'EADDRINUSE');
      assert.equal(error.port, address!.port);
      assert.match(error.message, /^listen EADDRINUSE: address already in use 127\.0\.0\.1:\d+$/);
      return true;
    });
    // A host name is resolved as net.Server resolves it.
    const named = createBroker({ direct_tcp: mode.direct_tcp, sys_interval: 0, listeners: [{ port: 0, host: 'localhost' }] });
    t.after(() => named.close());
    const [bound] = await named.listen();
    assert.match(bound!.host, /^(127\.0\.0\.1|::1)$/);
    const client = await RawClient.open(bound!.port, 4, bound!.host);
    assert.equal((await client.handshake({ clientId: 'by-name' })).returnCode, 0);
    await client.drop();
  });
}

// A connect storm: clients opening many connections at once, faster than the broker accepts. The
// kernel completes a handshake only while the listen backlog has room; Node's default (511) or
// Mosquitto's (100) leaves the rest retransmitting their SYN a second later, then three.
const STORM = 800;
/** Opens STORM connections to argv[1] at once; prints how many completed within 5 s. */
const STORM_CLIENT = `
const net = require('node:net');
const sockets = [];
let connected = 0;
const finish = () => { process.stdout.write(String(connected)); for (const s of sockets) s.destroy(); process.exit(0); };
const timer = setTimeout(finish, 5000);
for (let i = 0; i < ${STORM}; i++) {
  const socket = net.connect(Number(process.argv[1]), '127.0.0.1');
  socket.on('error', () => {});
  socket.on('connect', () => { if (++connected === ${STORM}) { clearTimeout(timer); finish(); } });
  sockets.push(socket);
}`;

function somaxconn(): number {
  try { return Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8')); } catch { return 0; }
}

for (const mode of MODES) {
  test(`${mode.name} TCP: a storm of ${STORM} connections into a busy broker completes every handshake`, async (t) => {
    if (somaxconn() < STORM) { t.skip(`net.core.somaxconn is below ${STORM}: the kernel caps the backlog there`); return; }
    assert.ok(LISTEN_BACKLOG >= STORM);
    const broker = await brokerIn(t, mode);
    // execFileSync blocks this process (the broker's event loop) while the storm arrives: every
    // connection the kernel completes waits in the listen backlog.
    const connected = Number(execFileSync(process.execPath, ['-e', STORM_CLIENT, String(broker.port)], { encoding: 'utf8', timeout: 20_000 }));
    assert.equal(connected, STORM);
  });
}
