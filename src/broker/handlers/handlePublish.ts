// PUBLISH from a client: topic alias, validation, authorization, then routing (QoS 0/1) or keeping
// it until PUBREL (QoS 2, as Mosquitto 2.0), and the PUBACK/PUBREC answer (5.0 reason codes).
// QoS 0 stays synchronous. Must not route a QoS 2 message: handlePubrel does.

import { isUtf8 } from 'node:buffer';
import type { IPublishPacket, PublishProperties } from '../../codec/index.js';
import { MqttError, ReasonCode, isWellFormedUtf8 } from '../../codec/index.js';
import { isValidTopicName, topicLevelCount } from '../../codec/topics.js';
import type { Connection } from '../connection.js';
import { hasReceivers, publishFromClient } from '../deliver.js';
import type { Message } from '../message.js';
import { mountTopic } from '../mount-point.js';
import { mayWrite } from '../write-access.js';
import { receivedPublish, refusedPublish, reusedPacketId } from '../packet-log.js';
import { PUBACK, PUBREC } from './acks.js';

/** Mosquitto's topic hierarchy limit. */
export const MAX_TOPIC_LEVELS = 200;

export function handlePublish(connection: Connection, packet: IPublishPacket): void {
  const broker = connection.broker;
  const options = broker.options;
  const session = connection.session!;
  const version = connection.protocolVersion;
  const qos = packet.qos;
  const packetId = packet.messageId ?? 0;
  if (qos > 0 && packetId === 0) throw new MqttError(ReasonCode.ProtocolError, 'PUBLISH without packet identifier'); // [MQTT-2.2.1-3]
  if (qos > options.max_qos) throw new MqttError(ReasonCode.QoSNotSupported, `QoS ${qos} is not supported`); // [MQTT-3.2.2-11]
  const properties = packet.properties;
  // [MQTT-3.3.4-6] a client never sends a Subscription Identifier
  if (properties?.subscriptionIdentifier !== undefined) throw new MqttError(ReasonCode.ProtocolError, 'subscription identifier in PUBLISH from a client');
  let topic = packet.topic;
  if (version === 5 && properties?.topicAlias !== undefined) topic = resolveTopicAlias(connection, topic, properties.topicAlias);
  if (topic !== connection.lastValidTopic) {
    if (!isWellFormedUtf8(topic)) throw new MqttError(ReasonCode.MalformedPacket, 'invalid UTF-8 in topic name'); // [MQTT-1.5.4-1]
    // [MQTT-3.3.2-2] no wildcards; [MQTT-4.7.3-1] at least one character
    if (!isValidTopicName(topic) || topicLevelCount(topic) > MAX_TOPIC_LEVELS) throw new MqttError(ReasonCode.TopicNameInvalid, `invalid topic name '${topic}'`);
    connection.lastValidTopic = topic; // publishers repeat topics: validate each new one once
  }
  // mount_point: from here on (ACL, retain, routing) the topic is the full one, as in Mosquitto.
  if (connection.mountPoint !== null) topic = mountTopic(connection.mountPoint, topic);
  if (packet.retain && !options.retain_available) throw new MqttError(ReasonCode.RetainNotSupported, 'retain is not available'); // [MQTT-3.2.2-14]
  if (qos > 0 && session.inboundQos2.size !== 0) {
    const pending = session.inboundQos2.get(packetId);
    if (pending !== undefined) {
      if (qos === 2 && (pending === null || isResent(pending, topic, packet.payload as Buffer))) {
        // [MQTT-4.3.3-9] a duplicate of a message not yet released: acknowledge, keep nothing again
        if (broker.tracePackets) receivedPublish(connection, packet, topic);
        connection.sendAck(PUBREC, packetId, 0);
        return;
      }
      // Another message under an id still awaiting PUBREL: the client reused the id. Mosquitto
      // drops the pending one undelivered (with this warning) and takes the new one.
      reusedPacketId(connection, packetId);
      session.takeInboundQos2(packetId);
      broker.persistence?.inboundQos2Done(session, packetId);
    }
  }
  if (qos === 2 && version === 5 && session.inboundQos2.size >= connection.inboundQuota) {
    throw new MqttError(ReasonCode.ReceiveMaximumExceeded, 'receive maximum exceeded'); // [MQTT-3.3.4-7]
  }
  broker.metrics.publishReceived++;
  const payload = packet.payload as Buffer;
  let reason = refusal(connection, topic, payload, properties);
  if (reason === 0) {
    if (broker.tracePackets) receivedPublish(connection, packet, topic);
    const message: Message = {
      topic,
      payload,
      qos,
      retain: packet.retain,
      properties: version === 5 ? passThrough(properties) : undefined,
      expiresAt: properties?.messageExpiryInterval !== undefined ? Date.now() + properties.messageExpiryInterval * 1000 : 0,
      publisherId: connection.clientId,
      publisher: session.clientInfo, // replaced, never mutated, on each CONNECT: a snapshot
    };
    if (qos < 2) {
      const delivered = publishFromClient(connection, message);
      if (delivered === 0 && version === 5) reason = ReasonCode.NoMatchingSubscribers;
    } else {
      // Kept with the session until PUBREL (handlePubrel routes it), as Mosquitto 2.0 does; in the
      // journal before the PUBREC leaves (Connection.write holds acks until the commit).
      session.addInboundQos2(packetId, message);
      broker.persistence?.inboundQos2(session, packetId, message);
      // The 0x10 a QoS 1 message would get, as of now: whoever subscribes before PUBREL still gets it.
      if (version === 5 && !hasReceivers(broker, topic, connection.clientId)) reason = ReasonCode.NoMatchingSubscribers;
    }
  } else if (broker.tracePackets) {
    refusedPublish(connection, packet, topic, reason === ReasonCode.QuotaExceeded);
  }
  // Refused QoS 2 messages (>= 0x80) are not kept: their PUBREL gets PUBCOMP 0x92.
  if (qos === 1) connection.sendAck(PUBACK, packetId, reason);
  else if (qos === 2) connection.sendAck(PUBREC, packetId, reason);
}

/** Mosquitto's test for a resent QoS 2 PUBLISH (else the id was reused): same topic and payload. */
function isResent(pending: Message, topic: string, payload: Buffer): boolean {
  return pending.topic === topic && pending.payload.equals(payload);
}

/** [MQTT-3.3.2-7..-9] alias 1..max; an empty topic uses a known alias, a topic sets it. */
function resolveTopicAlias(connection: Connection, topic: string, alias: number): string {
  const max = connection.broker.options.max_topic_alias;
  if (alias === 0 || alias > max || connection.topicAliasesIn === null) {
    throw new MqttError(ReasonCode.TopicAliasInvalid, `topic alias ${alias} is out of range 1..${max}`);
  }
  if (topic === '') {
    const known = connection.topicAliasesIn.get(alias);
    if (known === undefined) throw new MqttError(ReasonCode.ProtocolError, `unknown topic alias ${alias}`);
    return known;
  }
  connection.topicAliasesIn.set(alias, topic);
  return topic;
}

/** Why a valid PUBLISH is not routed (0 = it is): Mosquitto's choices, as 5.0 reason codes. */
function refusal(connection: Connection, topic: string, payload: Buffer, properties: PublishProperties | undefined): number {
  const options = connection.broker.options;
  if (options.message_size_limit > 0 && payload.length > options.message_size_limit) return ReasonCode.QuotaExceeded;
  // Mosquitto's $SYS / $share rule, then the ACL (write-access.ts; wills get the same check).
  if (!mayWrite(options.authorize, connection.session!.clientInfo, topic)) return ReasonCode.NotAuthorized;
  // [MQTT-3.3.2-4] a payload announced as UTF-8 must be UTF-8
  if (properties?.payloadFormatIndicator && !isUtf8(payload)) return ReasonCode.PayloadFormatInvalid;
  return 0;
}

/** The properties forwarded to subscribers: all but Topic Alias and Subscription Identifier [MQTT-3.3.2-20]. */
function passThrough(properties: PublishProperties | undefined): PublishProperties | undefined {
  if (properties === undefined) return undefined;
  if (properties.topicAlias === undefined && properties.subscriptionIdentifier === undefined) return properties;
  const { topicAlias: _alias, subscriptionIdentifier: _ids, ...rest } = properties;
  return Object.keys(rest).length > 0 ? rest : undefined;
}
