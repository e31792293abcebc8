// PINGREQ: answer PINGRESP [MQTT-3.12.4-1]. The keepalive clock was reset when bytes arrived.
// Must not do anything else.

import type { Connection } from '../connection.js';

const PINGRESP = Buffer.from([0xd0, 0x00]);

export function handlePingreq(connection: Connection): void {
  connection.write(PINGRESP);
}
