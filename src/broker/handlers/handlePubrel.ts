// PUBREL: the client releases an inbound QoS 2 message. As in Mosquitto 2.0, this is when the
// message kept at PUBLISH is routed (retained stored or cleared, subscribers, 'publish' event),
// before PUBCOMP; an id kept without its message (a store from an mqx that routed at PUBLISH)
// only completes. Must not route anything twice: the pending message is removed as it is routed.

import type { IPubrelPacket } from '../../codec/index.js';
import { ReasonCode } from '../../codec/index.js';
import type { Connection } from '../connection.js';
import { publishFromClient, storeRetained } from '../deliver.js';
import { isExpired } from '../message.js';
import { receivedRelease } from '../packet-log.js';
import { PUBCOMP } from './acks.js';

export function handlePubrel(connection: Connection, packet: IPubrelPacket): void {
  const packetId = packet.messageId ?? 0;
  const broker = connection.broker;
  const session = connection.session!;
  if (broker.tracePackets) receivedRelease(connection, 'PUBREL', packetId);
  const message = session.takeInboundQos2(packetId);
  if (message !== undefined) {
    broker.persistence?.inboundQos2Done(session, packetId);
    if (message !== null) {
      // Expired while it waited: Mosquitto still stores it as retained (never sent from there) and
      // sends it to no subscriber; routing it would send it with a remaining expiry of 0.
      if (isExpired(message, Date.now())) storeRetained(broker, message);
      else publishFromClient(connection, message);
    }
  }
  // [MQTT-4.3.3-11] PUBCOMP even for an unknown id; 5.0 says which with 0x92
  connection.sendAck(PUBCOMP, packetId, message !== undefined ? 0 : ReasonCode.PacketIdentifierNotFound);
}
