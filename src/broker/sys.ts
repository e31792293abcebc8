// $SYS/broker/... topics with Mosquitto's names, published retained every sys_interval seconds
// from metrics.ts. Only values that changed are republished, as Mosquitto does.

import type { Broker } from './broker.js';
import { brokerMessage } from './deliver.js';

/** Mosquitto's load averages: exponentially smoothed per-minute rates over 1, 5 and 15 minutes. */
class LoadAverage {
  readonly values = [0, 0, 0];
  private last = 0;

  update(total: number, intervalSeconds: number): void {
    const perMinute = ((total - this.last) / intervalSeconds) * 60;
    this.last = total;
    [1, 5, 15].forEach((minutes, index) => {
      const factor = Math.exp(-intervalSeconds / (minutes * 60));
      this.values[index] = this.values[index]! * factor + perMinute * (1 - factor);
    });
  }
}

const LOADS = ['messages/received', 'messages/sent', 'publish/received', 'publish/sent', 'publish/dropped', 'bytes/received', 'bytes/sent', 'connections', 'sockets'] as const;

export class SysPublisher {
  private timer: NodeJS.Timeout | null = null;
  private readonly lastValues = new Map<string, string>();
  private readonly loads = new Map<string, LoadAverage>(LOADS.map((name) => [name, new LoadAverage()]));
  private heapMaximum = 0;

  constructor(private readonly broker: Broker) {}

  start(): void {
    const interval = this.broker.options.sys_interval;
    if (interval <= 0 || this.timer !== null) return;
    this.publish();
    this.timer = setInterval(() => this.broker.guarded('publishing $SYS', () => this.publish()), interval * 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Current values of every $SYS topic (without the `$SYS/broker/` prefix). */
  values(): Record<string, string> {
    const broker = this.broker;
    const m = broker.metrics;
    let offline = 0;
    let inflight = 0;
    let stored = 0;
    let storedBytes = 0;
    for (const session of broker.sessions.values()) {
      if (!session.link) offline++;
      inflight += session.inflight.size;
      stored += session.queue.length;
      storedBytes += session.queuedBytes;
    }
    const heap = process.memoryUsage().heapUsed;
    if (heap > this.heapMaximum) this.heapMaximum = heap;
    const values: Record<string, string> = {
      version: `mqx version ${broker.options.version}`,
      uptime: `${Math.floor((Date.now() - m.startedAt) / 1000)} seconds`,
      'clients/connected': String(m.clientsConnected),
      'clients/active': String(m.clientsConnected),
      'clients/disconnected': String(offline),
      'clients/inactive': String(offline),
      'clients/total': String(m.clientsConnected + offline),
      'clients/maximum': String(m.clientsMaximum),
      'clients/expired': String(m.clientsExpired),
      'messages/received': String(m.messagesReceived),
      'messages/sent': String(m.messagesSent),
      'messages/inflight': String(inflight),
      'store/messages/count': String(stored),
      'store/messages/bytes': String(storedBytes),
      'publish/messages/received': String(m.publishReceived),
      'publish/messages/sent': String(m.publishSent),
      'publish/messages/dropped': String(m.dropped),
      'bytes/received': String(m.bytesReceived),
      'bytes/sent': String(m.bytesSent),
      'subscriptions/count': String(broker.router.count),
      'retained messages/count': String(broker.retained.size),
      'heap/current': String(heap),
      'heap/maximum': String(this.heapMaximum),
    };
    for (const [name, load] of this.loads) {
      ['1min', '5min', '15min'].forEach((span, index) => { values[`load/${name}/${span}`] = load.values[index]!.toFixed(2); });
    }
    return values;
  }

  private publish(): void {
    const m = this.broker.metrics;
    const interval = this.broker.options.sys_interval;
    const totals: Record<(typeof LOADS)[number], number> = {
      'messages/received': m.messagesReceived, 'messages/sent': m.messagesSent, 'publish/received': m.publishReceived,
      'publish/sent': m.publishSent, 'publish/dropped': m.dropped, 'bytes/received': m.bytesReceived,
      'bytes/sent': m.bytesSent, connections: m.connectionsTotal, sockets: m.sockets,
    };
    for (const name of LOADS) this.loads.get(name)!.update(totals[name], interval);
    for (const [name, value] of Object.entries(this.values())) {
      if (this.lastValues.get(name) === value) continue;
      this.lastValues.set(name, value);
      this.broker.publishMessage(brokerMessage(`$SYS/broker/${name}`, Buffer.from(value), 0, true));
    }
  }
}
