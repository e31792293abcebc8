// PINGREQ: answer PINGRESP [MQTT-3.12.4-1]. The keepalive clock was reset when bytes arrived.
// Must not do anything else.

import type { Connection } from '../connection.js';
import { receivedPingreq } from '../packet-log.js';

const PINGRESP = Buffer.from([0xd0, 0x00]);

export function handlePingreq(connection: Connection): void {
  if (connection.broker.tracePackets) receivedPingreq(connection);
  connection.write(PINGRESP);
}
