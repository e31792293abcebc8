// Differential test of the lines logged when a client is refused or goes away: the same raw
// socket clients (bad passwords, bad CONNECTs, protocol errors, malformed packets, a reset, a
// socket closed mid-packet, a keep alive timeout, a takeover) against mosquitto and mqx broker
// with the default log types; both must log the same error/warning/notice/information lines.

import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import type { ChildProcess } from 'node:child_process';
import { havePeers, startMosquitto } from '../helpers/peers.js';
import { startMqxBroker, tempDir } from '../helpers/mqx-broker.js';
import { runMqx, waitForLog } from '../helpers/process.js';

const LOG_TYPES = ['error', 'warning', 'notice', 'information'];

// --- packets built byte by byte (the codec refuses to encode most of these) ---
function str(value: string | Buffer): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value) : value;
  const length = Buffer.alloc(2);
  length.writeUInt16BE(bytes.length);
  return Buffer.concat([length, bytes]);
}
function remainingLength(n: number): Buffer {
  const out: number[] = [];
  do {
    let digit = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) digit |= 0x80;
    out.push(digit);
  } while (n > 0);
  return Buffer.from(out);
}
function frame(header: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([header]), remainingLength(body.length), body]);
}
interface ConnectFields { id?: string; name?: string; level?: number; flags?: number; keepalive?: number; will?: [string | Buffer, number]; user?: string; password?: string }
function connectPacket(fields: ConnectFields): Buffer {
  let flags = fields.flags ?? 0x02;
  if (fields.will) flags |= 0x04 | (fields.will[1] << 3);
  if (fields.user !== undefined) flags |= 0x80;
  if (fields.password !== undefined) flags |= 0x40;
  const level = fields.level ?? 4;
  const keepalive = Buffer.alloc(2);
  keepalive.writeUInt16BE(fields.keepalive ?? 60);
  const parts = [str(fields.name ?? 'MQTT'), Buffer.from([level, flags]), keepalive];
  if (level === 5) parts.push(Buffer.from([0]));
  parts.push(str(fields.id ?? ''));
  if (fields.will) {
    if (level === 5) parts.push(Buffer.from([0]));
    parts.push(str(fields.will[0]), str('bye'));
  }
  if (fields.user !== undefined) parts.push(str(fields.user));
  if (fields.password !== undefined) parts.push(str(fields.password));
  return frame(0x10, Buffer.concat(parts));
}
const publish = (header: number, topic: string | Buffer, rest = Buffer.from('x')) => frame(header, Buffer.concat([str(topic), rest]));

/** A TCP connection that collects what the broker sends and resolves `closed` when it ends. */
async function open(port: number): Promise<{ socket: Socket; received: () => Buffer; closed: Promise<void> }> {
  const socket = connect({ port, host: '127.0.0.1' });
  socket.on('error', () => {});
  let received = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => { received = Buffer.concat([received, chunk]); });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
  return { socket, received: () => received, closed };
}

/** Opens, CONNECTs as `id` and waits for the CONNACK. */
async function connected(port: number, id: string, keepalive = 60): Promise<Awaited<ReturnType<typeof open>>> {
  const client = await open(port);
  client.socket.write(connectPacket({ id, keepalive }));
  await new Promise<void>((resolve, reject) => {
    const check = () => { if (client.received().length >= 4) { client.socket.off('data', check); resolve(); } };
    client.socket.on('data', check);
    client.closed.then(() => reject(new Error(`${id}: closed before CONNACK`)), () => {});
    check();
  });
  client.socket.removeAllListeners('data');
  return client;
}

/** Sends `bytes` and waits until the broker closes the connection. */
async function refused(port: number, bytes: Buffer): Promise<void> {
  const client = await open(port);
  client.socket.write(bytes);
  await client.closed;
}

/**
 * The clients, one after another. Each ends with exactly one line that closes a client's story
 * (disconnected, closed its connection, exceeded timeout, bad socket read/write), which the runner waits for.
 */
const SCENARIOS: Array<[string, (port: number) => Promise<void>]> = [
  ['bad password, 3.1.1', (port) => refused(port, connectPacket({ id: 'bp4', user: 'u', password: 'wrong' }))],
  ['bad password, 5.0', (port) => refused(port, connectPacket({ id: 'bp5', level: 5, user: 'u', password: 'wrong' }))],
  ['empty client id without clean session', (port) => refused(port, connectPacket({ flags: 0 }))],
  ['protocol level 6', (port) => refused(port, connectPacket({ id: 'v6', level: 6 }))],
  ['protocol name MQTX', (port) => refused(port, connectPacket({ id: 'pn', name: 'MQTX' }))],
  ['will QoS 3', (port) => refused(port, connectPacket({ id: 'wq', will: ['w', 3] }))],
  ['password without user name', (port) => refused(port, connectPacket({ id: 'pw', password: 'x' }))],
  ['will topic with a wildcard', (port) => refused(port, connectPacket({ id: 'ww', will: ['a/#', 0] }))],
  ['will topic not UTF-8', (port) => refused(port, connectPacket({ id: 'wu', will: [Buffer.from([0x61, 0xff]), 0] }))],
  ['CONNECT reserved flag', (port) => refused(port, connectPacket({ id: 'rf', flags: 0x03 }))],
  ['PUBLISH before CONNECT', (port) => refused(port, publish(0x30, 't'))],
  ['bad remaining length in CONNECT', (port) => refused(port, Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0x01]))],
  ...([
    ['second CONNECT', 'sc', connectPacket({ id: 'sc' })],
    ['PUBLISH QoS 3', 'q3', publish(0x36, 'a', Buffer.from([0, 1, 0x78]))],
    ['PUBLISH to a wildcard', 'pw', publish(0x30, 'a/#')],
    ['PUBLISH topic with U+0000', 'pz', publish(0x30, Buffer.from([0x61, 0x00]))],
    ['SUBSCRIBE without filters', 'se', frame(0x82, Buffer.from([0, 1]))],
    ['packet type 0', 'p0', frame(0x00, Buffer.alloc(0))],
    ['bad remaining length', 'rl', Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01])],
  ] as Array<[string, string, Buffer]>).map(([name, id, bytes]): [string, (port: number) => Promise<void>] => [name, async (port) => {
    const client = await connected(port, id);
    client.socket.write(bytes);
    await client.closed;
  }]),
  ['reset by the client', async (port) => {
    const client = await connected(port, 'rst');
    client.socket.resetAndDestroy();
    await client.closed;
  }],
  ['closed before CONNECT', async (port) => {
    const client = await open(port);
    client.socket.end();
    await client.closed;
  }],
  ['closed inside a packet', async (port) => {
    const client = await connected(port, 'cut');
    client.socket.end(publish(0x30, 'abc').subarray(0, 4));
    await client.closed;
  }],
  ['keep alive timeout', async (port) => {
    const client = await connected(port, 'ka', 1);
    await client.closed;
  }],
  ['takeover', async (port) => {
    const first = await connected(port, 'to');
    const second = await connected(port, 'to');
    await first.closed;
    second.socket.end(Buffer.from([0xe0, 0x00]));
    await second.closed;
  }],
];

const LAST_LINE = /^\d+: (Client \S+ (disconnected|closed its connection|has exceeded timeout)|Bad socket read\/write on client )/gm;

/** Resolves once `log()` holds `count` closing lines; waits on the process's output, bounded. */
function closingLines(child: ChildProcess, log: () => string, count: number): Promise<void> {
  return waitForLog(child, log, (text) => (text.match(LAST_LINE)?.length ?? 0) >= count, `${count} closing lines`, 15000);
}

async function runScenarios(port: number, child: ChildProcess, log: () => string): Promise<void> {
  for (const [index, [name, scenario]] of SCENARIOS.entries()) {
    await scenario(port);
    await closingLines(child, log, index + 1).catch((error: Error) => { throw new Error(`${name}: ${error.message}`); });
  }
}

/** The lines about clients, timestamps and ports masked; start-up and shutdown left out. */
function clientLines(log: string): string[] {
  return log.split('\n')
    .map((line) => line.replace(/^\d+: /, '').replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:<port>').replace(/port \d+/g, 'port <port>'))
    .filter((line) => line !== '' && !/^(mosquitto|mqx) version |^Opening |^Config loaded |^Warning: .* should not be run as root|^Loading /.test(line));
}

async function passwordFile(t: TestContext): Promise<string> {
  const dir = tempDir(t);
  const made = await runMqx(['passwd', '-c', '-b', `${dir}/passwd`, 'u', 'pw']);
  assert.equal(made.code, 0, made.stderr);
  return dir;
}

test('refused and broken connections: mqx broker logs the lines mosquitto logs (default log types)', { timeout: 120000 }, async (t) => {
  if (!havePeers(t, 'mosquitto')) return;
  const dir = await passwordFile(t);

  const reference = await startMosquitto(`password_file ${dir}/passwd`, { logTypes: LOG_TYPES });
  t.after(() => reference.stop());
  await runScenarios(reference.port, reference.process, reference.log);
  await reference.stop();

  const ours = await startMqxBroker(t, [
    'listener PORT 127.0.0.1', 'allow_anonymous true', 'password_file DIR/passwd', 'log_dest stderr',
    ...LOG_TYPES.map((type) => `log_type ${type}`),
  ].join('\n'), { dir });
  await runScenarios(ours.port, ours.child, ours.log);
  await ours.stop();

  const expected = clientLines(reference.log());
  assert.ok(expected.includes('Invalid protocol version 6 in CONNECT from 127.0.0.1.'), reference.log());
  assert.deepEqual(clientLines(ours.log()), expected, `--- mosquitto:\n${reference.log()}\n--- mqx:\n${ours.log()}`);
});
