// PUBREL: the client releases an inbound QoS 2 message; forget its id and answer PUBCOMP.
// The message was already routed at PUBLISH time (exactly once: duplicates were not re-routed).

import type { IPubrelPacket } from '../../codec/index.js';
import { ReasonCode } from '../../codec/index.js';
import type { Connection } from '../connection.js';
import { receivedRelease, sentRelease } from '../packet-log.js';
import { ackBytes, PUBCOMP } from './acks.js';

export function handlePubrel(connection: Connection, packet: IPubrelPacket): void {
  const packetId = packet.messageId ?? 0;
  const session = connection.session!;
  const trace = connection.broker.tracePackets;
  if (trace) receivedRelease(connection, 'PUBREL', packetId);
  const known = session.deleteInboundQos2(packetId);
  if (known) connection.broker.persistence?.inboundQos2(session, packetId, false);
  // [MQTT-4.3.3-11] PUBCOMP even for an unknown id; 5.0 says which with 0x92
  if (trace) sentRelease(connection, 'PUBCOMP', packetId);
  connection.write(ackBytes(PUBCOMP, packetId, known ? 0 : ReasonCode.PacketIdentifierNotFound, connection.protocolVersion));
}
