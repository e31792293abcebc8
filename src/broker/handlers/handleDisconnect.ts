// DISCONNECT from the client: normal close discards the will [MQTT-3.14.4-3]; 5.0 reason 0x04
// keeps it; a new Session Expiry Interval may be set, but not from 0 [MQTT-3.14.2-2].

import type { IDisconnectPacket } from '../../codec/index.js';
import { MqttError, ReasonCode } from '../../codec/index.js';
import type { Connection } from '../connection.js';
import { receivedDisconnect } from '../packet-log.js';

export function handleDisconnect(connection: Connection, packet: IDisconnectPacket): void {
  const session = connection.session!;
  const expiry = packet.properties?.sessionExpiryInterval;
  if (connection.protocolVersion === 5 && expiry !== undefined) {
    if (session.expiryInterval === 0 && expiry !== 0) {
      throw new MqttError(ReasonCode.ProtocolError, 'session expiry interval set on DISCONNECT after 0 on CONNECT');
    }
    session.expiryInterval = expiry;
  }
  if (connection.broker.tracePackets) receivedDisconnect(connection);
  const reason = connection.protocolVersion === 5 ? packet.reasonCode ?? 0 : 0;
  connection.disconnectedNormally = reason !== ReasonCode.DisconnectWithWill;
  if (connection.broker.logs('notice')) connection.broker.logger.log('notice', `Client ${connection.name} disconnected.`);
  connection.close(null);
}
