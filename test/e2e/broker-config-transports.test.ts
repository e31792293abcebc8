// Listeners from a real mosquitto.conf run by `mqx broker -c`: TLS with openssl certificates and
// mosquitto_pub/sub --cafile, client certificates as usernames under an ACL, WebSockets with
// MQTT.js, unix sockets, several listeners with per_listener_settings.

import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { IClientOptions } from 'mqtt';
import { freePort, havePeers, peerPath } from '../helpers/peers.js';
import { run, waitForOutput } from '../helpers/process.js';
import { startMqxBroker, tempDir } from '../helpers/mqx-broker.js';
import { makeCertificates } from '../helpers/tls-certs.js';
import type { TestCertificates } from '../helpers/tls-certs.js';
import { connectClient as client, roundTrip } from '../helpers/mqttjs.js';

let shared: TestCertificates | null = null;
function certificates(t: TestContext): TestCertificates | null {
  if (!havePeers(t, 'openssl')) return null;
  shared ??= makeCertificates('alice');
  return shared;
}
test.after(() => shared?.remove());

test('TLS listener from the config: mosquitto_sub and mosquitto_pub with --cafile', async (t) => {
  const c = certificates(t);
  if (!c || !havePeers(t, 'mosquitto_pub', 'mosquitto_sub')) return;
  const broker = await startMqxBroker(t, `listener PORT 127.0.0.1\nallow_anonymous true\ncertfile ${c.serverCert}\nkeyfile ${c.serverKey}\n`);
  const sub = spawn(peerPath('mosquitto_sub')!, ['-h', '127.0.0.1', '-p', String(broker.port), '--cafile', c.caCert, '-t', 'conf/tls', '-C', '1', '-W', '10', '-i', 'tls-sub'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => { if (sub.exitCode === null) sub.kill(); });
  const output = waitForOutput(sub.stdout!, 'secret sauce', 10000);
  await broker.waitForLog(/tls-sub 0 conf\/tls/);
  const pub = await run(peerPath('mosquitto_pub')!, ['-h', '127.0.0.1', '-p', String(broker.port), '--cafile', c.caCert, '-t', 'conf/tls', '-m', 'secret sauce']);
  assert.equal(pub.code, 0, pub.stderr);
  assert.match(await output, /secret sauce/);
  // A plain client on the TLS port gets nowhere.
  const plain = await run(peerPath('mosquitto_pub')!, ['-h', '127.0.0.1', '-p', String(broker.port), '-t', 'conf/tls', '-m', 'x']);
  assert.notEqual(plain.code, 0);
});

test('require_certificate + use_identity_as_username: the certificate CN is the user the ACL applies to', async (t) => {
  const c = certificates(t);
  if (!c || !havePeers(t, 'mosquitto_pub')) return;
  const dir = tempDir(t);
  writeFileSync(join(dir, 'acl'), 'user alice\ntopic readwrite alice/#\n');
  const broker = await startMqxBroker(t, [
    'listener PORT 127.0.0.1', `certfile ${c.serverCert}`, `keyfile ${c.serverKey}`, `cafile ${c.caCert}`,
    'require_certificate true', 'use_identity_as_username true', 'acl_file DIR/acl',
  ].join('\n'), { dir });
  const tls = { protocol: 'mqtts' as const, host: '127.0.0.1', port: broker.port, ca: c.read(c.caCert), cert: c.read(c.clientCert), key: c.read(c.clientKey) };
  const alice = await client(t, null, { ...tls, clientId: 'cert-alice', username: 'ignored', password: 'ignored' });
  const watcher = await client(t, null, { ...tls, clientId: 'cert-watcher' });
  assert.equal(await roundTrip(watcher, alice, 'alice/news', 'from the CN'), 'from the CN');
  await broker.waitForLog(/as cert-alice \(p2, c1, k60, u'alice'\)/);
  // Without a client certificate the handshake fails (mosquitto_pub exits non-zero).
  const refused = await run(peerPath('mosquitto_pub')!, ['-h', '127.0.0.1', '-p', String(broker.port), '--cafile', c.caCert, '-t', 'alice/x', '-m', 'x']);
  assert.notEqual(refused.code, 0);
  const accepted = await run(peerPath('mosquitto_pub')!, ['-h', '127.0.0.1', '-p', String(broker.port), '--cafile', c.caCert, '--cert', c.clientCert, '--key', c.clientKey, '-t', 'alice/x', '-m', 'x']);
  assert.equal(accepted.code, 0, accepted.stderr);
});

test('protocol websockets: MQTT.js on /mqtt and on /, plain and over TLS, beside a TCP listener', async (t) => {
  const c = certificates(t);
  if (!c) return;
  const wsPort = await freePort();
  const wssPort = await freePort();
  const broker = await startMqxBroker(t, [
    'listener PORT 127.0.0.1', 'allow_anonymous true',
    `listener ${wsPort} 127.0.0.1`, 'protocol websockets', 'allow_anonymous true',
    `listener ${wssPort} 127.0.0.1`, 'protocol websockets', `certfile ${c.serverCert}`, `keyfile ${c.serverKey}`,
  ].join('\n'));
  await broker.waitForLog(new RegExp(`Opening websockets listen socket on port ${wsPort}`));
  const sub = await client(t, `ws://127.0.0.1:${wsPort}/mqtt`, { clientId: 'ws-sub' });
  const pub = await client(t, `mqtt://127.0.0.1:${broker.port}`, { clientId: 'tcp-pub' });
  assert.equal(await roundTrip(sub, pub, 'mixed/a', 'tcp to ws'), 'tcp to ws');
  const wss = await client(t, `wss://127.0.0.1:${wssPort}/`, { clientId: 'wss-sub', ca: c.read(c.caCert) });
  assert.equal(await roundTrip(wss, pub, 'mixed/b', 'tcp to wss'), 'tcp to wss');
});

test('unix socket listener and per_listener_settings: anonymous on the socket only', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'mqx.sock');
  const broker = await startMqxBroker(t, [
    'per_listener_settings true',
    'listener PORT 127.0.0.1', 'allow_anonymous false',
    `listener 0 ${path}`, 'allow_anonymous true',
  ].join('\n'), { dir });
  const local = await client(t, null, { protocol: 'mqtt', unixSocket: true, path, clientId: 'unix-anon' } as IClientOptions);
  assert.equal(local.connected, true);
  await assert.rejects(client(t, `mqtt://127.0.0.1:${broker.port}`, { clientId: 'tcp-anon' }), /Not authorized|not authorised/i);
});

// Loopback addresses only (tests bind nothing wider); that '::' gets IPV6_V6ONLY is a unit test.
test('socket_domain: ipv4 and ipv6 listeners from the config serve their own family', async (t) => {
  const ipv6 = await new Promise<boolean>((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(0, '::1', () => probe.close(() => resolve(true)));
  });
  if (!ipv6) { t.skip('no IPv6 loopback on this machine'); return; }
  const v6Port = await freePort();
  const broker = await startMqxBroker(t, `listener PORT 127.0.0.1\nsocket_domain ipv4\nallow_anonymous true\nlistener ${v6Port} ::1\nsocket_domain ipv6\nallow_anonymous true\n`);
  const v4 = await client(t, `mqtt://127.0.0.1:${broker.port}`, { clientId: 'v4' });
  assert.equal(v4.connected, true);
  const v6 = await client(t, `mqtt://[::1]:${v6Port}`, { clientId: 'v6' });
  assert.equal(v6.connected, true);
  await assert.rejects(client(t, `mqtt://127.0.0.1:${v6Port}`, { clientId: 'v4-on-v6' }), /ECONNREFUSED/);
});

test('bind_interface lo: the listener binds the loopback interface\'s addresses', async (t) => {
  const broker = await startMqxBroker(t, 'listener PORT\nbind_interface lo\nsocket_domain ipv4\nallow_anonymous true\n');
  await broker.waitForLog(new RegExp(`Opening ipv4 listen socket on port ${broker.port}`));
  const c = await client(t, `mqtt://127.0.0.1:${broker.port}`, { clientId: 'on-lo' });
  assert.equal(c.connected, true);
});

test('direct_tcp: on by default, off with `direct_tcp false`, and off without a warning under --pending-deprecation', async (t) => {
  const cases = [
    { config: '', env: {} },
    { config: 'direct_tcp false\n', env: {} },
    // process.binding() would print DEP0111 here: the broker uses net.Socket instead.
    { config: '', env: { NODE_OPTIONS: '--pending-deprecation' } },
  ];
  for (const { config, env } of cases) {
    const broker = await startMqxBroker(t, `${config}listener PORT 127.0.0.1\nallow_anonymous true`, { env });
    const sub = await client(t, `mqtt://127.0.0.1:${broker.port}`, { clientId: 'direct-sub' });
    const pub = await client(t, `mqtt://127.0.0.1:${broker.port}`, { clientId: 'direct-pub', protocolVersion: 5 });
    assert.equal(await roundTrip(sub, pub, 'direct/a', 'either way'), 'either way');
    await broker.stop();
    assert.doesNotMatch(broker.log(), /DeprecationWarning|DEP0111/);
  }
  await assert.rejects(startMqxBroker(t, 'direct_tcp maybe\nlistener PORT 127.0.0.1'), /direct_tcp/);
});
