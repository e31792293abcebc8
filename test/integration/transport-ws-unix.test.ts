// WebSockets (ws and wss, any path, subprotocols, binary frames only) and unix socket
// listeners with the broker in-process, driven by MQTT.js and raw sockets.

import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createConnection } from 'node:net';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { createBroker } from '../../src/broker/broker.js';
import type { Broker } from '../../src/broker/broker.js';
import { listenWebSockets } from '../../src/broker/transport/ws.js';
import type { ListenerTlsOptions } from '../../src/broker/transport/tls.js';
import { listenUnix } from '../../src/broker/transport/unix.js';
import { encode } from '../../src/codec/index.js';
import { havePeers } from '../helpers/peers.js';
import { makeCertificates } from '../helpers/tls-certs.js';
import { connectClient as client, roundTrip } from '../helpers/mqttjs.js';

async function serveWs(t: TestContext, tls?: ListenerTlsOptions): Promise<{ broker: Broker; port: number }> {
  const broker = createBroker();
  const transport = await listenWebSockets({ port: 0, host: '127.0.0.1', tls }, (stream, info) => broker.handle(stream, info));
  t.after(async () => { await transport.close(); await broker.close(); });
  assert.equal(transport.address.protocol, 'websockets');
  return { broker, port: transport.address.port };
}

test('WebSockets: MQTT.js on /mqtt (EMQX-style) and on another path reach the same broker', async (t) => {
  const { port } = await serveWs(t);
  const sub = await client(t, `ws://127.0.0.1:${port}/mqtt`, { clientId: 'ws-sub' });
  const pub = await client(t, `ws://127.0.0.1:${port}/any/other/path`, { clientId: 'ws-pub', protocolVersion: 5 });
  assert.equal(await roundTrip(sub, pub, 'ws/a', 'over websockets'), 'over websockets');
});

test('WebSockets: the server answers the mqtt subprotocol, and MQTT 3.1 clients get mqttv3.1', async (t) => {
  const { port } = await serveWs(t);
  const chosen = (protocols: string[]) => new Promise<string>((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/`, protocols);
    socket.on('open', () => { resolve(socket.protocol); socket.close(); });
    socket.on('error', reject);
  });
  assert.equal(await chosen(['mqtt']), 'mqtt');
  assert.equal(await chosen(['mqttv3.1']), 'mqttv3.1');
  const c = await client(t, `ws://127.0.0.1:${port}/`, { protocolId: 'MQIsdp', protocolVersion: 3, clientId: 'v31' });
  assert.equal(c.connected, true);
});

test('WebSockets [MQTT-6.0.0-1]: a text frame closes the connection; binary CONNECT gets CONNACK', async (t) => {
  const { port } = await serveWs(t);
  const open = () => new Promise<WebSocket>((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/mqtt`, ['mqtt']);
    socket.on('open', () => resolve(socket));
    socket.on('error', reject);
  });
  const good = await open();
  const connack = new Promise<Buffer>((resolve) => good.once('message', (data) => resolve(data as Buffer)));
  good.send(encode({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: 'raw', keepalive: 0 }, 4));
  assert.equal((await connack)[0], 0x20);
  good.close();
  const bad = await open();
  const closed = new Promise<void>((resolve) => bad.once('close', () => resolve()));
  bad.send('not mqtt');
  await closed;
});

test('WebSockets over TLS: MQTT.js wss with the test CA', async (t) => {
  if (!havePeers(t, 'openssl')) return;
  const certs = makeCertificates();
  t.after(() => certs.remove());
  const { port } = await serveWs(t, { cert: certs.read(certs.serverCert), key: certs.read(certs.serverKey) });
  const ca = certs.read(certs.caCert);
  const sub = await client(t, `wss://127.0.0.1:${port}/mqtt`, { ca, clientId: 'wss-sub' });
  const pub = await client(t, `wss://127.0.0.1:${port}/`, { ca, clientId: 'wss-pub' });
  assert.equal(await roundTrip(sub, pub, 'wss/a', 'over wss'), 'over wss');
});

test('WebSockets: a plain HTTP request gets 426, not a hang', async (t) => {
  const { port } = await serveWs(t);
  const response = await fetch(`http://127.0.0.1:${port}/`);
  assert.equal(response.status, 426);
});

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'mqx-unix-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function serveUnix(t: TestContext, path: string): Promise<Broker> {
  const broker = createBroker();
  const transport = await listenUnix({ path }, (stream, info) => broker.handle(stream, info));
  t.after(async () => { await transport.close(); await broker.close(); });
  return broker;
}

test('unix socket: MQTT.js clients connect through the socket file, which is removed on close', async (t) => {
  const path = join(tempDir(t), 'mqx.sock');
  const broker = createBroker();
  const transport = await listenUnix({ path }, (stream, info) => broker.handle(stream, info));
  assert.equal(existsSync(path), true);
  const sub = await client(t, null, { protocol: 'mqtt', unixSocket: true, path, clientId: 'unix-sub' });
  const pub = await client(t, null, { protocol: 'mqtt', unixSocket: true, path, clientId: 'unix-pub' });
  assert.equal(await roundTrip(sub, pub, 'unix/a', 'over a unix socket'), 'over a unix socket');
  await sub.endAsync();
  await pub.endAsync();
  await transport.close();
  await broker.close();
  assert.equal(existsSync(path), false);
});

test('unix socket: a stale socket file left by a dead process is replaced', async (t) => {
  if (!havePeers(t, 'python3')) return;
  const path = join(tempDir(t), 'stale.sock');
  // Python binds and exits without unlinking: a socket file nobody listens on.
  execFileSync('python3', ['-c', `import socket; s = socket.socket(socket.AF_UNIX); s.bind(${JSON.stringify(path)})`]);
  assert.equal(existsSync(path), true);
  await serveUnix(t, path);
  const connack = await new Promise<Buffer>((resolve, reject) => {
    const socket = createConnection({ path }, () => socket.write(encode({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: 'raw-unix', keepalive: 0 }, 4)));
    socket.once('data', (data) => { resolve(data); socket.destroy(); });
    socket.on('error', reject);
  });
  assert.deepEqual([...connack], [0x20, 2, 0, 0]);
});

test('unix socket: a live socket is not stolen and a regular file is not deleted', async (t) => {
  const dir = tempDir(t);
  const live = join(dir, 'live.sock');
  await serveUnix(t, live);
  await assert.rejects(listenUnix({ path: live }, () => {}), (error: NodeJS.ErrnoException) => error.code === 'EADDRINUSE' && /in use/.test(error.message));
  const file = join(dir, 'notes.txt');
  writeFileSync(file, 'keep me');
  await assert.rejects(listenUnix({ path: file }, () => {}), /not a socket/);
  assert.equal(existsSync(file), true);
});
