// AUTH: enhanced authentication. mqx configures no method, so CONNECT with one was already
// refused with 0x8C; an AUTH afterwards is a protocol error [MQTT-4.12.0-1].

import type { IAuthPacket } from '../../codec/index.js';
import { MqttError, ReasonCode } from '../../codec/index.js';
import type { Connection } from '../connection.js';

export function handleAuth(_connection: Connection, _packet: IAuthPacket): void {
  throw new MqttError(ReasonCode.ProtocolError, 'AUTH without an authentication method');
}
