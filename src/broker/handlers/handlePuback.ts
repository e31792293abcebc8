// PUBACK: the client acknowledged a QoS 1 delivery; frees its inflight slot.
// Must not resend anything itself: the session drains its queue.

import type { IPubackPacket } from '../../codec/index.js';
import type { Connection } from '../connection.js';
import { receivedAck } from '../packet-log.js';

export function handlePuback(connection: Connection, packet: IPubackPacket): void {
  if (connection.broker.tracePackets) receivedAck(connection, 'PUBACK', packet.messageId ?? 0, packet.reasonCode ?? 0);
  // An unknown id is ignored, as Mosquitto does (it may be a late duplicate after a reconnect).
  connection.session!.complete(packet.messageId ?? 0);
}
