// `mqx broker` as a real process, with real peers: mosquitto_pub/sub, MQTT.js 3.1.1 and 5.0,
// Python paho-mqtt. One broker per file, started on a free loopback port and stopped with SIGTERM.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { connectAsync } from 'mqtt';
import type { MqttClient, IClientOptions } from 'mqtt';
import { spawnMqx, runMqx, run, waitForOutput, collect } from '../helpers/process.js';
import { freePort, havePeers, peerPath } from '../helpers/peers.js';

let port = 0;
let broker: ChildProcess;
let brokerLog = '';

before(async () => {
  port = await freePort();
  broker = spawnMqx(['broker', '-p', String(port), '-v']);
  broker.stderr!.on('data', (chunk: Buffer) => { brokerLog += chunk.toString(); });
  await waitForOutput(broker.stderr!, / version \S+ running\n/, 10000);
});

after(async () => {
  if (broker.exitCode === null) {
    broker.kill('SIGTERM');
    await new Promise((resolve) => broker.once('exit', resolve));
  }
});

async function client(options: IClientOptions): Promise<MqttClient> {
  return connectAsync({ host: '127.0.0.1', port, reconnectPeriod: 0, connectTimeout: 5000, ...options });
}

function nextMessage(subscriber: MqttClient, timeoutMs = 5000): Promise<{ topic: string; payload: string; retain: boolean; qos: number; properties?: object }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no message')), timeoutMs);
    subscriber.once('message', (topic, payload, packet) => {
      clearTimeout(timer);
      resolve({ topic, payload: payload.toString(), retain: packet.retain, qos: packet.qos, properties: packet.properties });
    });
  });
}

for (const protocolVersion of [4, 5] as const) {
  for (const qos of [0, 1, 2] as const) {
    test(`MQTT.js v${protocolVersion === 5 ? '5.0' : '3.1.1'} publishes and receives at QoS ${qos}`, async () => {
      const sub = await client({ protocolVersion, clientId: `js-sub-${protocolVersion}-${qos}` });
      const pub = await client({ protocolVersion, clientId: `js-pub-${protocolVersion}-${qos}` });
      try {
        await sub.subscribeAsync(`js/${protocolVersion}/${qos}`, { qos });
        const received = nextMessage(sub);
        await pub.publishAsync(`js/${protocolVersion}/${qos}`, `hello ${qos}`, { qos });
        const got = await received;
        assert.deepEqual([got.topic, got.payload, got.qos], [`js/${protocolVersion}/${qos}`, `hello ${qos}`, qos]);
      } finally {
        await Promise.all([sub.endAsync(), pub.endAsync()]);
      }
    });
  }
}

test('MQTT.js 5.0: user properties and content type arrive unchanged; retained message on subscribe', async () => {
  const pub = await client({ protocolVersion: 5, clientId: 'js-props-pub' });
  await pub.publishAsync('js/props', 'kept', { qos: 1, retain: true, properties: { contentType: 'text/plain', userProperties: { k: 'v' } } });
  const sub = await client({ protocolVersion: 5, clientId: 'js-props-sub' });
  try {
    const received = nextMessage(sub);
    await sub.subscribeAsync('js/props', { qos: 1 });
    const got = await received;
    assert.equal(got.payload, 'kept');
    assert.equal(got.retain, true);
    const properties = got.properties as { contentType?: string; userProperties?: object };
    assert.deepEqual({ ...properties, userProperties: { ...properties.userProperties } }, { contentType: 'text/plain', userProperties: { k: 'v' } });
  } finally {
    await Promise.all([sub.endAsync(), pub.endAsync()]);
  }
});

test('MQTT.js 3.1.1: a will is published when its client vanishes', async () => {
  const watcher = await client({ clientId: 'js-watch' });
  await watcher.subscribeAsync('js/will', { qos: 1 });
  const dying = await client({ clientId: 'js-dying', will: { topic: 'js/will', payload: Buffer.from('bye'), qos: 1, retain: false } });
  const received = nextMessage(watcher);
  (dying as unknown as { stream: { destroy(): void } }).stream.destroy();
  try {
    assert.equal((await received).payload, 'bye');
  } finally {
    dying.end(true);
    await watcher.endAsync();
  }
});

for (const version of ['mqttv311', 'mqttv5'] as const) {
  test(`mosquitto_sub receives what mosquitto_pub sends at QoS 0/1/2 (${version})`, async (t) => {
    if (!havePeers(t, 'mosquitto_pub', 'mosquitto_sub')) return;
    const sub = run(peerPath('mosquitto_sub')!, ['-p', String(port), '-V', version, '-t', `mq/${version}/#`, '-q', '2', '-C', '3', '-v', '-W', '10']);
    await waitForOutput(broker.stderr!, new RegExp(` 2 mq/${version}/#`), 5000);
    for (const qos of ['0', '1', '2']) {
      const result = await run(peerPath('mosquitto_pub')!, ['-p', String(port), '-V', version, '-t', `mq/${version}/${qos}`, '-m', `m${qos}`, '-q', qos]);
      assert.equal(result.code, 0, result.stderr);
    }
    const result = await sub;
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.toString(), `mq/${version}/0 m0\nmq/${version}/1 m1\nmq/${version}/2 m2\n`);
  });
}

test('mosquitto_sub -c keeps a persistent session: QoS 1 messages sent while offline arrive', async (t) => {
  if (!havePeers(t, 'mosquitto_pub', 'mosquitto_sub')) return;
  const sub = peerPath('mosquitto_sub')!;
  const seed = await run(sub, ['-p', String(port), '-c', '-i', 'persist-1', '-q', '1', '-t', 'persist/t', '-E']);
  assert.equal(seed.code, 0, seed.stderr);
  const pub = await run(peerPath('mosquitto_pub')!, ['-p', String(port), '-t', 'persist/t', '-m', 'while away', '-q', '1']);
  assert.equal(pub.code, 0, pub.stderr);
  const back = await run(sub, ['-p', String(port), '-c', '-i', 'persist-1', '-q', '1', '-t', 'persist/t', '-C', '1', '-W', '5']);
  assert.equal(back.code, 0, back.stderr);
  assert.equal(back.stdout.toString(), 'while away\n');
});

const PAHO = `
import sys, threading, paho.mqtt.client as mqtt
port, version = int(sys.argv[1]), sys.argv[2]
proto = mqtt.MQTTv5 if version == '5' else mqtt.MQTTv311
got = threading.Event()
result = []
def on_message(client, userdata, msg):
    result.append('%s %s %d %d' % (msg.topic, msg.payload.decode(), msg.qos, msg.retain))
    if len(result) == 2: got.set()
sub = mqtt.Client(client_id='paho-sub-' + version, protocol=proto)
sub.on_message = on_message
sub.connect('127.0.0.1', port)
sub.loop_start()
sub.subscribe('paho/%s/#' % version, qos=2)
pub = mqtt.Client(client_id='paho-pub-' + version, protocol=proto)
pub.connect('127.0.0.1', port)
pub.loop_start()
import time
time.sleep(0.3)
pub.publish('paho/%s/retained' % version, 'r', qos=1, retain=True).wait_for_publish()
pub.publish('paho/%s/q2' % version, 'two', qos=2).wait_for_publish()
ok = got.wait(5)
pub.disconnect(); sub.disconnect(); pub.loop_stop(); sub.loop_stop()
print('\\n'.join(sorted(result)))
sys.exit(0 if ok else 3)
`;

for (const version of ['311', '5']) {
  test(`Python paho-mqtt (${version === '5' ? '5.0' : '3.1.1'}) publishes and subscribes at QoS 1 and 2`, async (t) => {
    if (!havePeers(t, 'paho')) return;
    const result = await run('/usr/bin/python3', ['-c', PAHO, String(port), version], { timeoutMs: 15000 });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.toString(), `paho/${version}/q2 two 2 0\npaho/${version}/retained r 1 0\n`);
  });
}

test('-v logs connections and subscriptions in Mosquitto\'s style', () => {
  assert.match(brokerLog, /^\d+: New client connected from 127\.0\.0\.1:\d+ as js-sub-4-0 \(p2, c1, k60\)\.$/m);
  assert.match(brokerLog, /^\d+: js-sub-5-1 1 js\/5\/1$/m);
});

test('mqx broker exits 0 on SIGTERM, with a client connected, after logging that it terminates', async () => {
  const ownPort = await freePort();
  const child = spawnMqx(['broker', '-p', String(ownPort)]);
  const result = collect(child, 10000);
  await waitForOutput(child.stderr!, / version \S+ running\n/);
  const connected = await connectAsync({ host: '127.0.0.1', port: ownPort, protocolVersion: 5, reconnectPeriod: 0 });
  const told = new Promise<number | undefined>((resolve) => connected.once('disconnect', (packet) => resolve(packet.reasonCode)));
  child.kill('SIGTERM');
  const done = await result;
  assert.equal(await told, 0x8b, 'a connected 5.0 client is told the server is shutting down');
  connected.end(true);
  assert.equal(done.code, 0);
  assert.match(done.stderr, /Starting in local only mode/);
  assert.match(done.stderr, /: mqx version \S+ terminating\n$/);
});

test('mqx broker -c with a missing file fails with one line naming it (the config tests are in broker-config*.test.ts)', async () => {
  const result = await runMqx(['broker', '-c', '/nonexistent/mqx-test.conf']);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /^\/nonexistent\/mqx-test\.conf: .*no such file/);
  assert.doesNotMatch(result.stderr, /at .*\.js:\d+/);
});

test('mqx broker -p with a bad port is a usage error', async () => {
  const result = await runMqx(['broker', '-p', 'abc']);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /^Error: Invalid port specified: abc\n/);
});

test('mqx broker on a port in use fails with one line', async () => {
  const result = await runMqx(['broker', '-p', String(port)]);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /Error: Address already in use/);
  assert.doesNotMatch(result.stderr, /at .*\.js:\d+/);
});

test('mqx broker --help shows usage', async () => {
  const result = await runMqx(['broker', '--help']);
  assert.equal(result.code, 0);
  assert.match(result.stdout.toString(), /Usage: mqx broker \[-c config_file\] \[-d\] \[-p port\]\.\.\. \[-v\]/);
});
