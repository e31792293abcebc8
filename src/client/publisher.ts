// Publishes payloads on a connected client the way mosquitto_pub does: at most `maxInflight`
// QoS 1/2 messages unacknowledged, an MQTT 5 refusal (reason >= 128) is a warning, not a failure.
// Reads no input and prints nothing itself: warnings go to the given callback.

import type { Connection } from './connect.js';
import { ClientError } from './errors.js';
import { reasonString } from './reasons.js';
import type { MqttProperties } from './properties.js';

export interface PublishSpec {
  topic: string;
  qos: 0 | 1 | 2;
  retain: boolean;
  /** MQTT 5 PUBLISH properties (from -D publish ...). */
  properties?: MqttProperties;
}

export interface PublisherOptions {
  /** Unacknowledged QoS 1/2 messages allowed at once (mosquitto -M, default 20). */
  maxInflight: number;
  /** A line for stderr, e.g. "Warning: Publish 1 failed: Not authorized." */
  warn(text: string): void;
}

/**
 * QoS 0 messages may run ahead of the socket by this many before waiting for a write to drain.
 * Each one waiting adds a 'drain' listener in MQTT.js, which warns beyond 1000 listeners.
 */
const QOS0_WINDOW = 256;

interface AckError extends Error { code?: number }
interface AckPacket { messageId?: number; properties?: { reasonString?: string } }

export class Publisher {
  private inflight = 0;
  private wake: (() => void) | null = null;
  private failure: Error | null = null;
  private readonly window: number;

  constructor(private readonly connection: Connection, private readonly spec: PublishSpec, private readonly options: PublisherOptions) {
    this.window = spec.qos === 0 ? QOS0_WINDOW : Math.max(1, options.maxInflight);
    connection.closed.then((error) => {
      this.failure ??= error ?? new ClientError('Error: The connection was lost.', 7);
      this.notify();
    });
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  private waitForChange(): Promise<void> {
    return new Promise((resolve) => { this.wake = resolve; });
  }

  private rethrowFailure(): void {
    if (this.failure) throw this.failure;
  }

  /** Starts one publish; resolves once the window has room for it (not when it is acknowledged). */
  async send(payload: Buffer): Promise<void> {
    while (this.inflight >= this.window) {
      this.rethrowFailure();
      await this.waitForChange();
    }
    this.rethrowFailure();
    this.inflight++;
    const { topic, qos, retain, properties } = this.spec;
    this.connection.client.publish(topic, payload, properties ? { qos, retain, properties } : { qos, retain }, (error?: AckError, packet?: unknown) => {
      this.inflight--;
      if (error) this.onError(error, packet as AckPacket | undefined);
      this.notify();
    });
  }

  private onError(error: AckError, packet: AckPacket | undefined): void {
    if (typeof error.code === 'number' && error.code >= 128) {
      // mosquitto_pub's on_publish: a refused message is reported and the run continues (exit 0).
      this.options.warn(`Warning: Publish ${packet?.messageId ?? 0} failed: ${reasonString(error.code)}.`);
      if (packet?.properties?.reasonString) this.options.warn(packet.properties.reasonString);
      return;
    }
    this.failure ??= new ClientError(`Error: ${error.message}`, 1);
  }

  /** Resolves when every started publish has been written (QoS 0) or acknowledged (QoS 1/2). */
  async drain(): Promise<void> {
    while (this.inflight > 0) {
      this.rethrowFailure();
      await this.waitForChange();
    }
    this.rethrowFailure();
  }
}
