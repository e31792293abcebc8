// The broker benchmark scenarios of issue 3: fan-in, fan-out, latency at a fixed rate, idle connections.
// Each takes a running broker's port, is bounded in time and count, and returns numbers (never prints).

import { Worker } from 'node:worker_threads';
import hdr from 'hdr-histogram-js';
import { connectIdle, warmConnector } from './handle-connector.mjs';
import { RawClient, connectMany, encodePublishFrame, patchPublishFrame } from './raw-client.mjs';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const now = () => Number(process.hrtime.bigint());
let runId = 0;

/** Waits until `read()` stops changing for `quietMs` (or `maxMs` passes). */
async function settle(read, quietMs = 300, maxMs = 3000) {
  const deadline = Date.now() + maxMs;
  let last = read();
  let since = Date.now();
  while (Date.now() < deadline) {
    await sleep(50);
    const value = read();
    if (value !== last) { last = value; since = Date.now(); } else if (Date.now() - since >= quietMs) break;
  }
  return last;
}

/** A subscriber in a worker thread; `received` reads its count from shared memory. */
async function threadSubscriber(port, clientId, filter, qos) {
  const shared = new SharedArrayBuffer(8);
  const counters = new Int32Array(shared);
  const worker = new Worker(new URL('./subscriber-worker.mjs', import.meta.url), { workerData: { port, clientId, filter, qos, shared } });
  await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`subscriber thread exited (${code}) before subscribing`)));
  });
  return {
    get received() { return Atomics.load(counters, 0); },
    /** Resolves once the received count is no longer `seen` (or after `ms`). */
    moved(seen, ms) {
      const wait = Atomics.waitAsync(counters, 0, seen, ms);
      return wait.async ? wait.value : Promise.resolve(wait.value);
    },
    get closed() { return Atomics.load(counters, 1) === 1; },
    async destroy() {
      worker.postMessage('stop');
      await Promise.race([new Promise((resolve) => worker.once('exit', resolve)), sleep(2000)]);
      await worker.terminate();
    },
  };
}

/**
 * Resumes publishers the gate paused once the backlog is down to `resumeAt`: as soon as the
 * subscriber's count moves (its thread wakes this one), not only on a timer tick. Resuming on a
 * 1 ms tick capped a fast broker's closed loop (mqx's 1 KiB QoS 1 fan-in: 68-122k msg/s with its
 * core a third idle). Resumed the moment the QoS 1 fan-in's backlog (at most 100) was down to 50,
 * Mosquitto 2.0.11 dropped QoS 1 messages for the subscriber ("Outgoing messages are being
 * dropped") in about one run of three; down to 25, in none of 16. Every millisecond it also
 * writes off a backlog that stopped moving for 50 ms (a broker dropped those messages), so a
 * closed loop can never deadlock on losses. Given the subscriber, sets state.onPause; returns a
 * function that stops it.
 */
function gateKeeper(state, backlog, resumeAt, subscriber) {
  let lastReceived = -1;
  let stillSince = Date.now();
  let stopped = false;
  let waiting = false;
  const resume = () => {
    if (state.paused.size === 0 || backlog() > resumeAt) return;
    const pumps = [...state.paused];
    state.paused.clear();
    for (const pump of pumps) pump();
  };
  const waitForSubscriber = () => {
    if (waiting || stopped) return;
    waiting = true;
    subscriber.moved(subscriber.received, 50).then(() => {
      waiting = false;
      if (stopped) return;
      resume();
      if (state.paused.size > 0) waitForSubscriber();
    });
  };
  if (subscriber !== undefined) state.onPause = waitForSubscriber;
  const timer = setInterval(() => {
    const received = state.receivedNow();
    if (received !== lastReceived) { lastReceived = received; stillSince = Date.now(); }
    else if (state.paused.size > 0 && Date.now() - stillSince > 50) { state.writtenOff += backlog(); stillSince = Date.now(); }
    resume();
  }, 1);
  return () => { stopped = true; clearInterval(timer); };
}

/** `count` copies of a QoS 0 frame in one buffer: written again and again, never modified. */
function repeated(frame, count) {
  return Buffer.concat(Array.from({ length: count }, () => frame));
}

/**
 * QoS 0 publisher: floods with batches, as fast as the socket drains. `gate()` (optional)
 * says how many more messages may go now (fan-out pacing); otherwise unlimited.
 */
function qos0Publisher(client, frame, state, gate = null) {
  const batchSize = 64;
  const batch = repeated(frame, batchSize);
  let waitingDrain = false;
  const pump = () => {
    if (!state.running || client.closed) return;
    for (let turns = 0; turns < 8; turns++) {
      let size = batchSize;
      if (gate !== null) {
        size = Math.min(batchSize, gate());
        if (size <= 0) { state.paused.add(pump); return; }
      }
      const ok = client.write(size === batchSize ? batch : batch.subarray(0, size * frame.length));
      state.sent += size;
      if (!ok) {
        if (!waitingDrain) {
          waitingDrain = true;
          client.socket.once('drain', () => { waitingDrain = false; pump(); });
        }
        return;
      }
    }
    setImmediate(pump);
  };
  return pump;
}

/**
 * QoS 1 publisher: at most `window` messages unacknowledged by the broker, and (through `gate`)
 * at most a bounded number not yet received by the subscriber, so no broker has to drop from a
 * full queue and the rate measured is the one it sustains. Refilled once per incoming chunk.
 */
function qos1Publisher(client, frame, state, window, gate) {
  let inflight = 0;
  let nextId = 1;
  const batchFrames = Math.min(window, 64);
  const pump = () => {
    if (!state.running || client.closed) return;
    let room = Math.min(window - inflight, gate());
    if (room <= 0) {
      if (inflight < window) { state.paused.add(pump); state.onPause?.(); }
      return;
    }
    while (room > 0) {
      const count = Math.min(room, batchFrames);
      const batch = Buffer.allocUnsafe(frame.bytes.length * count);
      for (let i = 0; i < count; i++) {
        const at = i * frame.bytes.length;
        frame.bytes.copy(batch, at);
        patchPublishFrame(batch.subarray(at), frame.idOffset, nextId, 1, false, false);
        nextId = nextId === 65535 ? 1 : nextId + 1;
      }
      client.write(batch);
      inflight += count;
      state.sent += count;
      room -= count;
    }
  };
  client.onPuback = () => { inflight--; state.acked++; };
  client.afterData = pump;
  return pump;
}

/** fan-in: `publishers` clients publish to bench/<i>, one subscriber on bench/# receives. */
export async function fanIn(broker, { qos, payloadBytes, publishers = 10, seconds = 5, warmupSeconds = 1, window = 100, endToEnd = 100 }) {
  const port = broker.port;
  const id = `fi${process.pid}-${runId++}`;
  const subscriber = await threadSubscriber(port, `${id}-sub`, 'bench/#', qos);
  const clients = await connectMany(port, `${id}-pub-`, publishers, publishers);
  const state = { running: true, sent: 0, acked: 0, writtenOff: 0, paused: new Set(), receivedNow: () => subscriber.received };
  const payload = Buffer.alloc(payloadBytes, 0x61);
  // QoS 0 is a flood (losses counted); QoS 1 is a closed loop: at most `endToEnd` messages between
  // publishers and subscriber (Mosquitto 2.0.11 drops QoS 1 for a subscriber beyond ~150 of them).
  const backlog = () => state.sent - state.writtenOff - subscriber.received;
  const gate = () => endToEnd - backlog();
  const stopGate = qos === 0 ? () => {} : gateKeeper(state, backlog, endToEnd / 4, subscriber);
  const pumps = clients.map((client, i) => {
    const frame = encodePublishFrame({ topic: `bench/${i}`, payload, qos, messageId: 1 }, 4);
    return qos === 0 ? qos0Publisher(client, frame.bytes, state) : qos1Publisher(client, frame, state, window, gate);
  });
  for (const pump of pumps) pump();
  await sleep(warmupSeconds * 1000);
  const startReceived = subscriber.received;
  const startCpu = broker.cpuSeconds();
  const start = now();
  await sleep(seconds * 1000);
  const received = subscriber.received - startReceived;
  const elapsed = (now() - start) / 1e9;
  const cpu = broker.cpuSeconds() - startCpu;
  state.running = false;
  stopGate();
  const totalReceived = await settle(() => subscriber.received);
  const result = {
    messagesPerSecond: received / elapsed,
    perCpuSecond: cpu > 0 ? received / cpu : NaN,
    cpuShare: cpu / elapsed,
    sent: state.sent,
    acked: state.acked,
    received: totalReceived,
    lost: Math.max(0, state.sent - totalReceived),
    subscriberDisconnected: subscriber.closed,
  };
  for (const client of clients) client.destroy();
  await subscriber.destroy();
  return result;
}

/** fan-out: one publisher to `subscribers` clients on one topic, QoS 0, at most `window` messages ahead. */
export async function fanOut(broker, { subscribers = 100, payloadBytes = 16, seconds = 5, warmupSeconds = 1, window = 200 }) {
  const port = broker.port;
  const id = `fo${process.pid}-${runId++}`;
  const subs = await connectMany(port, `${id}-sub-`, subscribers, 50);
  for (const sub of subs) await sub.subscribe('bench/fanout', 0);
  const publisher = await new RawClient(port, `${id}-pub`).connect();
  const state = { running: true, sent: 0, acked: 0, paused: new Set(), delivered: 0 };
  const countDelivery = () => { state.delivered++; };
  state.writtenOff = 0;
  state.receivedNow = () => state.delivered;
  const stopGate = gateKeeper(state, () => state.sent - state.writtenOff - state.delivered / subscribers, window / 2);
  for (const sub of subs) sub.onMessage = countDelivery;
  const frame = encodePublishFrame({ topic: 'bench/fanout', payload: Buffer.alloc(payloadBytes, 0x62), qos: 0 }, 4);
  // Messages every subscriber has not yet received, in whole messages.
  const gate = () => window - Math.ceil(state.sent - state.writtenOff - state.delivered / subscribers);
  qos0Publisher(publisher, frame.bytes, state, gate)();
  await sleep(warmupSeconds * 1000);
  const startDelivered = state.delivered;
  const startCpu = broker.cpuSeconds();
  const start = now();
  await sleep(seconds * 1000);
  const delivered = state.delivered - startDelivered;
  const elapsed = (now() - start) / 1e9;
  const cpu = broker.cpuSeconds() - startCpu;
  state.running = false;
  stopGate();
  const total = await settle(() => state.delivered);
  for (const client of [...subs, publisher]) client.destroy();
  return {
    deliveriesPerSecond: delivered / elapsed,
    perCpuSecond: cpu > 0 ? delivered / cpu : NaN,
    cpuShare: cpu / elapsed,
    sent: state.sent,
    delivered: total,
    lost: Math.max(0, state.sent * subscribers - total),
    subscribersDisconnected: subs.filter((sub) => sub.closed).length,
  };
}

/** latency: one publisher at `rate` msg/s to one subscriber; each payload carries its send time. */
export async function latency(broker, { rate = 5000, qos = 0, seconds = 10, warmupSeconds = 1, payloadBytes = 16 }) {
  const port = broker.port;
  const id = `lat${process.pid}-${runId++}`;
  const subscriber = await new RawClient(port, `${id}-sub`).connect();
  await subscriber.subscribe('bench/latency', qos);
  const publisher = await new RawClient(port, `${id}-pub`).connect();
  const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  const origin = now();
  const recordFrom = origin + warmupSeconds * 1e9;
  let samples = 0;
  subscriber.onMessage = (_client, buffer, payloadStart) => {
    const sentAt = buffer.readDoubleBE(payloadStart);
    if (sentAt < recordFrom) return;
    histogram.recordValue(Math.max(1, Math.round((now() - sentAt) / 1000)));
    samples++;
  };
  if (qos === 1) publisher.onPuback = () => {};
  const template = encodePublishFrame({ topic: 'bench/latency', payload: Buffer.alloc(Math.max(8, payloadBytes)), qos, messageId: 1 }, 4);
  const payloadOffset = template.bytes.length - Math.max(8, payloadBytes);
  const interval = 1e9 / rate;
  const stopAt = recordFrom + seconds * 1e9;
  let next = now();
  let nextId = 1;
  let sent = 0;
  await new Promise((resolve) => {
    const tick = () => {
      const t = now();
      if (t >= stopAt || publisher.closed) return resolve();
      // Sends what is due, then sleeps until the next millisecond: a sleeping load generator is
      // woken promptly by the scheduler when replies arrive, where a busy-waiting one would be
      // preempted on a shared core. Each payload carries its own send time, so bunching of up to
      // rate/1000 messages per tick is measured, not hidden.
      while (now() >= next) {
        const bytes = Buffer.from(template.bytes);
        if (qos > 0) {
          patchPublishFrame(bytes, template.idOffset, nextId, qos, false, false);
          nextId = nextId === 65535 ? 1 : nextId + 1;
        }
        bytes.writeDoubleBE(now(), payloadOffset);
        publisher.write(bytes);
        sent++;
        next += interval;
      }
      setTimeout(tick, 1);
    };
    tick();
  });
  await settle(() => samples, 200, 2000);
  subscriber.destroy();
  publisher.destroy();
  return {
    p50: histogram.getValueAtPercentile(50),
    p99: histogram.getValueAtPercentile(99),
    p999: histogram.getValueAtPercentile(99.9),
    max: histogram.maxValue,
    samples,
    sent,
  };
}

/**
 * idle connections: connect `count` clients (keepalive 0) into a freshly started broker, measure
 * the rate and the broker's RSS growth. The clients come from the handle connector, warmed up
 * before the first run: through net.Socket the generator cost more CPU per connection than either
 * broker and bounded the rate it measured. `generatorShare` tells whether it still did.
 * `warmupConnections` > 0 first opens and closes that many (a broker that has served clients
 * before, as the other scenarios measure after a warm-up second); 0 measures a restart storm.
 */
export async function idleConnections(broker, { count = 10000, concurrency = 100, warmupConnections = 0 }) {
  await warmConnector();
  const port = broker.port;
  const id = `idle${process.pid}-${runId++}`;
  if (warmupConnections > 0) {
    (await connectIdle(port, `${id}-before-`, warmupConnections, concurrency)).close();
    await settle(() => broker.cpuSeconds(), 300, 3000); // until the broker has handled the closes
  }
  // One connection first, so one-time allocations are not counted per connection.
  const first = await connectIdle(port, `${id}-warm`, 1);
  await sleep(1000);
  const before = broker.rss();
  const startCpu = broker.cpuSeconds();
  const startGenerator = process.cpuUsage();
  const start = now();
  const clients = await connectIdle(port, `${id}-`, count, concurrency);
  const elapsed = (now() - start) / 1e9;
  const cpu = broker.cpuSeconds() - startCpu;
  const stallShare = clients.stallMs / 1000 / elapsed;
  const generator = process.cpuUsage(startGenerator);
  await sleep(2000);
  const after = broker.rss();
  clients.close();
  first.close();
  await sleep(500);
  return {
    connectionsPerSecond: count / elapsed,
    perCpuSecond: cpu > 0 ? count / cpu : NaN,
    cpuShare: cpu / elapsed,
    generatorShare: (generator.user + generator.system) / 1e6 / elapsed,
    stallShare,
    bytesPerConnection: (after - before) / count,
    rssBefore: before,
    rssAfter: after,
  };
}
