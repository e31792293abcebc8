// Mosquitto 2.0's debug packet trace ("Received PUBLISH from ...", "Sending PUBACK to ..."), one
// function per packet and direction. Callers test broker.tracePackets first, so nothing is built when it is off.

import type { IConnackPacket, IPublishPacket, Packet } from '../codec/index.js';
import type { Connection } from './connection.js';
import { PUBACK, PUBCOMP, PUBREC, PUBREL } from './handlers/acks.js';
import { connectSummary } from './logger.js';
import type { Outgoing } from './message.js';
import { peerHost } from './transport/transport.js';

function debug(connection: Connection, message: string): void {
  connection.broker.logger.log('debug', message);
}

/** Mosquitto's `(d0, q1, r0, m1, 'topic', ... (5 bytes))` summary of a PUBLISH. */
function publishSummary(dup: boolean, qos: number, retain: boolean, packetId: number, topic: string, bytes: number): string {
  return `(d${dup ? 1 : 0}, q${qos}, r${retain ? 1 : 0}, m${packetId}, '${topic}', ... (${bytes} bytes))`;
}

/**
 * After CONNECT is accepted and before CONNACK: Mosquitto's notice "New client connected ..."
 * and its debug line on the will (topic as it will be published, mount point included).
 */
export function clientConnected(connection: Connection): void {
  const broker = connection.broker;
  if (broker.logs('notice')) {
    broker.logger.log('notice', `New client connected from ${connection.remoteAddress} as ${connection.clientId} ${connectSummary(connection.protocolVersion, connection.clean, connection.keepalive, connection.username)}.`);
  }
  if (!broker.tracePackets) return;
  const will = connection.will;
  if (will === null) {
    debug(connection, 'No will message specified.');
  } else {
    debug(connection, `Will message specified (${will.message.payload.length} bytes) (r${will.message.retain ? 1 : 0}, q${will.message.qos}).`);
    debug(connection, `\t${will.message.topic}`);
  }
}

/**
 * Who a CONNACK goes to: the client id once accepted; before that Mosquitto names the peer by
 * its address without the port.
 */
function connackName(connection: Connection): string {
  return connection.clientId !== '' ? connection.clientId : peerHost(connection.remoteAddress);
}

/** `Sending CONNACK to x (session present, reason)`, for acceptance and refusal alike. */
export function sentConnack(connection: Connection, sessionPresent: boolean, code: number): void {
  debug(connection, `Sending CONNACK to ${connackName(connection)} (${sessionPresent ? 1 : 0}, ${code})`);
}

/** The packets Connection.send() encodes (CONNACK, SUBACK, UNSUBACK, DISCONNECT): Mosquitto logs the first three. */
export function sentPacket(connection: Connection, packet: Packet): void {
  switch (packet.cmd) {
    case 'connack': {
      const ack = packet as IConnackPacket;
      sentConnack(connection, ack.sessionPresent === true, ack.reasonCode ?? ack.returnCode ?? 0);
      return;
    }
    case 'suback': debug(connection, `Sending SUBACK to ${connection.name}`); return;
    case 'unsuback': debug(connection, `Sending UNSUBACK to ${connection.name}`); return;
    default: return;
  }
}

/** A PUBLISH accepted from a client (topic after alias and mount point). */
export function receivedPublish(connection: Connection, packet: IPublishPacket, topic: string): void {
  debug(connection, `Received PUBLISH from ${connection.name} ${publishSummary(packet.dup, packet.qos, packet.retain, packet.messageId ?? 0, topic, (packet.payload as Buffer).length)}`);
}

/** A PUBLISH refused: over message_size_limit ("Dropped too large") or not authorised ("Denied"). */
export function refusedPublish(connection: Connection, packet: IPublishPacket, topic: string, tooLarge: boolean): void {
  debug(connection, `${tooLarge ? 'Dropped too large' : 'Denied'} PUBLISH from ${connection.name} ${publishSummary(packet.dup, packet.qos, packet.retain, packet.messageId ?? 0, topic, (packet.payload as Buffer).length)}`);
}

/** A PUBLISH to a subscriber (topic without the listener's mount point, as the client sees it). */
export function sentPublish(connection: Connection, out: Outgoing, dup: boolean): void {
  debug(connection, `Sending PUBLISH to ${connection.name} ${publishSummary(dup, out.qos, out.retain, out.qos > 0 ? out.packetId : 0, out.message.topic, out.message.payload.length)}`);
}

/** Notice: a PUBLISH over the client's Maximum Packet Size (Mosquitto counts the remaining length). */
export function droppedOversizePublish(connection: Connection, packetBytes: number): void {
  if (!connection.broker.logs('notice')) return;
  let header = 2; // the type byte and the shortest remaining-length varint
  while (packetBytes - header >= 128 ** (header - 1)) header++;
  const remaining = packetBytes - header;
  connection.broker.logger.log('notice', `Dropping too large outgoing PUBLISH for ${connection.name} (${remaining} bytes)`);
}

const ACK_NAMES: Readonly<Record<number, string>> = { [PUBACK]: 'PUBACK', [PUBREC]: 'PUBREC', [PUBREL]: 'PUBREL', [PUBCOMP]: 'PUBCOMP' };

/** PUBACK, PUBREC, PUBREL or PUBCOMP (acks.ts types): Mosquitto names the reason code of the first two only. */
export function sentAck(connection: Connection, type: number, packetId: number, reasonCode: number): void {
  const withReason = type === PUBACK || type === PUBREC;
  debug(connection, `Sending ${ACK_NAMES[type]} to ${connection.name} (m${packetId}${withReason ? `, rc${reasonCode}` : ''})`);
}

/** PUBACK or PUBCOMP from a subscriber. */
export function receivedAck(connection: Connection, type: 'PUBACK' | 'PUBCOMP', packetId: number, reasonCode: number): void {
  debug(connection, `Received ${type} from ${connection.name} (Mid: ${packetId}, RC:${reasonCode})`);
}

/** PUBREC or PUBREL. */
export function receivedRelease(connection: Connection, type: 'PUBREC' | 'PUBREL', packetId: number): void {
  debug(connection, `Received ${type} from ${connection.name} (Mid: ${packetId})`);
}

/** Warning (shown without -v): a PUBREC for a packet id not in flight; PUBREL is still sent. */
export function unknownPubrec(connection: Connection, packetId: number): void {
  if (!connection.broker.logs('warning')) return;
  connection.broker.logger.log('warning', `Warning: Received PUBREC from ${connection.name} for an unknown packet identifier ${packetId}.`);
}

/** Warning: a QoS 2 PUBLISH reusing the packet id of a different message still awaiting PUBREL (Mosquitto's words). */
export function reusedPacketId(connection: Connection, packetId: number): void {
  if (!connection.broker.logs('warning')) return;
  connection.broker.logger.log('warning', `Reused message ID ${packetId} from ${connection.clientId} detected. Clearing from storage.`);
}

export function receivedPingreq(connection: Connection): void {
  debug(connection, `Received PINGREQ from ${connection.name}`);
  debug(connection, `Sending PINGRESP to ${connection.name}`);
}

export function receivedDisconnect(connection: Connection): void {
  debug(connection, `Received DISCONNECT from ${connection.name}`);
}

export function receivedSubscribe(connection: Connection): void {
  debug(connection, `Received SUBSCRIBE from ${connection.name}`);
}

/** One line per filter, with the QoS after max_qos, before the ACL decides. */
export function subscribeFilter(connection: Connection, filter: string, qos: number): void {
  debug(connection, `\t${filter} (QoS ${qos})`);
}

export function receivedUnsubscribe(connection: Connection): void {
  debug(connection, `Received UNSUBSCRIBE from ${connection.name}`);
}

export function unsubscribeFilter(connection: Connection, filter: string): void {
  debug(connection, `\t${filter}`);
}
