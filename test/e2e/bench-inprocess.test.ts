// mqx bench's load generator (runBench) against the in-process broker on port 0: exact counts at
// QoS 1 and 2, placeholders on the wire, sub mode beside pub mode, conn mode, refused and dying brokers.

import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import mqtt from 'mqtt';
import { WebSocketServer, createWebSocketStream } from 'ws';
import { createBroker } from '../../src/broker/broker.js';
import type { Broker } from '../../src/broker/broker.js';
import { runBench } from '../../src/bench/run.js';
import { scenarioShape } from '../../src/bench/scenarios.js';
import type { BenchPlan, ScenarioName } from '../../src/bench/types.js';
import { makeOpener } from '../../src/bench/open.js';
import type { ConnectionOptions } from '../../src/client/connection-options.js';
import { emptyPropertySet } from '../../src/client/properties.js';

async function startBroker(t: TestContext): Promise<{ broker: Broker; port: number }> {
  const broker = createBroker({ listeners: [{ port: 0, host: '127.0.0.1' }] });
  const [address] = await broker.listen();
  t.after(() => broker.close());
  return { broker, port: address!.port };
}

function plan(port: number, overrides: Partial<BenchPlan>): BenchPlan {
  return {
    mode: 'scenario', target: `127.0.0.1:${port}`, open: () => net.connect({ host: '127.0.0.1', port }),
    version: 4, keepalive: 60, clean: true, clientPrefix: `t${process.pid}_${Math.floor(Math.random() * 1e6)}`, startNumber: 0,
    publishers: 1, subscribers: 1, connections: 1, pubTopic: 'bench/%i', subTopic: 'bench/%i',
    qos: 1, retain: false, size: 64, publishIntervalMs: 0, connectIntervalMs: 0, inflight: 20, e2eWindow: 100,
    limitPerPublisher: Infinity, count: 0, durationS: 0, warmupS: 0, connectTimeoutMs: 5000, run: Math.floor(Math.random() * 0xfffff),
    ...overrides,
  };
}

function scenario(port: number, name: ScenarioName, clients: number, overrides: Partial<BenchPlan>): BenchPlan {
  const shape = scenarioShape(name, clients);
  return plan(port, { scenario: name, publishers: shape.publishers, subscribers: shape.subscribers, pubTopic: shape.pubTopic, subTopic: shape.subTopic, ...overrides });
}

for (const qos of [1, 2] as const) {
  test(`p2p at QoS ${qos}: every message sent is received exactly once, latency positive and plausible`, async (t) => {
    const { port } = await startBroker(t);
    const result = await runBench(scenario(port, 'p2p', 3, { qos, count: 1500 }));
    assert.equal(result.aborted, null);
    assert.equal(result.sent, 1500);
    assert.equal(result.acked, 1500);
    assert.equal(result.received, 1500);
    assert.equal(result.expected, 1500);
    assert.equal(result.lost, 0);
    assert.equal(result.duplicates, 0);
    assert.equal(result.out_of_order, 0);
    assert.equal(result.latency_kind, 'end-to-end');
    assert.equal(result.latency_ms.count, 1500);
    assert.ok(result.latency_ms.p50! > 0 && result.latency_ms.max! < 30_000, `latency ${JSON.stringify(result.latency_ms)}`);
    assert.ok(result.latency_ms.p50! <= result.latency_ms.p99!);
    assert.ok(result.cpu_s > 0);
  });
}

test('fan-out at QoS 1: each of 3 subscribers gets every message (sent x 3 deliveries)', async (t) => {
  const { port } = await startBroker(t);
  const result = await runBench(scenario(port, 'fan-out', 3, { qos: 1, count: 400 }));
  assert.equal(result.sent, 400);
  assert.equal(result.expected, 1200);
  assert.equal(result.received, 1200);
  assert.equal(result.lost, 0);
});

test('fan-in at a fixed rate: raw and corrected latency are both reported, sends follow the schedule', async (t) => {
  const { port } = await startBroker(t);
  const result = await runBench(scenario(port, 'fan-in', 4, { qos: 0, publishIntervalMs: 20, limitPerPublisher: 10 }));
  assert.equal(result.sent, 40);
  assert.equal(result.received, 40);
  assert.ok(result.latency_corrected_ms.p50 !== null && result.latency_corrected_ms.p50 >= 0);
  assert.ok(result.latency_corrected_ms.max! >= result.latency_ms.max! - 0.01, 'corrected is never below raw');
  assert.ok(result.duration_s >= 0.15, `10 messages at 20 ms intervals take at least 180 ms, took ${result.duration_s} s`);
});

test('pub mode expands %i %c %rand_N per client in the topics the broker sees', async (t) => {
  const { port } = await startBroker(t);
  const watcher = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
  t.after(() => watcher.endAsync());
  const topics = new Set<string>();
  watcher.on('message', (topic) => topics.add(topic));
  await watcher.subscribeAsync('ph/#', { qos: 1 });
  const result = await runBench(plan(port, { mode: 'pub', subscribers: 0, publishers: 2, startNumber: 5, clientPrefix: 'phx', pubTopic: 'ph/%i/%c/%rand_3', limitPerPublisher: 3 }));
  assert.equal(result.sent, 6);
  assert.equal(result.latency_kind, 'puback');
  const deadline = Date.now() + 5000;
  while (topics.size < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  const seen = [...topics].sort();
  assert.equal(seen.length, 2, `topics ${seen.join(' ')}`);
  assert.match(seen[0]!, /^ph\/5\/phx_pub_5\/[123]$/);
  assert.match(seen[1]!, /^ph\/6\/phx_pub_6\/[123]$/);
});

test('sub mode counts another bench\'s messages: no gaps, latency from the payload header', async (t) => {
  const { port } = await startBroker(t);
  const subscriber = runBench(plan(port, { mode: 'sub', publishers: 0, subscribers: 1, subTopic: 'feed/#', count: 600, durationS: 20 }));
  // Publish once the subscription exists: wait for the broker to route feed/#.
  const probe = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
  t.after(() => probe.endAsync());
  await new Promise((resolve) => setTimeout(resolve, 300));
  const publisher = await runBench(plan(port, { mode: 'pub', publishers: 2, subscribers: 0, pubTopic: 'feed/%i', limitPerPublisher: 300 }));
  assert.equal(publisher.sent, 600);
  const result = await subscriber;
  assert.equal(result.received, 600);
  assert.equal(result.gaps, 0);
  assert.equal(result.duplicates, 0);
  assert.equal(result.latency_ms.count, 600);
  assert.ok(result.latency_ms.p50! > 0);
});

test('conn mode: every connection succeeds and CONNACK latency is measured', async (t) => {
  const { port } = await startBroker(t);
  const result = await runBench(plan(port, { mode: 'conn', publishers: 0, subscribers: 0, connections: 25, connectIntervalMs: 1 }));
  assert.equal(result.connections.attempted, 25);
  assert.equal(result.connections.succeeded, 25);
  assert.equal(result.connections.failed, 0);
  assert.equal(result.latency_kind, 'connack');
  assert.equal(result.latency_ms.count, 25);
});

test('a refused connection ends the run with a reason and no load', async () => {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const result = await runBench(scenario(port, 'p2p', 2, { durationS: 5 }));
  assert.match(result.aborted ?? '', /could not connect: connection refused/);
  assert.equal(result.sent, 0);
  assert.ok(result.errors.some((error) => error.reason === 'connection refused'));
});

test('a broker that goes away mid-run: the run stops with "connection lost" and keeps its partial counts', async (t) => {
  const { broker, port } = await startBroker(t);
  let closing: Promise<void> | null = null;
  const result = await runBench(scenario(port, 'p2p', 2, { qos: 1, durationS: 20 }), {
    sample: () => { closing ??= broker.close(); },
  });
  await closing;
  assert.match(result.aborted ?? '', /connection lost/);
  assert.ok(result.sent > 0, 'messages were sent before the broker went away');
  assert.ok(result.duration_s < 15);
});

test('over WebSockets (--ws): the same exact counts through a ws listener', async (t) => {
  const broker = createBroker({});
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  server.on('connection', (socket) => broker.handle(createWebSocketStream(socket), { remoteAddress: '127.0.0.1', listener: 'ws' }));
  t.after(async () => {
    await broker.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const port = (server.address() as net.AddressInfo).port;
  const connection: ConnectionOptions = {
    transport: 'ws', host: '127.0.0.1', port, clientId: '', keepalive: 60, cleanSession: true, protocolVersion: 4, qos: 1,
    debug: false, quiet: false, noDelay: true, properties: emptyPropertySet(),
  };
  const open = await makeOpener(connection, ['127.0.0.1'], []);
  const result = await runBench(scenario(port, 'p2p', 2, { qos: 1, count: 500, open }));
  assert.equal(result.aborted, null);
  assert.equal(result.sent, 500);
  assert.equal(result.received, 500);
  assert.equal(result.lost, 0);
});

test('the end-to-end window holds a full-speed QoS 0 scenario to what the broker delivers: nothing lost', async (t) => {
  const { port } = await startBroker(t);
  const result = await runBench(scenario(port, 'fan-in', 4, { qos: 0, durationS: 1.2, e2eWindow: 20 }));
  assert.equal(result.aborted, null);
  assert.ok(result.sent > 0);
  assert.equal(result.lost, 0);
  assert.equal(result.received, result.sent);
  assert.ok(result.samples.length >= 1);
  for (const sample of result.samples) assert.ok(sample.inflight <= 20, `in transit ${sample.inflight} > 20`);
});
