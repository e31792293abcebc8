// Delivery: router.match() says who wants a message; this applies authorization, QoS downgrade
// and retain-as-published, then hands it to each session. Synchronous, one encoding per group.

import { isValidTopicName } from '../codec/topics.js';
import type { QoS } from '../codec/index.js';
import type { Broker } from './broker.js';
import { FanoutCache } from './fanout.js';
import type { Message } from './message.js';
import { isExpired } from './message.js';
import type { Session } from './session.js';
import type { SubscriptionOptions } from './router.js';

/** Routes one message to every matching subscription; returns how many sessions got it. */
export function routeMessage(broker: Broker, message: Message): number {
  const deliveries = broker.router.match(message.topic, message.publisherId ?? undefined);
  const count = deliveries.length;
  if (count === 0) return 0;
  const cache = new FanoutCache(Date.now());
  const authorize = broker.options.authorize;
  const upgrade = broker.options.upgrade_outgoing_qos;
  let delivered = 0;
  for (let i = 0; i < count; i++) {
    const delivery = deliveries[i]!;
    const session = broker.sessions.get(delivery.clientId);
    if (session === undefined) continue;
    if (authorize !== undefined && !authorize(session.clientInfo, 'read', message.topic)) continue;
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
