// The one switch from packet type to handler; owns the "first packet must be CONNECT" and
// "only one CONNECT" rules. Must not implement any packet's behaviour itself.

import { MqttError, ReasonCode } from '../codec/index.js';
import type { Packet } from '../codec/index.js';
import type { Connection } from './connection.js';
import { handleConnect } from './handlers/handleConnect.js';
import { handlePublish } from './handlers/handlePublish.js';
import { handlePuback } from './handlers/handlePuback.js';
import { handlePubrec } from './handlers/handlePubrec.js';
import { handlePubrel } from './handlers/handlePubrel.js';
import { handlePubcomp } from './handlers/handlePubcomp.js';
import { handleSubscribe } from './handlers/handleSubscribe.js';
import { handleUnsubscribe } from './handlers/handleUnsubscribe.js';
import { handlePingreq } from './handlers/handlePingreq.js';
import { handleDisconnect } from './handlers/handleDisconnect.js';
import { handleAuth } from './handlers/handleAuth.js';

export function dispatch(connection: Connection, packet: Packet): void {
  if (connection.state === 'new') {
    // [MQTT-3.1.0-1] the first packet from the client MUST be CONNECT
    if (packet.cmd !== 'connect') throw new MqttError(ReasonCode.ProtocolError, `first packet was ${packet.cmd.toUpperCase()}, not CONNECT`);
    const result = handleConnect(connection, packet);
    if (result) result.catch((error: unknown) => connection.closeWithError(error));
    return;
  }
  switch (packet.cmd) {
    case 'publish': return handlePublish(connection, packet);
    case 'puback': return handlePuback(connection, packet);
    case 'pubrec': return handlePubrec(connection, packet);
    case 'pubrel': return handlePubrel(connection, packet);
    case 'pubcomp': return handlePubcomp(connection, packet);
    case 'subscribe': return handleSubscribe(connection, packet);
    case 'unsubscribe': return handleUnsubscribe(connection, packet);
    case 'pingreq': return handlePingreq(connection);
    case 'disconnect': return handleDisconnect(connection, packet);
    case 'auth': return handleAuth(connection, packet);
    // [MQTT-3.1.0-2] a second CONNECT is a protocol violation
    case 'connect': throw new MqttError(ReasonCode.ProtocolError, 'second CONNECT');
    default: throw new MqttError(ReasonCode.ProtocolError, `${String(packet.cmd).toUpperCase()} is not sent by clients`);
  }
}
