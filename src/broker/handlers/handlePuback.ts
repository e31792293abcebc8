// PUBACK: the client acknowledged a QoS 1 delivery; frees its inflight slot.
// Must not resend anything itself: the session drains its queue.

import type { IPubackPacket } from '../../codec/index.js';
import type { Connection } from '../connection.js';

export function handlePuback(connection: Connection, packet: IPubackPacket): void {
  // An unknown id is ignored, as Mosquitto does (it may be a late duplicate after a reconnect).
  connection.session!.complete(packet.messageId ?? 0);
}
