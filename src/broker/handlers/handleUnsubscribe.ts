// UNSUBSCRIBE: remove each filter; 5.0 UNSUBACK says 0x00 or 0x11 (no subscription existed) per filter.
// Must not touch queued messages: those already matched stay queued [MQTT-3.10.4-3].

import type { IUnsubscribePacket } from '../../codec/index.js';
import { MqttError, ReasonCode, isWellFormedUtf8 } from '../../codec/index.js';
import type { Connection } from '../connection.js';
import { mountTopic } from '../mount-point.js';
import { receivedUnsubscribe, unsubscribeFilter } from '../packet-log.js';

export function handleUnsubscribe(connection: Connection, packet: IUnsubscribePacket): void {
  if (connection.broker.tracePackets) receivedUnsubscribe(connection);
  const packetId = packet.messageId ?? 0;
  if (packetId === 0) throw new MqttError(ReasonCode.ProtocolError, 'UNSUBSCRIBE without packet identifier'); // [MQTT-2.2.1-3]
  // [MQTT-3.10.3-2] at least one filter
  if (packet.unsubscriptions.length === 0) throw new MqttError(ReasonCode.ProtocolError, 'UNSUBSCRIBE without topic filters');
  const broker = connection.broker;
  const codes: number[] = [];
  const mountPoint = connection.mountPoint;
  for (const requested of packet.unsubscriptions) {
    if (!isWellFormedUtf8(requested)) throw new MqttError(ReasonCode.MalformedPacket, 'invalid UTF-8 in topic filter');
    // The filter as SUBSCRIBE stored it. (Mosquitto 2.0 forgets the mount point here, so its
    // clients can never unsubscribe; mqx removes what the client subscribed to.)
    const filter = mountPoint === null ? requested : mountTopic(mountPoint, requested);
    if (broker.tracePackets) unsubscribeFilter(connection, filter);
    const removed = broker.router.remove(connection.clientId, filter);
    if (removed) broker.persistence?.unsubscribed(connection.session!, filter);
    codes.push(removed ? ReasonCode.Success : ReasonCode.NoSubscriptionExisted);
    broker.logger.log('unsubscribe', `${connection.clientId} ${filter}`);
  }
  // [MQTT-3.10.4-4] UNSUBACK with the same packet identifier
  if (connection.protocolVersion === 5) connection.send({ cmd: 'unsuback', messageId: packetId, granted: codes });
  else connection.send({ cmd: 'unsuback', messageId: packetId, granted: [] });
  broker.emit('unsubscribe', packet.unsubscriptions, connection.clientId);
}
