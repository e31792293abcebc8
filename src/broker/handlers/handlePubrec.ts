// PUBREC: the client received a QoS 2 delivery; answer PUBREL [MQTT-4.3.3-4].
// Must not free the inflight slot (that waits for PUBCOMP) unless the client refused it.

import type { IPubrecPacket } from '../../codec/index.js';
import { ReasonCode } from '../../codec/index.js';
import type { Connection } from '../connection.js';
import { receivedRelease, unknownPubrec } from '../packet-log.js';
import { PUBREL } from './acks.js';

export function handlePubrec(connection: Connection, packet: IPubrecPacket): void {
  const packetId = packet.messageId ?? 0;
  const failed = (packet.reasonCode ?? 0) >= 0x80;
  if (connection.broker.tracePackets) receivedRelease(connection, 'PUBREC', packetId);
  if (!connection.session!.received(packetId, failed) && !failed) {
    unknownPubrec(connection, packetId);
    connection.sendAck(PUBREL, packetId, ReasonCode.PacketIdentifierNotFound);
  }
}
