// Differential test of the broker's log: the same scripted sessions (mosquitto_pub/sub and raw
// clients; 3.1.1 and 5.0; QoS 0/1/2; two filters; unsubscribe; ping; wills) run against
// `mosquitto -v -p PORT` and `mqx broker -v -p PORT`, and without -v; both logs must hold the same
// lines, client by client in the same order, once timestamps, ports, assigned ids and versions are masked.

import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import type { IPublishPacket } from '../../src/codec/index.js';
import { havePeers, peerPath, startMosquitto, startMosquittoArgs } from '../helpers/peers.js';
import { startMqxBroker, startMqxBrokerArgs } from '../helpers/mqx-broker.js';
import { collect, waitForOutput } from '../helpers/process.js';
import { RawClient } from '../helpers/raw-client.js';

/** Runs mosquitto_pub to completion. */
async function pub(port: number, args: string[]): Promise<void> {
  const child = spawn(peerPath('mosquitto_pub')!, ['-h', '127.0.0.1', '-p', String(port), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const result = await collect(child, 15000);
  assert.equal(result.code, 0, `mosquitto_pub ${args.join(' ')}: ${result.stderr}`);
}

/** A mosquitto_sub in the background: printed(text) resolves once it printed that message. */
function sub(port: number, args: string[]): { child: ChildProcess; printed(text: string): Promise<string>; done(): Promise<void> } {
  const child = spawn(peerPath('mosquitto_sub')!, ['-h', '127.0.0.1', '-p', String(port), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const result = collect(child, 20000);
  let printed = '';
  child.stdout!.on('data', (chunk: Buffer) => { printed += chunk.toString(); });
  return {
    child,
    printed: (text) => (printed.split('\n').includes(text) ? Promise.resolve(printed) : waitForOutput(child.stdout!, new RegExp(`^${text}$`, 'm'), 10000)),
    done: async () => {
      const { code, stderr } = await result;
      assert.equal(code, 0, `mosquitto_sub ${args.join(' ')}: ${stderr}`);
    },
  };
}

/** The scripted sessions, one after another; each waits for what its client saw, never for time. */
async function sessions(port: number): Promise<void> {
  // A retained message: a subscriber that printed it has its subscription in place.
  await pub(port, ['-i', 'r0', '-t', 'b/ready', '-m', 'ready', '-r']);

  // 3.1.1 subscriber with two filters at QoS 1; publishers at QoS 1 and 2 (3.1.1) and QoS 0 (5.0).
  const s1 = sub(port, ['-i', 's1', '-t', 'a', '-t', 'b/#', '-q', '1', '-C', '4']);
  await s1.printed('ready');
  await pub(port, ['-i', 'p1', '-t', 'a', '-m', 'x', '-q', '1']);
  await s1.printed('x');
  await pub(port, ['-i', 'p2', '-t', 'b/c', '-m', 'hello', '-q', '2']);
  await s1.printed('hello');
  await pub(port, ['-i', 'p3', '-V', '5', '-t', 'a', '-m', 'yy']);
  await s1.done();

  // 5.0 subscriber at QoS 2: outgoing PUBREC/PUBREL/PUBCOMP, then a QoS 1 delivery.
  const s5 = sub(port, ['-i', 's5', '-V', '5', '-t', 'c', '-t', 'b/ready', '-q', '2', '-C', '3']);
  await s5.printed('ready');
  await pub(port, ['-i', 'p5', '-V', '5', '-t', 'c', '-m', 'five', '-q', '2']);
  await s5.printed('five');
  await pub(port, ['-i', 'p6', '-V', '5', '-t', 'c', '-m', 'six', '-q', '1']);
  await s5.done();

  // Wills (3.1.1 retained QoS 1, 5.0 QoS 0) of clients that disconnect normally.
  await pub(port, ['-i', 'w1', '--will-topic', 'wt', '--will-payload', 'bye', '--will-qos', '1', '--will-retain', '-t', 'd', '-m', 'x']);
  // (Not QoS 2: with nobody subscribed mqx answers a 5.0 PUBREC 0x10 as for QoS 1, where Mosquitto's PUBREC says 0x00.)
  await pub(port, ['-i', 'w5', '-V', '5', '--will-topic', 'wt5', '--will-payload', 'later', '-t', 'd', '-m', 'x']);
  // 5.0 without an id (the broker assigns one); QoS 1 that nobody subscribed to (5.0 PUBACK 0x10).
  await pub(port, ['-V', '5', '-t', 'nobody', '-m', 'anon', '-q', '1']);

  // Packet by packet: two filters, unsubscribe one and one never subscribed, ping, DISCONNECT.
  for (const version of [4, 5] as const) {
    const { client } = await RawClient.connect(port, version, { clientId: `u${version}`, keepalive: 30 });
    client.send({ cmd: 'subscribe', messageId: 7, subscriptions: [{ topic: 'x', qos: 0 }, { topic: 'y/+', qos: 2 }] });
    await client.expect('suback');
    client.send({ cmd: 'unsubscribe', messageId: 8, unsubscriptions: ['x', 'zz'] });
    await client.expect('unsuback');
    client.send({ cmd: 'pingreq' });
    await client.expect('pingresp');
    await client.disconnect();
  }

  // A will that goes out: its client vanishes without DISCONNECT.
  const { client: watcher } = await RawClient.connect(port, 4, { clientId: 'ws', keepalive: 30 });
  watcher.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'wt/#', qos: 1 }] });
  await watcher.expect('suback');
  const { client: doomed } = await RawClient.connect(port, 5, { clientId: 'wd', keepalive: 30, will: { topic: 'wt/wd', payload: Buffer.from('gone'), qos: 1, retain: false } });
  await doomed.drop();
  const will = (await watcher.expect('publish', 5000)) as IPublishPacket;
  watcher.send({ cmd: 'puback', messageId: will.messageId! });
  await watcher.disconnect();
}

/** Masks what differs between two runs of the same session: time, ports, assigned ids, the version banner. */
function mask(line: string): string {
  return line
    .replace(/^\d+: /, '')
    .replace(/^(mosquitto|mqx) version \S+/, '<broker> version <version>')
    .replace(/^Config loaded from \S+\.$/, 'Config loaded from <file>.')
    .replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:<port>')
    .replace(/port \d+/g, 'port <port>')
    .replace(/auto-[0-9A-F-]{36}/g, 'auto-<assigned>');
}

/**
 * The warning when `user root` keeps the broker root (the config tests run as root) is left out:
 * Mosquitto logs it before "starting", before the config's log_type applies; mqx after opening its
 * listeners, as a warning its log_type filters.
 */
const ROOT_WARNING = /^\d+: Warning: (Mosquitto|mqx) should not be run as root\/administrator\.$/;

/**
 * The log's lines grouped by the client they are about (in order of each client's first line),
 * start-up and shutdown under "broker". A client's "New connection" line is found by its address;
 * will lines go with the CONNACK after them, other tab-indented lines with the line before them.
 */
function byClient(log: string): Map<string, string[]> {
  const rawLines = log.split('\n').filter((line) => line !== '' && !ROOT_WARNING.test(line));
  const clientAt = new Map<string, string>(); // peer address -> client id
  const ids = new Set<string>();
  for (const raw of rawLines) {
    const connected = /: New client connected from (\S+) as (\S+) /.exec(raw);
    if (connected) { clientAt.set(connected[1]!, mask(connected[2]!)); ids.add(mask(connected[2]!)); }
    const connack = /: Sending CONNACK to (\S+) \(/.exec(raw);
    if (connack) ids.add(mask(connack[1]!));
  }
  const groups = new Map<string, string[]>();
  const add = (owner: string, lines: string[]) => {
    if (!groups.has(owner)) groups.set(owner, []);
    groups.get(owner)!.push(...lines);
  };
  let previous = 'broker';
  let will: string[] = [];
  for (const raw of rawLines) {
    const line = mask(raw);
    if (/^(No will message|Will message specified)/.test(line) || (will.length > 0 && line.startsWith('\t'))) {
      will.push(line);
      continue;
    }
    const address = /: New (?:connection|client connected) from (\S+) (?:on|as) /.exec(raw)?.[1];
    const about = /^(?:Sending \w+ to|Received \w+ from|Denied \w+ from|Client) (\S+)/.exec(line)?.[1];
    const first = line.split(' ')[0]!;
    let owner = 'broker';
    if (line.startsWith('\t')) owner = previous;
    else if (address !== undefined) owner = clientAt.get(address) ?? address;
    else if (about !== undefined && ids.has(about)) owner = about;
    else if (ids.has(first)) owner = first; // "s1 1 a" (subscribe), "u4 x" (unsubscribe)
    if (will.length > 0) {
      add(line.startsWith('Sending CONNACK') ? owner : previous, will);
      will = [];
    }
    add(owner, [line]);
    previous = owner;
  }
  return groups;
}

/** Runs the sessions against both brokers started with `args`; returns both logs. */
async function bothLogs(t: TestContext, args: string[]): Promise<{ mosquitto: string; mqx: string }> {
  const reference = await startMosquittoArgs(args);
  t.after(() => reference.stop());
  await sessions(reference.port);
  await reference.stop();
  const ours = await startMqxBrokerArgs(t, args);
  await sessions(ours.port);
  await ours.stop();
  return { mosquitto: reference.log(), mqx: ours.log() };
}

function assertSameLog(logs: { mosquitto: string; mqx: string }): void {
  const expected = byClient(logs.mosquitto);
  const actual = byClient(logs.mqx);
  assert.deepEqual([...actual.keys()], [...expected.keys()], `clients in order of appearance\n--- mosquitto:\n${logs.mosquitto}\n--- mqx:\n${logs.mqx}`);
  for (const [client, lines] of expected) {
    assert.deepEqual(actual.get(client), lines, `lines about ${client}\n--- mosquitto:\n${logs.mosquitto}\n--- mqx:\n${logs.mqx}`);
  }
}

/**
 * The first lines of a QoS 2 exchange from `publisher` to `subscriber` on `topic` (which byClient()
 * puts in two groups), in the log's own order: where the delivery falls between the publisher's packets.
 */
function qos2Order(log: string, publisher: string, subscriber: string, topic: string): string[] {
  const lines = [
    `Received PUBLISH from ${publisher}`, `Sending PUBREC to ${publisher}`, `Received PUBREL from ${publisher}`,
    `Sending PUBLISH to ${subscriber} (d0, q`, `Sending PUBCOMP to ${publisher}`,
  ];
  const found = log.split('\n').map((line) => line.replace(/^\d+: /, ''))
    .filter((line) => lines.some((start) => line.startsWith(start)) && (!line.includes('PUBLISH') || line.includes(`'${topic}'`)));
  // The first of each: later publishers (p6) send to the same subscriber.
  return [...new Set(found.map((line) => lines.find((start) => line.startsWith(start))!))];
}

test('mqx broker -v logs the lines mosquitto -v logs (debug packet trace, subscribe/unsubscribe), client by client', async (t) => {
  if (!havePeers(t, 'mosquitto', 'mosquitto_pub', 'mosquitto_sub')) return;
  const logs = await bothLogs(t, ['-v']);
  assert.match(logs.mqx, /: Received PUBLISH from p2 \(d0, q2, r0, m1, 'b\/c', \.\.\. \(5 bytes\)\)$/m);
  assertSameLog(logs);
  // Across clients too: an incoming QoS 2 message goes to its subscriber at PUBREL, before PUBCOMP.
  for (const [publisher, subscriber, topic] of [['p2', 's1', 'b/c'], ['p5', 's5', 'c']] as const) {
    const expected = qos2Order(logs.mosquitto, publisher, subscriber, topic);
    assert.deepEqual(expected, [
      `Received PUBLISH from ${publisher}`, `Sending PUBREC to ${publisher}`, `Received PUBREL from ${publisher}`,
      `Sending PUBLISH to ${subscriber} (d0, q`, `Sending PUBCOMP to ${publisher}`,
    ], `mosquitto's order\n${logs.mosquitto}`);
    assert.deepEqual(qos2Order(logs.mqx, publisher, subscriber, topic), expected, `QoS 2 from ${publisher} to ${subscriber}\n--- mosquitto:\n${logs.mosquitto}\n--- mqx:\n${logs.mqx}`);
  }
});

test('mqx broker without -v logs what mosquitto logs by default (connections and disconnections, no trace)', async (t) => {
  if (!havePeers(t, 'mosquitto', 'mosquitto_pub', 'mosquitto_sub')) return;
  const logs = await bothLogs(t, []);
  assert.match(logs.mqx, /: New client connected from 127\.0\.0\.1:\d+ as s1 \(p2, c1, k60\)\.$/m);
  assert.doesNotMatch(logs.mqx, /Sending|Received|s1 1 a/);
  assertSameLog(logs);
});

test('log_type debug in a config file turns the same trace on (without the notice lines it does not name)', async (t) => {
  if (!havePeers(t, 'mosquitto', 'mosquitto_pub', 'mosquitto_sub')) return;
  const logTypes = ['debug', 'information'];
  const reference = await startMosquitto('', { logTypes });
  t.after(() => reference.stop());
  await sessions(reference.port);
  await reference.stop();
  const ours = await startMqxBroker(t, `listener PORT 127.0.0.1\nallow_anonymous true\nlog_dest stderr\n${logTypes.map((type) => `log_type ${type}`).join('\n')}`);
  await sessions(ours.port);
  await ours.stop();
  const logs = { mosquitto: reference.log(), mqx: ours.log() };
  assert.match(logs.mqx, /: Sending PUBACK to p1 \(m1, rc0\)$/m);
  assert.doesNotMatch(logs.mqx, /New client connected|s1 1 a/);
  assertSameLog(logs);
});
