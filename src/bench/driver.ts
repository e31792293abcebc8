// Paces the publishers: a fixed-rate schedule (-I ms, one slot per message, so late messages keep
// their intended time) or full speed limited by the inflight window (QoS 1/2) or the socket (QoS 0).

import { nowMs } from './header.js';
import type { Publisher } from './publisher.js';

export interface DriverSettings {
  intervalMs: number;
  qos: 0 | 1 | 2;
  inflight: number;
  /** Epoch ms when the warm-up ends and measurement starts. */
  measureStartMs: number;
  /** Epoch ms when sending stops (Infinity: only limits stop it). */
  endMs: number;
  /**
   * Full speed only: at most `limit` deliveries on their way to subscribers (sent x fan-out minus
   * received), so a broker is measured at the rate it sustains, not by how much it drops from
   * overflowing queues. `delivered()` counts every delivery received, warm-up included.
   */
  gate?: { limit: number; delivered: () => number };
}

/** Bytes queued on a socket above which a QoS 0 publisher waits for 'drain'. */
const HIGH_WATER_BYTES = 64 * 1024;
/** A fixed-rate publisher skips its slots (and they count as late) beyond this backlog. */
const RATE_BACKLOG_BYTES = 1024 * 1024;
/** Bytes of messages written per publisher per turn at full speed. */
const BATCH_BYTES = 16 * 1024;

export class LoadDriver {
  private finished = false;
  private resolveDone: () => void = () => {};
  readonly done: Promise<void>;
  private timer: NodeJS.Timeout | null = null;
  private endTimer: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  private readonly batch: number;
  /** Deliveries the sends so far will cause (sent x matching subscribers), for the gate. */
  private deliveriesSent = 0;
  private readonly paused = new Set<Publisher>();

  constructor(private readonly publishers: Publisher[], private readonly settings: DriverSettings) {
    this.done = new Promise((resolve) => { this.resolveDone = resolve; });
    const frameBytes = publishers[0]?.frameBytes ?? 1;
    this.batch = Math.max(1, Math.min(256, Math.floor(BATCH_BYTES / frameBytes)));
  }

  start(): void {
    const { intervalMs, endMs } = this.settings;
    if (this.publishers.length === 0) return this.finish();
    if (Number.isFinite(endMs)) this.endTimer = setTimeout(() => this.finish(), Math.max(0, endMs - nowMs()));
    if (intervalMs > 0) {
      const now = nowMs();
      // Spread the publishers over one interval, so they do not all fire in the same millisecond.
      this.publishers.forEach((publisher, i) => { publisher.scheduleStartMs = now + (intervalMs * i) / this.publishers.length; });
      this.tick();
      return;
    }
    if (this.settings.qos === 0) {
      for (const publisher of this.publishers) publisher.client.socket.on('drain', () => this.scheduleTurn());
      this.turn();
    } else {
      for (const publisher of this.publishers) this.pump(publisher);
    }
  }

  /** Stops sending now (abort, or a connection lost). */
  stop(): void {
    this.finish();
  }

  get isFinished(): boolean {
    return this.finished;
  }

  /** Messages this publisher may send before the end-to-end gate closes (Infinity without a gate). */
  private room(publisher: Publisher): number {
    const gate = this.settings.gate;
    if (gate === undefined || publisher.fanout === 0) return Infinity;
    const inTransit = this.deliveriesSent - gate.delivered();
    return Math.floor((gate.limit - inTransit) / publisher.fanout);
  }

  private send(publisher: Publisher, count: number, now: number, intendedMs: number, warmup: boolean): void {
    publisher.sendBatch(count, now, intendedMs, this.settings.intervalMs, warmup);
    this.deliveriesSent += count * publisher.fanout;
  }

  /** Deliveries arrived at a subscriber: the gate may have opened again. */
  wake(): void {
    if (this.finished || this.settings.gate === undefined || this.settings.intervalMs > 0) return;
    if (this.settings.qos === 0) return this.scheduleTurn();
    if (this.paused.size === 0) return;
    const waiting = [...this.paused];
    this.paused.clear();
    for (const publisher of waiting) this.pump(publisher);
  }

  /** Ack-clocked sending at QoS 1/2 full speed: called after each input chunk of a publisher. */
  pump(publisher: Publisher): void {
    if (this.finished || this.settings.intervalMs > 0 || this.settings.qos === 0 || publisher.done) return;
    const now = nowMs();
    if (now >= this.settings.endMs) return this.finish();
    const warmup = now < this.settings.measureStartMs;
    let count = this.settings.inflight - publisher.client.inflight;
    if (!warmup) count = Math.min(count, publisher.remaining);
    const room = this.room(publisher);
    if (room < count) {
      count = room;
      this.paused.add(publisher);
    }
    if (count > 0 && publisher.client.isOpen) this.send(publisher, count, now, now, warmup);
    if (!warmup && publisher.remaining <= 0) this.retire(publisher);
  }

  private tick(): void {
    this.timer = null;
    if (this.finished) return;
    const now = nowMs();
    if (now >= this.settings.endMs) return this.finish();
    const { intervalMs, qos, inflight } = this.settings;
    const warmup = now < this.settings.measureStartMs;
    for (const publisher of this.publishers) {
      if (publisher.done || !publisher.client.isOpen) continue;
      const due = Math.floor((now - publisher.scheduleStartMs) / intervalMs) + 1;
      let count = due - publisher.scheduled;
      if (count <= 0) continue;
      if (!warmup) count = Math.min(count, publisher.remaining);
      if (qos > 0) count = Math.min(count, inflight - publisher.client.inflight);
      else if (publisher.client.socket.writableLength > RATE_BACKLOG_BYTES) count = 0;
      if (count > 0) {
        this.send(publisher, count, now, publisher.scheduleStartMs + publisher.scheduled * intervalMs, warmup);
        publisher.scheduled += count;
      }
      if (!warmup && publisher.remaining <= 0) this.retire(publisher);
    }
    if (this.finished) return;
    this.timer = setTimeout(() => this.tick(), Math.max(1, Math.min(10, intervalMs / 4)));
  }

  private scheduleTurn(): void {
    if (this.immediate === null && !this.finished) this.immediate = setImmediate(() => this.turn());
  }

  /** QoS 0 full speed: one batch per publisher per event-loop turn, so input is still read. */
  private turn(): void {
    this.immediate = null;
    if (this.finished) return;
    const now = nowMs();
    if (now >= this.settings.endMs) return this.finish();
    const warmup = now < this.settings.measureStartMs;
    let wrote = false;
    for (const publisher of this.publishers) {
      if (publisher.done || !publisher.client.isOpen) continue;
      if (publisher.client.socket.writableLength >= HIGH_WATER_BYTES) continue;
      let count = warmup ? this.batch : Math.min(this.batch, publisher.remaining);
      count = Math.min(count, this.room(publisher));
      if (count > 0) {
        this.send(publisher, count, now, now, warmup);
        wrote = true;
      }
      if (!warmup && publisher.remaining <= 0) this.retire(publisher);
    }
    // Every socket full or the gate closed: 'drain' or wake() starts the next turn.
    if (wrote) this.scheduleTurn();
  }

  private retire(publisher: Publisher): void {
    publisher.done = true;
    if (this.publishers.every((p) => p.done)) this.finish();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.endTimer) clearTimeout(this.endTimer);
    if (this.immediate) clearImmediate(this.immediate);
    this.resolveDone();
  }
}
