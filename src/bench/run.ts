// Runs one benchmark plan: connects subscribers then publishers (or only connections), drives the
// load, drains, and returns what was measured. Reports progress through callbacks; never prints.

import { topicMatchesFilter } from '../codec/topics.js';
import type { BenchClient, ClientHandlers } from './client.js';
import { ErrorTally, connectMany } from './connect.js';
import { LoadDriver } from './driver.js';
import { FLAG_WARMUP, hasHeader, headerIntendedMs, headerPublisher, headerRun, headerSentMs, headerSequence, nowMs } from './header.js';
import { LatencyRecorder } from './latency.js';
import { expandPlaceholders } from './placeholders.js';
import { Publisher } from './publisher.js';
import { buildResult } from './result.js';
import { SequenceTracker } from './sequence.js';
import type { BenchPlan, BenchResult, BenchSample } from './types.js';

export interface RunHooks {
  /** A set-up step begins ("connecting 10 subscribers"): the CLI shows it in a spinner. */
  phase?(text: string): void;
  /** Once per second of the measured phase. */
  sample?(sample: BenchSample): void;
  /** Aborts the run (Ctrl-C); the partial result is still returned. */
  signal?: AbortSignal;
}

/** What one subscribing connection saw. */
export class SubscriberState {
  received = 0;
  /** Payloads without an mqx header (another tool's messages): counted, not timed. */
  foreign = 0;
  readonly tracker = new SequenceTracker();
}

/** Seconds to wait after the last send for acks and deliveries that are still on their way. */
const DRAIN_IDLE_MS = 1500;
const DRAIN_MAX_MS = 10000;

export async function runBench(plan: BenchPlan, hooks: RunHooks = {}): Promise<BenchResult> {
  const state = new RunState(plan, hooks);
  try {
    return await state.run();
  } finally {
    state.closeAll();
  }
}

class RunState {
  readonly errors = new ErrorTally();
  readonly latency: LatencyRecorder;
  readonly subscribers: SubscriberState[] = [];
  readonly publishers: Publisher[] = [];
  readonly clients: BenchClient[] = [];
  readonly samples: BenchSample[] = [];
  driver: LoadDriver | null = null;
  aborted: string | null = null;
  measureStartMs = Infinity;
  lastReceiveMs = 0;
  /** Every delivery with an mqx header, warm-up included: what the end-to-end gate counts. */
  deliveredAll = 0;
  connectedCount = 0;
  connectAttempts = 0;
  connectFirstMs = 0;
  connectLastMs = 0;
  expectedPerPublisher: number[] = [];
  private abortWaiters: (() => void)[] = [];
  private stopping = false;

  constructor(readonly plan: BenchPlan, readonly hooks: RunHooks) {
    // Only sub mode cannot know whether the publishers keep a schedule.
    this.latency = new LatencyRecorder(plan.mode === 'sub' || (plan.mode !== 'conn' && plan.publishIntervalMs > 0));
  }

  readonly handlers: ClientHandlers = {
    publish: (client, buffer, start, end, receivedMs) => {
      const subscriber = client.owner as SubscriberState;
      if (!hasHeader(buffer, start, end)) {
        subscriber.received++;
        subscriber.foreign++;
        this.lastReceiveMs = receivedMs;
        return;
      }
      this.deliveredAll++;
      if ((buffer[start + 3]! & FLAG_WARMUP) !== 0) return;
      subscriber.received++;
      this.lastReceiveMs = receivedMs;
      subscriber.tracker.see(headerRun(buffer, start), headerPublisher(buffer, start), headerSequence(buffer, start));
      this.latency.record(receivedMs, headerSentMs(buffer, start), headerIntendedMs(buffer, start));
    },
    completed: (client, id, failed, receivedMs) => {
      const publisher = client.owner as Publisher;
      if (failed) {
        publisher.failed++;
        this.errors.add('publish refused by the broker');
        return;
      }
      if (client.sentAt[id]! < this.measureStartMs) return;
      publisher.completed++;
      // pub mode has no subscriber: its latency is the PUBACK/PUBCOMP round trip.
      if (this.plan.mode === 'pub') this.latency.record(receivedMs, client.sentAt[id]!, client.intendedAt[id]!);
    },
    afterInput: (client) => {
      if (this.driver === null) return;
      if (client.owner instanceof Publisher) this.driver.pump(client.owner);
      else this.driver.wake();
    },
    closed: (_client, error) => {
      if (error === undefined || this.stopping) return;
      this.errors.add(`connection lost: ${error.message}`);
      this.abort(`connection lost: ${error.message}`);
    },
  };

  abort(reason: string): void {
    if (this.aborted !== null) return;
    this.aborted = reason;
    this.driver?.stop();
    this.wakeSleepers();
  }

  private wakeSleepers(): void {
    for (const wake of this.abortWaiters.splice(0)) wake();
  }

  /** Resolves after `ms`, or earlier on abort. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.max(0, ms));
      this.abortWaiters.push(done);
      const waiters = this.abortWaiters;
      function done() {
        clearTimeout(timer);
        const at = waiters.indexOf(done);
        if (at >= 0) waiters.splice(at, 1);
        resolve();
      }
    });
  }

  async run(): Promise<BenchResult> {
    const { plan, hooks } = this;
    const onAbort = () => this.abort('interrupted');
    hooks.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      if (plan.mode === 'conn') await this.runConnections();
      else await this.runLoad();
    } finally {
      hooks.signal?.removeEventListener('abort', onAbort);
    }
    return this.finish();
  }

  private cpuAtStart = process.cpuUsage();
  readonly runStartMs = nowMs();
  private readonly cpuAtRunStart = process.cpuUsage();
  private endMs = 0;

  private startMeasuring(atMs = nowMs()): void {
    this.measureStartMs = atMs;
    this.cpuAtStart = process.cpuUsage();
  }

  private async runConnections(): Promise<void> {
    const { plan } = this;
    this.hooks.phase?.(`opening ${plan.connections} connections`);
    this.startMeasuring();
    const sampler = this.startSampler();
    const outcome = await connectMany(plan, 'conn', plan.connections, 0, this.handlers, this.errors, (client, _n, connackMs) => {
      this.clients.push(client);
      this.connectedCount++;
      this.latency.recordRoundTrip(connackMs);
    }, () => this.aborted !== null);
    this.noteConnects(outcome.attempted, outcome.firstAttemptMs, outcome.lastConnectedMs);
    const holdUntil = this.measureStartMs + plan.durationS * 1000;
    if (plan.durationS > 0 && nowMs() < holdUntil && this.aborted === null) await this.sleep(holdUntil - nowMs());
    this.endMs = nowMs();
    clearInterval(sampler);
  }

  private noteConnects(attempted: number, firstMs: number, lastMs: number): void {
    this.connectAttempts += attempted;
    if (this.connectFirstMs === 0) this.connectFirstMs = firstMs;
    this.connectLastMs = Math.max(this.connectLastMs, lastMs);
  }

  private async runLoad(): Promise<void> {
    const { plan } = this;
    const subFilters: string[] = [];
    if (plan.subscribers > 0) {
      this.hooks.phase?.(`connecting ${plan.subscribers} subscriber${plan.subscribers === 1 ? '' : 's'}`);
      const outcome = await connectMany(plan, 'sub', plan.subscribers, 0, this.handlers, this.errors, (client, n) => {
        const subscriber = new SubscriberState();
        this.subscribers.push(subscriber);
        client.owner = subscriber;
        client.index = n;
        this.clients.push(client);
        this.connectedCount++;
      }, () => this.aborted !== null || this.errors.total > 0);
      this.noteConnects(outcome.attempted, outcome.firstAttemptMs, outcome.lastConnectedMs);
      if (this.errors.total > 0) return this.abort(`could not connect: ${this.errors.list()[0]!.reason}`);
      this.hooks.phase?.('subscribing');
      try {
        await Promise.all(this.clients.map((client) => {
          const number = plan.startNumber + client.index;
          const filter = expandPlaceholders(plan.subTopic, { index: number, clientId: `${plan.clientPrefix}_sub_${number}`, username: plan.username });
          subFilters.push(filter);
          return client.subscribe([filter], plan.qos, plan.connectTimeoutMs);
        }));
      } catch (error) {
        this.errors.add((error as Error).message);
        return this.abort((error as Error).message);
      }
    }
    if (plan.publishers > 0) {
      this.hooks.phase?.(`connecting ${plan.publishers} publisher${plan.publishers === 1 ? '' : 's'}`);
      const limits = splitCount(plan.count, plan.publishers, plan.limitPerPublisher);
      const outcome = await connectMany(plan, 'pub', plan.publishers, plan.subscribers, this.handlers, this.errors, (client, n) => {
        const number = plan.startNumber + n;
        const topic = expandPlaceholders(plan.pubTopic, { index: number, clientId: `${plan.clientPrefix}_pub_${number}`, username: plan.username });
        const publisher = new Publisher(client, n, topic, plan.qos, plan.size, plan.run, plan.version, plan.retain, limits[n]!);
        client.owner = publisher;
        this.publishers.push(publisher);
        this.clients.push(client);
        this.connectedCount++;
      }, () => this.aborted !== null || this.errors.total > 0);
      this.noteConnects(outcome.attempted, outcome.firstAttemptMs, outcome.lastConnectedMs);
      if (this.errors.total > 0) return this.abort(`could not connect: ${this.errors.list()[0]!.reason}`);
      this.publishers.sort((a, b) => a.index - b.index);
      this.expectedPerPublisher = this.publishers.map((publisher) => subFilters.filter((filter) => topicMatchesFilter(filter, publisher.topic)).length);
      this.publishers.forEach((publisher, i) => { publisher.fanout = this.expectedPerPublisher[i]!; });
    }
    if (this.aborted !== null) return;

    const warmupEnd = nowMs() + plan.warmupS * 1000;
    const endMs = plan.durationS > 0 ? warmupEnd + plan.durationS * 1000 : Infinity;
    // Sends from warmupEnd on are measured: set it before the first batch leaves.
    this.measureStartMs = warmupEnd;
    if (plan.publishers > 0) {
      const gated = plan.mode === 'scenario' && plan.publishIntervalMs === 0 && plan.e2eWindow > 0 && this.subscribers.length > 0;
      const gate = gated ? { limit: plan.e2eWindow * this.subscribers.length, delivered: () => this.deliveredAll } : undefined;
      this.driver = new LoadDriver(this.publishers, { intervalMs: plan.publishIntervalMs, qos: plan.qos, inflight: plan.inflight, measureStartMs: warmupEnd, endMs, gate });
      this.driver.start();
    }
    if (plan.warmupS > 0) {
      this.hooks.phase?.(`warming up for ${plan.warmupS} s`);
      await this.sleep(warmupEnd - nowMs());
    }
    this.hooks.phase?.('measuring');
    this.startMeasuring(warmupEnd);
    const sampler = this.startSampler();
    if (this.driver !== null) {
      await Promise.race([this.driver.done, this.sleep(Infinity === endMs ? 2 ** 31 - 1 : endMs - nowMs() + 1000)]);
      this.wakeSleepers(); // the losing sleep's timer must not keep the process alive
      this.endMs = nowMs();
      // Ctrl-C still waits (briefly) for messages on their way, so they are not counted as lost.
      if (this.aborted === null || this.aborted === 'interrupted') await this.drain();
    } else {
      // sub mode: until the duration ends, --count messages arrived, or an abort.
      const deadline = endMs;
      while (this.aborted === null && nowMs() < deadline && !(plan.count > 0 && this.totalReceived() >= plan.count)) {
        await this.sleep(Math.min(100, deadline - nowMs()));
      }
      this.endMs = nowMs();
    }
    clearInterval(sampler);
  }

  /** After the last send: wait for acks and deliveries still on their way, while they progress. */
  private async drain(): Promise<void> {
    const started = nowMs();
    let lastProgress = started;
    let lastSeen = -1;
    while (this.aborted === null || this.aborted === 'interrupted') {
      const pending = this.pendingWork();
      if (pending === 0) return;
      if (pending !== lastSeen) { lastSeen = pending; lastProgress = nowMs(); }
      if (nowMs() - lastProgress > DRAIN_IDLE_MS || nowMs() - started > DRAIN_MAX_MS) return;
      await this.sleep(20);
    }
  }

  /** Acks and deliveries still expected. */
  pendingWork(): number {
    let pending = 0;
    for (const publisher of this.publishers) pending += publisher.client.inflight;
    const expected = this.expectedDeliveries();
    if (expected !== null) pending += Math.max(0, expected - this.totalUnique());
    return pending;
  }

  expectedDeliveries(): number | null {
    if (this.plan.mode !== 'scenario') return null;
    let expected = 0;
    this.publishers.forEach((publisher, i) => { expected += publisher.sent * (this.expectedPerPublisher[i] ?? 0); });
    return expected;
  }

  totalReceived(): number {
    let received = 0;
    for (const subscriber of this.subscribers) received += subscriber.received;
    return received;
  }

  totalUnique(): number {
    let unique = 0;
    for (const subscriber of this.subscribers) unique += subscriber.tracker.unique;
    return unique;
  }

  totalSent(): number {
    let sent = 0;
    for (const publisher of this.publishers) sent += publisher.sent;
    return sent;
  }

  inflightNow(): number {
    let inflight = 0;
    for (const publisher of this.publishers) inflight += publisher.client.inflight;
    if (this.plan.qos === 0) {
      const expected = this.expectedDeliveries();
      if (expected !== null) inflight += Math.max(0, expected - this.totalReceived());
    }
    return inflight;
  }

  private startSampler(): NodeJS.Timeout {
    let previousSent = 0;
    let previousReceived = 0;
    let previousMs = this.measureStartMs;
    let second = 0;
    const timer = setInterval(() => {
      const now = nowMs();
      const sent = this.plan.mode === 'conn' ? this.connectedCount : this.totalSent();
      const received = this.totalReceived();
      const elapsed = (now - previousMs) / 1000;
      second++;
      const sample: BenchSample = {
        t: second,
        sent, received,
        sent_per_s: Math.round((sent - previousSent) / elapsed),
        received_per_s: Math.round((received - previousReceived) / elapsed),
        inflight: this.inflightNow(),
        p99_ms: this.latency.p99SoFar(),
        connected: this.connectedCount,
      };
      previousSent = sent;
      previousReceived = received;
      previousMs = now;
      this.samples.push(sample);
      this.hooks.sample?.(sample);
    }, 1000);
    return timer;
  }

  private finish(): BenchResult {
    const cpu = process.cpuUsage(Number.isFinite(this.measureStartMs) ? this.cpuAtStart : this.cpuAtRunStart);
    if (this.endMs === 0) this.endMs = nowMs();
    return buildResult(this, cpu);
  }

  get measuredEndMs(): number {
    return this.endMs;
  }

  closeAll(): void {
    this.stopping = true;
    this.driver?.stop();
    for (const client of this.clients) client.close();
  }
}

export type { RunState };

/** Per-publisher limits: --count split as evenly as possible, capped by -L. */
export function splitCount(count: number, publishers: number, limitPerPublisher: number): number[] {
  const limits: number[] = [];
  for (let i = 0; i < publishers; i++) {
    const share = count > 0 ? Math.floor(count / publishers) + (i < count % publishers ? 1 : 0) : Infinity;
    limits.push(Math.min(share, limitPerPublisher));
  }
  return limits;
}
