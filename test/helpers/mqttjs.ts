// MQTT.js clients for tests: connected (or refused) without reconnecting, ended in t.after.

import { connect as mqttConnect } from 'mqtt';
import type { IClientOptions, MqttClient } from 'mqtt';
import type { TestContext } from 'node:test';

/** Resolves on CONNACK; rejects on an error or a close before it (a refused TLS 1.3 client certificate only closes). */
export function connectClient(t: TestContext, url: string | null, options: IClientOptions = {}): Promise<MqttClient> {
  const base = { reconnectPeriod: 0, connectTimeout: 5000, ...options };
  const c = url === null ? mqttConnect(base) : mqttConnect(url, base);
  t.after(() => c.endAsync(true));
  return new Promise((resolve, reject) => {
    c.once('connect', () => resolve(c));
    c.once('error', reject);
    c.once('close', () => reject(new Error('closed before CONNACK')));
  });
}

/** Subscribes `sub` at QoS 1, publishes from `pub`, resolves to the payload that arrives. */
export async function roundTrip(sub: MqttClient, pub: MqttClient, topic: string, payload: string): Promise<string> {
  await sub.subscribeAsync(topic, { qos: 1 });
  const arrived = new Promise<string>((resolve) => sub.on('message', (_topic, message) => resolve(message.toString())));
  await pub.publishAsync(topic, payload, { qos: 1 });
  return arrived;
}
