// PUBREL: the client releases an inbound QoS 2 message; forget its id and answer PUBCOMP.
// The message was already routed at PUBLISH time (exactly once: duplicates were not re-routed).

import type { IPubrelPacket } from '../../codec/index.js';
import { ReasonCode } from '../../codec/index.js';
import type { Connection } from '../connection.js';
import { receivedRelease } from '../packet-log.js';
import { PUBCOMP } from './acks.js';

export function handlePubrel(connection: Connection, packet: IPubrelPacket): void {
  const packetId = packet.messageId ?? 0;
  const session = connection.session!;
  if (connection.broker.tracePackets) receivedRelease(connection, 'PUBREL', packetId);
  const known = session.deleteInboundQos2(packetId);
  if (known) connection.broker.persistence?.inboundQos2(session, packetId, false);
  // [MQTT-4.3.3-11] PUBCOMP even for an unknown id; 5.0 says which with 0x92
  connection.sendAck(PUBCOMP, packetId, known ? 0 : ReasonCode.PacketIdentifierNotFound);
}
