// PUBCOMP: the last step of an outgoing QoS 2 delivery; frees its inflight slot.
// Must not resend anything itself: the session drains its queue.

import type { IPubcompPacket } from '../../codec/index.js';
import type { Connection } from '../connection.js';
import { receivedAck } from '../packet-log.js';

export function handlePubcomp(connection: Connection, packet: IPubcompPacket): void {
  if (connection.broker.tracePackets) receivedAck(connection, 'PUBCOMP', packet.messageId ?? 0, packet.reasonCode ?? 0);
  connection.session!.complete(packet.messageId ?? 0);
}
