// TLS transport with the broker in-process: server certificates, client certificates required
// or optional, identity and subject as username, tls_version, key/certificate mismatch, mosquitto_pub/sub.

import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tlsConnect } from 'node:tls';
import type { IClientOptions, MqttClient } from 'mqtt';
import { createBroker } from '../../src/broker/broker.js';
import type { BrokerOptions } from '../../src/broker/options.js';
import { checkTlsOptions, listenTls } from '../../src/broker/transport/tls.js';
import type { CertificateStreamInfo, ListenerTlsOptions } from '../../src/broker/transport/tls.js';
import { havePeers, peerPath } from '../helpers/peers.js';
import { makeCertificates } from '../helpers/tls-certs.js';
import type { TestCertificates } from '../helpers/tls-certs.js';
import { run, waitForOutput } from '../helpers/process.js';
import { spawn } from 'node:child_process';
import { connectClient, roundTrip } from '../helpers/mqttjs.js';

let certs: TestCertificates | null = null;
function certificates(t: TestContext): TestCertificates | null {
  if (!havePeers(t, 'openssl')) return null;
  certs ??= makeCertificates();
  return certs;
}
test.after(() => certs?.remove());

function serverTls(c: TestCertificates, extra: Partial<ListenerTlsOptions> = {}): ListenerTlsOptions {
  return { cert: c.read(c.serverCert), key: c.read(c.serverKey), ...extra };
}

/** An MQTT.js client over TLS to the test listener. */
function client(t: TestContext, port: number, options: IClientOptions): Promise<MqttClient> {
  return connectClient(t, null, { protocol: 'mqtts', host: '127.0.0.1', port, ...options });
}

async function serveTls(t: TestContext, tls: ListenerTlsOptions, options: BrokerOptions = {}) {
  const broker = createBroker(options);
  const infos: CertificateStreamInfo[] = [];
  const transport = await listenTls({ port: 0, host: '127.0.0.1', tls }, (stream, info) => {
    infos.push(info);
    broker.handle(stream, info);
  });
  t.after(async () => { await transport.close(); await broker.close(); });
  return { broker, port: transport.address.port, infos };
}

test('TLS: MQTT.js verifies the server certificate against the CA and exchanges messages', async (t) => {
  const c = certificates(t);
  if (!c) return;
  const { port } = await serveTls(t, serverTls(c));
  const ca = c.read(c.caCert);
  const sub = await client(t, port, { ca, clientId: 'tls-sub' });
  const pub = await client(t, port, { ca, clientId: 'tls-pub', protocolVersion: 5 });
  assert.equal(await roundTrip(sub, pub, 'tls/a', 'over tls'), 'over tls');
});

test('TLS: a client that does not trust the server CA fails the handshake', async (t) => {
  const c = certificates(t);
  if (!c) return;
  const { port } = await serveTls(t, serverTls(c));
  await assert.rejects(client(t, port, { ca: c.read(c.strangerCert) }), /self[- ]signed|unable to verify|certificate/i);
});

test('TLS require_certificate: no certificate or one from an unknown CA is refused; a CA-signed one gets in', async (t) => {
  const c = certificates(t);
  if (!c) return;
  const { port, infos } = await serveTls(t, serverTls(c, { ca: [c.read(c.caCert)], require_certificate: true, use_identity_as_username: true }));
  const ca = c.read(c.caCert);
  await assert.rejects(client(t, port, { ca, clientId: 'no-cert' }));
  await assert.rejects(client(t, port, { ca, clientId: 'stranger', cert: c.read(c.strangerCert), key: c.read(c.strangerKey) }));
  const good = await client(t, port, { ca, clientId: 'good', cert: c.read(c.clientCert), key: c.read(c.clientKey) });
  assert.equal(good.connected, true);
  // use_identity_as_username: the CN travels with the stream to the broker.
  assert.equal(infos.at(-1)?.certificateUsername, 'alice');
});

test('TLS use_subject_as_username: the subject in RFC 2253 form, as openssl prints it', async (t) => {
  const c = certificates(t);
  if (!c) return;
  const { port, infos } = await serveTls(t, serverTls(c, { ca: [c.read(c.caCert)], require_certificate: true, use_subject_as_username: true }));
  await client(t, port, { ca: c.read(c.caCert), cert: c.read(c.clientCert), key: c.read(c.clientKey) });
  assert.equal(infos.at(-1)?.certificateUsername, c.clientSubject);
  assert.equal(c.clientSubject, 'CN=alice,O=mqx tests,C=GB');
});

test('TLS optional client certificate: the handshake passes with or without one; only a verified one gives an identity', async (t) => {
  const c = certificates(t);
  if (!c) return;
  const { port, infos } = await serveTls(t, serverTls(c, { ca: [c.read(c.caCert)], use_identity_as_username: true }));
  const ca = c.read(c.caCert);
  // TLS accepts them, then CONNECT is refused as Mosquitto does: no identity, "bad user name or password".
  await assert.rejects(client(t, port, { ca, clientId: 'without' }), /Bad username or password/);
  assert.equal(infos.at(-1)?.certificateUsername, null);
  await assert.rejects(client(t, port, { ca, clientId: 'stranger', cert: c.read(c.strangerCert), key: c.read(c.strangerKey) }), /Bad username or password/);
  assert.equal(infos.at(-1)?.certificateUsername, null);
  await client(t, port, { ca, clientId: 'with', cert: c.read(c.clientCert), key: c.read(c.clientKey) });
  assert.equal(infos.at(-1)?.certificateUsername, 'alice');
});

test('TLS with a CA but without require_certificate: clients without a certificate connect as usual', async (t) => {
  const c = certificates(t);
  if (!c) return;
  const { port, infos } = await serveTls(t, serverTls(c, { ca: [c.read(c.caCert)] }));
  const plain = await client(t, port, { ca: c.read(c.caCert), clientId: 'no-cert' });
  assert.equal(plain.connected, true);
  assert.equal(infos.at(-1)?.certificateUsername, undefined);
});

test('TLS tls_version tlsv1.3: a TLS 1.2-only client is refused, a TLS 1.3 one connects', async (t) => {
  const c = certificates(t);
  if (!c) return;
  const { port } = await serveTls(t, serverTls(c, { tls_version: 'tlsv1.3' }));
  const handshake = (maxVersion: 'TLSv1.2' | 'TLSv1.3') => new Promise<string>((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca: c.read(c.caCert), maxVersion }, () => { resolve(socket.getProtocol() ?? ''); socket.destroy(); });
    socket.on('error', reject);
  });
  await assert.rejects(handshake('TLSv1.2'), /version|alert|protocol/i);
  assert.equal(await handshake('TLSv1.3'), 'TLSv1.3');
});

test('TLS: a key that does not match the certificate is reported before binding', (t) => {
  const c = certificates(t);
  if (!c) return;
  assert.throws(() => checkTlsOptions(serverTls(c, { key: c.read(c.otherKey) })), /key values mismatch/);
  assert.doesNotThrow(() => checkTlsOptions(serverTls(c)));
});

test('TLS ciphers: a TLS 1.2 cipher list keeps TLS 1.3 working and limits TLS 1.2 to the list', async (t) => {
  const c = certificates(t);
  if (!c) return;
  const { port } = await serveTls(t, serverTls(c, { ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' }));
  const cipher = (maxVersion: 'TLSv1.2' | 'TLSv1.3', ciphers?: string) => new Promise<string>((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca: c.read(c.caCert), maxVersion, ciphers }, () => { resolve(socket.getCipher().standardName); socket.destroy(); });
    socket.on('error', reject);
  });
  assert.match(await cipher('TLSv1.3'), /^TLS_/);
  assert.equal(await cipher('TLSv1.2'), 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256');
  await assert.rejects(cipher('TLSv1.2', 'ECDHE-ECDSA-AES256-GCM-SHA384'));
});

test('TLS: mosquitto_sub and mosquitto_pub with --cafile talk through the broker', async (t) => {
  const c = certificates(t);
  if (!c || !havePeers(t, 'mosquitto_pub', 'mosquitto_sub')) return;
  const { port, broker } = await serveTls(t, serverTls(c));
  const subscribed = new Promise<void>((resolve) => broker.once('subscribe', () => resolve()));
  const sub = spawn(peerPath('mosquitto_sub')!, ['-h', '127.0.0.1', '-p', String(port), '--cafile', c.caCert, '-t', 'tls/m', '-C', '1', '-W', '10'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => { if (sub.exitCode === null) sub.kill(); });
  const output = waitForOutput(sub.stdout!, 'hello tls', 10000);
  await subscribed;
  const pub = await run(peerPath('mosquitto_pub')!, ['-h', '127.0.0.1', '-p', String(port), '--cafile', c.caCert, '-t', 'tls/m', '-m', 'hello tls', '-q', '1']);
  assert.equal(pub.code, 0, pub.stderr);
  assert.match(await output, /hello tls/);
});
