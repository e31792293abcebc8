// Delivery: router.match() says who wants a message; this applies authorization, QoS downgrade
// and retain-as-published, then hands it to each session (and to the retained store for a client's
// message). Synchronous, one encoding per group. Must not decide when a message is routed: the handlers do.

import { isValidTopicName } from '../codec/topics.js';
import type { QoS } from '../codec/index.js';
import type { Broker } from './broker.js';
import type { Connection } from './connection.js';
import { FanoutCache } from './fanout.js';
import type { Message } from './message.js';
import { detachPayload, isExpired } from './message.js';
import type { Session } from './session.js';
import type { SubscriptionOptions } from './router.js';

/** Routes one message to every matching subscription; returns how many sessions got it. */
export function routeMessage(broker: Broker, message: Message): number {
  const deliveries = broker.router.match(message.topic, message.publisherId ?? undefined);
  const count = deliveries.length;
  if (count === 0) return 0;
  const cache = new FanoutCache(Date.now());
  const upgrade = broker.options.upgrade_outgoing_qos;
  let delivered = 0;
  for (let i = 0; i < count; i++) {
    const delivery = deliveries[i]!;
    const session = receiver(broker, delivery.clientId, message.topic);
    if (session === undefined) continue;
    // [MQTT-3.8.4-8] downgrade to the subscription's QoS (Mosquitto's upgrade_outgoing_qos raises it)
    const qos = (upgrade ? delivery.qos : Math.min(message.qos, delivery.qos)) as QoS;
    // [MQTT-3.3.1-9] [MQTT-3.3.1-12] retain is 0 on normal delivery unless Retain As Published
    const retain = delivery.retainAsPublished && message.retain;
    const ids = delivery.subscriptionIds.length > 0 ? delivery.subscriptionIds.slice() : undefined;
    session.deliver(message, qos, retain, ids, delivery.sharedGroup, cache);
    delivered++;
  }
  return delivered;
}

/**
 * Whether routeMessage() would hand `topic` from `publisherId` to at least one session now (same
 * notion: a session exists and may read it), without delivering anything or moving a shared
 * group's round robin. For the 5.0 PUBREC 0x10 of a QoS 2 message that is routed only at PUBREL.
 */
export function hasReceivers(broker: Broker, topic: string, publisherId: string): boolean {
  for (const delivery of broker.router.peek(topic, publisherId)) {
    if (receiver(broker, delivery.clientId, topic) !== undefined) return true;
  }
  return false;
}

/** The session a matched subscription delivers `topic` to: it exists and may read it (the ACL). */
function receiver(broker: Broker, clientId: string, topic: string): Session | undefined {
  const authorize = broker.options.authorize;
  const session = broker.sessions.get(clientId);
  if (session === undefined || (authorize !== undefined && !authorize(session.clientInfo, 'read', topic))) return undefined;
  return session;
}

/**
 * A client's accepted message goes out: the retained store, every subscriber, and the broker's
 * 'publish' listeners. At PUBLISH for QoS 0/1, at PUBREL for QoS 2. Returns routeMessage's count.
 */
export function publishFromClient(connection: Connection, message: Message): number {
  const broker = connection.broker;
  const droppedBefore = broker.metrics.dropped;
  const delivered = broker.publishMessage(message);
  // Its messages are being dropped: the connection then yields longer between reads (connection.ts).
  if (broker.metrics.dropped !== droppedBefore) connection.causedDrops = true;
  if (broker.listenerCount('publish') > 0) broker.emit('publish', message, connection.clientId);
  return delivered;
}

/** [MQTT-3.3.1-5] a retained message is stored, or [MQTT-3.3.1-10] cleared by an empty payload. */
export function storeRetained(broker: Broker, message: Message): void {
  if (!message.retain) return;
  detachPayload(message);
  broker.retained.set(message.topic, message.payload.length === 0 ? null : message);
}

/** Sends the retained messages matching a new subscription [MQTT-3.3.1-6], retain flag set [MQTT-3.3.1-8]. */
export function deliverRetained(broker: Broker, session: Session, filter: string, options: SubscriptionOptions): void {
  const now = Date.now();
  const authorize = broker.options.authorize;
  const checkSource = broker.options.check_retain_source;
  for (const message of broker.retained.match(filter)) {
    if (isExpired(message, now)) { broker.retained.set(message.topic, null); continue; }
    if (authorize !== undefined && !authorize(session.clientInfo, 'read', message.topic)) continue;
    // check_retain_source (Mosquitto retain.c): the original publisher must still be allowed to
    // write the topic, so a revoked user's old retained messages stop going out after an ACL reload.
    const publisher = message.publisher;
    if (checkSource && authorize !== undefined && publisher != null && !authorize(publisher, 'write', message.topic)) continue;
    const qos = Math.min(message.qos, options.qos) as QoS;
    session.deliver(message, qos, true, options.subscriptionId !== undefined ? [options.subscriptionId] : undefined, null, null);
  }
}

/** A message published by the broker itself (library publish(), $SYS). */
export function brokerMessage(topic: string, payload: Buffer, qos: QoS, retain: boolean): Message {
  if (!isValidTopicName(topic)) throw new TypeError(`invalid topic name: ${JSON.stringify(topic)}`);
  return { topic, payload, qos, retain, properties: undefined, expiresAt: 0, publisherId: null, publisher: null };
}
