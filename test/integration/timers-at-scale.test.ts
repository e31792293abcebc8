// Keepalive, will delay and session expiry with 10,000 sessions at once (issue 6): silent clients
// are cut off by keepalive and their wills go out, delayed wills fire, expired sessions are gone
// on reconnect while unexpired ones resume; and idle clients create no timers (no per-client tick).
// The broker runs in a child process: this process holds the 10,000 client sockets.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import type { Socket } from 'node:net';
import { encode } from '../../src/codec/index.js';
import type { IConnectPacket } from '../../src/codec/index.js';
import { startBrokerProcess } from '../helpers/broker-process.js';
import { RawClient } from '../helpers/raw-client.js';

/** A bare client: one socket, its CONNACK, whether the broker has closed it. */
interface Light {
  socket: Socket;
  connack: Promise<{ sessionPresent: boolean; code: number }>;
  closed: Promise<void>;
}

function openLight(port: number, connect: Buffer): Light {
  const socket = netConnect({ port, host: '127.0.0.1' });
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const connack = new Promise<{ sessionPresent: boolean; code: number }>((resolve, reject) => {
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      if (head.length < 4) return;
      socket.off('data', onData);
      socket.resume(); // later packets (PINGRESP) are not needed
      if (head[0] !== 0x20) reject(new Error(`expected CONNACK, got first byte ${head[0]}`));
      else resolve({ sessionPresent: (head[2]! & 1) === 1, code: head[3]! });
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error('closed before CONNACK')));
  });
  connack.catch(() => undefined);
  socket.write(connect);
  return { socket, connack, closed };
}

/** Opens `count` clients, at most `parallel` handshakes at a time; every CONNACK must accept. */
async function openMany(port: number, count: number, connectFor: (i: number) => Buffer, parallel = 200): Promise<{ clients: Light[]; sessionPresent: number }> {
  const clients: Light[] = [];
  let next = 0;
  let sessionPresent = 0;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < count) {
      const client = openLight(port, connectFor(next++));
      clients.push(client);
      const connack = await client.connack;
      assert.equal(connack.code, 0, 'CONNACK accepts');
      if (connack.sessionPresent) sessionPresent++;
    }
  }));
  return { clients, sessionPresent };
}

function connectBytes(fields: Partial<IConnectPacket> & { clientId: string; protocolVersion: 4 | 5 }): Buffer {
  return encode({ cmd: 'connect', protocolId: 'MQTT', clean: true, keepalive: 0, ...fields } as IConnectPacket, fields.protocolVersion);
}

const will = (topic: string, delay?: number) => ({
  topic, payload: Buffer.from('gone'), qos: 0 as const, retain: false,
  ...(delay === undefined ? {} : { properties: { willDelayInterval: delay } }),
});

test('10,000 sessions: keepalive cuts off silent clients (wills out), delayed wills fire, sessions expire, idle clients cost no timers', { timeout: 120_000 }, async (t) => {
  const KA = 4_000; // 3.1.1, keepalive 1 s, never send again: cut off at 1.5 s, will published
  const ALIVE = 100; // 3.1.1, keepalive 1 s, send PINGREQ: must stay connected
  const WD = 3_000; // 5.0, will delay 1 s, dropped without DISCONNECT: will published after the delay
  const EXP = 1_500; // 5.0, session expiry 2 s, DISCONNECT: expired on reconnect (session present 0)
  const KEEP = 1_500; // 5.0, session expiry 300 s, DISCONNECT: resumed on reconnect (session present 1)
  const broker = await startBrokerProcess(t, { sys_interval: 0, listeners: [{ port: 0, host: '127.0.0.1' }] });
  const { port } = broker;
  const everyone: Light[] = [];
  t.after(() => { for (const client of everyone) client.socket.destroy(); });

  const { client: watcher } = await RawClient.connect(port, 4, { clientId: 'watcher', keepalive: 0 });
  t.after(() => watcher.drop());
  watcher.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'will/#', qos: 0 }] });
  await watcher.expect('suback');

  const v5 = (clientId: string, expiry: number, extra: Partial<IConnectPacket> = {}) =>
    connectBytes({ clientId, clean: false, properties: { sessionExpiryInterval: expiry }, ...extra, protocolVersion: 5 });
  const keep = await openMany(port, KEEP, (i) => v5(`keep-${i}`, 300));
  const exp = await openMany(port, EXP, (i) => v5(`exp-${i}`, 2));
  const wd = await openMany(port, WD, (i) => v5(`wd-${i}`, 60, { will: will(`will/wd/${i}`, 1) }));
  everyone.push(...keep.clients, ...exp.clients, ...wd.clients);
  assert.equal(keep.sessionPresent + exp.sessionPresent + wd.sessionPresent, 0);

  // 6,000 idle connected clients: over a second and a half the broker creates (almost) no timers.
  const before = await broker.stats();
  assert.equal(before.connections, KEEP + EXP + WD + 1);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const after = await broker.stats();
  t.diagnostic(`timers created while ${KEEP + EXP + WD} clients idled for 1.5 s: ${after.timersCreated - before.timersCreated}; heap ${(after.heapUsed / 1048576).toFixed(1)} MiB`);
  assert.ok(after.timersCreated - before.timersCreated <= 20, `timers created while idle: ${after.timersCreated - before.timersCreated}`);

  const alive = await openMany(port, ALIVE, (i) => connectBytes({ clientId: `alive-${i}`, protocolVersion: 4, keepalive: 1 }));
  const pinger = setInterval(() => { for (const client of alive.clients) client.socket.write(Buffer.from([0xc0, 0x00])); }, 300);
  t.after(() => clearInterval(pinger));
  const ka = await openMany(port, KA, (i) => connectBytes({ clientId: `ka-${i}`, protocolVersion: 4, clean: false, keepalive: 1, will: will(`will/ka/${i}`) }));
  everyone.push(...alive.clients, ...ka.clients);
  assert.ok((await broker.stats()).sessions >= 10_000, 'ten thousand sessions at once');

  // Session expiry and will delay start now: a normal DISCONNECT for exp and keep, a dropped socket for wd.
  for (const client of [...keep.clients, ...exp.clients]) client.socket.end(Buffer.from([0xe0, 0x00]));
  for (const client of wd.clients) client.socket.destroy();

  // Every silent keepalive client is cut off by the broker and its will published; every delayed will fires.
  const wills = { ka: new Set<string>(), wd: new Set<string>() };
  const deadline = Date.now() + 60_000;
  while (wills.ka.size < KA || wills.wd.size < WD) {
    const packet = await watcher.next(Math.max(1, deadline - Date.now()));
    assert.ok(packet !== null, 'watcher connection lost');
    if (packet.cmd !== 'publish') continue;
    const [, kind] = packet.topic.split('/');
    if (kind === 'ka' || kind === 'wd') wills[kind].add(packet.topic);
  }
  await Promise.all(ka.clients.map((client) => client.closed));

  // Before its expiry a session resumes; after it, it is gone.
  const resumed = await openMany(port, KEEP, (i) => v5(`keep-${i}`, 300));
  everyone.push(...resumed.clients);
  assert.equal(resumed.sessionPresent, KEEP, 'unexpired sessions resume (session present 1)');
  for (let i = 0; i < 300 && (await broker.stats()).clientsExpired < EXP; i++) await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal((await broker.stats()).clientsExpired, EXP, 'exactly the 2 s sessions expired');
  const fresh = await openMany(port, EXP, (i) => v5(`exp-${i}`, 2));
  everyone.push(...fresh.clients);
  assert.equal(fresh.sessionPresent, 0, 'expired sessions are gone (session present 0)');

  // Clients that keep talking were never cut off.
  clearInterval(pinger);
  const stillOpen = alive.clients.filter((client) => !client.socket.destroyed && client.socket.readyState === 'open').length;
  assert.equal(stillOpen, ALIVE, 'pinging clients stay connected');
  assert.deepEqual((await broker.stats()).errors, []);
});
