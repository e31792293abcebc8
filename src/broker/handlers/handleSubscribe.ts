// SUBSCRIBE: validate each filter, add it to the router, answer SUBACK, then send retained
// messages per Retain Handling. Never sends retained messages to shared subscriptions.

import type { ISubscribePacket } from '../../codec/index.js';
import { MqttError, ReasonCode, isWellFormedUtf8 } from '../../codec/index.js';
import { isValidTopicFilter, parseSharedFilter, topicLevelCount } from '../../codec/topics.js';
import type { Connection } from '../connection.js';
import { deliverRetained } from '../deliver.js';
import { mountTopic } from '../mount-point.js';
import { receivedSubscribe, subscribeFilter } from '../packet-log.js';
import type { SubscriptionOptions } from '../router.js';
import { MAX_TOPIC_LEVELS } from './handlePublish.js';

interface RetainedRequest {
  filter: string;
  options: SubscriptionOptions;
}

export function handleSubscribe(connection: Connection, packet: ISubscribePacket): void {
  if (connection.broker.tracePackets) receivedSubscribe(connection);
  const packetId = packet.messageId ?? 0;
  if (packetId === 0) throw new MqttError(ReasonCode.ProtocolError, 'SUBSCRIBE without packet identifier'); // [MQTT-2.2.1-3]
  // [MQTT-3.8.3-2] at least one filter
  if (packet.subscriptions.length === 0) throw new MqttError(ReasonCode.ProtocolError, 'SUBSCRIBE without topic filters');
  const broker = connection.broker;
  const version = connection.protocolVersion;
  const session = connection.session!;
  const rawId = version === 5 ? packet.properties?.subscriptionIdentifier : undefined;
  const subscriptionId = Array.isArray(rawId) ? rawId[0] : rawId;
  if (subscriptionId === 0) throw new MqttError(ReasonCode.ProtocolError, 'subscription identifier 0'); // [MQTT-3.8.2-?] 1..268435455
  const failure = version === 5 ? ReasonCode.TopicFilterInvalid : 0x80;
  const granted: number[] = [];
  const retained: RetainedRequest[] = [];
  const mountPoint = connection.mountPoint;
  for (const subscription of packet.subscriptions) {
    const requested = subscription.topic;
    if (!isWellFormedUtf8(requested)) throw new MqttError(ReasonCode.MalformedPacket, 'invalid UTF-8 in topic filter'); // [MQTT-1.5.4-1]
    const shared = parseSharedFilter(requested);
    // [MQTT-4.7.1-2] [MQTT-4.7.1-3] wildcard placement; [MQTT-4.8.2-1] share name rules. A
    // violation closes the connection (5.0: 0x81) as Mosquitto does, rather than SUBACK 0x8F.
    if (shared === null || !isValidTopicFilter(shared.filter)) throw new MqttError(ReasonCode.MalformedPacket, `invalid subscription filter '${requested}'`);
    if (topicLevelCount(shared.filter) > MAX_TOPIC_LEVELS) {
      granted.push(failure);
      continue;
    }
    // [MQTT-3.8.3-4] No Local on a shared subscription is a protocol error
    if (shared.group !== null && version === 5 && subscription.nl) throw new MqttError(ReasonCode.ProtocolError, 'no local on a shared subscription');
    // mount_point: the prefix goes before the whole filter, as in Mosquitto, so `$share/g/t`
    // there is an ordinary subscription to `<mount>$share/g/t`, not a shared one.
    const filter = mountPoint === null ? requested : mountTopic(mountPoint, requested);
    const group = mountPoint === null ? shared.group : null;
    const qos = Math.min(subscription.qos, broker.options.max_qos) as 0 | 1 | 2;
    if (broker.tracePackets) subscribeFilter(connection, filter, qos);
    const authorize = broker.options.authorize;
    if (authorize !== undefined && !authorize(session.clientInfo, 'subscribe', filter)) {
      granted.push(version === 5 ? ReasonCode.NotAuthorized : 0x80);
      continue;
    }
    const options: SubscriptionOptions = {
      qos,
      noLocal: version === 5 && subscription.nl === true,
      retainAsPublished: version === 5 && subscription.rap === true,
      retainHandling: version === 5 ? ((subscription.rh ?? 0) as 0 | 1 | 2) : 0,
      subscriptionId,
    };
    const isNew = broker.router.add(connection.clientId, filter, options);
    broker.persistence?.subscribed(session, filter, options);
    granted.push(qos); // [MQTT-3.9.3-1] one code per filter, in order
    broker.logger.log('subscribe', `${connection.clientId} ${qos} ${filter}`);
    // [MQTT-3.3.1-9] retain handling 0: always; 1: only for a new subscription; 2: never
    if (group === null && (options.retainHandling === 0 || (options.retainHandling === 1 && isNew))) {
      retained.push({ filter, options });
    }
  }
  // [MQTT-3.8.4-1] SUBACK with the same packet identifier
  connection.send({ cmd: 'suback', messageId: packetId, granted });
  for (const request of retained) deliverRetained(broker, session, request.filter, request.options);
  broker.emit('subscribe', packet.subscriptions, connection.clientId);
}
