// CONNECT: protocol checks, client identifier rules, authentication hook, session takeover or
// resumption, will, CONNACK with Mosquitto's 5.0 properties. Refusals are thrown as MqttError.

import { randomUUID } from 'node:crypto';
import type { IConnectPacket, IConnackPacket, ProtocolVersion } from '../../codec/index.js';
import { MqttError, ReasonCode, isWellFormedUtf8 } from '../../codec/index.js';
import { isValidTopicName } from '../../codec/topics.js';
import type { Connection } from '../connection.js';
import type { ClientInfo, ConnectInfo } from '../hooks.js';
import type { Message } from '../message.js';
import { mountTopic } from '../mount-point.js';
import { clientConnected } from '../packet-log.js';
import { NEVER_EXPIRES } from '../session-store.js';
import type { WillMessage } from '../session.js';

interface Accepted {
  clientId: string;
  assigned: boolean;
  serverKeepAlive: number | undefined;
}

export function handleConnect(connection: Connection, packet: IConnectPacket): Promise<void> | void {
  const options = connection.broker.options;
  const version = (packet.protocolVersion ?? 4) as ProtocolVersion;
  // Refused before the connection counts as connecting, so as Mosquitto 2.0 refuses them:
  // 'MQIsdp' goes with level 3 only and 'MQTT' with 4 and 5; another pairing is answered as an
  // unknown level, with a 3.1.1 CONNACK 0x01 [MQTT-3.1.2-2]. Will QoS 3 is malformed
  // [MQTT-3.1.2-14]: closed without CONNACK.
  if ((packet.protocolId === 'MQIsdp') !== (version === 3)) throw new MqttError(ReasonCode.UnsupportedProtocolVersion, `Invalid protocol version ${version}`);
  if (packet.will?.qos === (3 as number)) throw new MqttError(ReasonCode.QoSNotSupported, 'will QoS 3 not supported');
  connection.state = 'connecting';
  connection.protocolVersion = version;
  connection.keepalive = packet.keepalive ?? 0;
  connection.clean = packet.clean !== false;
  let clientId = packet.clientId ?? '';
  if (!isWellFormedUtf8(clientId) || (packet.username !== undefined && !isWellFormedUtf8(packet.username))) {
    throw new MqttError(ReasonCode.MalformedPacket, 'invalid UTF-8 in CONNECT'); // [MQTT-1.5.4-1]
  }
  // [MQTT-3.1.2-22] 3.1.1: a password needs a user name
  if (version < 5 && packet.password !== undefined && packet.username === undefined) throw new MqttError(ReasonCode.ProtocolError, `password without user name (client id '${clientId}')`);
  if (packet.will) {
    if (!isWellFormedUtf8(packet.will.topic)) throw new MqttError(ReasonCode.MalformedPacket, 'invalid UTF-8 in will topic');
    if (!isValidTopicName(packet.will.topic)) throw new MqttError(ReasonCode.TopicNameInvalid, `invalid will topic '${packet.will.topic}'`);
    if (packet.will.retain && !options.retain_available) throw new MqttError(ReasonCode.RetainNotSupported, 'retain is not available'); // [MQTT-3.2.2-13]
    if ((packet.will.qos ?? 0) > options.max_qos) throw new MqttError(ReasonCode.QoSNotSupported, `will QoS ${packet.will.qos ?? 0} not supported`); // [MQTT-3.2.2-12]
  }
  // Receive Maximum and Maximum Packet Size of 0 are protocol errors (MQTT 5.0 3.1.2.11.3, 3.1.2.11.4)
  if (version === 5 && (packet.properties?.receiveMaximum === 0 || packet.properties?.maximumPacketSize === 0)) {
    throw new MqttError(ReasonCode.ProtocolError, 'receive maximum or maximum packet size of 0');
  }
  // No enhanced authentication method is configured: refuse any [MQTT-4.12.0-1]
  if (version === 5 && packet.properties?.authenticationMethod !== undefined) {
    throw new MqttError(ReasonCode.BadAuthenticationMethod, `unsupported authentication method '${packet.properties.authenticationMethod}'`);
  }
  let assigned = false;
  if (clientId === '') {
    // 3.1 requires an id; 3.1.1 allows an empty one only with clean session [MQTT-3.1.3-8]; Mosquitto's allow_zero_length_clientid
    if (version === 3 || !options.allow_zero_length_clientid || (version === 4 && !connection.clean)) {
      throw new MqttError(ReasonCode.ClientIdentifierNotValid, 'empty client identifier refused');
    }
    clientId = `${options.auto_id_prefix}${randomUUID().toUpperCase()}`; // [MQTT-3.1.3-6] [MQTT-3.2.2-16]
    assigned = true;
  } else if (version === 3 && Buffer.byteLength(clientId) > 23) {
    throw new MqttError(ReasonCode.ClientIdentifierNotValid, 'MQTT 3.1 client identifier over 23 bytes');
  }
  // Mosquitto's clientid_prefixes (handle_connect.c): checked after an id is assigned, answered "not authorised".
  if (!clientId.startsWith(options.clientid_prefixes)) {
    throw new MqttError(ReasonCode.NotAuthorized, `client id '${clientId}' lacks the prefix '${options.clientid_prefixes}'`);
  }
  let serverKeepAlive: number | undefined;
  if (version === 5 && options.max_keepalive > 0 && connection.keepalive === 0) {
    // Mosquitto answers a 5.0 keep alive of 0 with Server Keep Alive = max_keepalive
    serverKeepAlive = options.max_keepalive;
    connection.keepalive = serverKeepAlive;
  } else if (options.max_keepalive > 0 && connection.keepalive > options.max_keepalive) {
    // 3.1.1 cannot be told a different keep alive: Mosquitto refuses it as "identifier rejected"
    if (version < 5) throw new MqttError(ReasonCode.ClientIdentifierNotValid, `keep alive ${connection.keepalive} over max_keepalive`);
    serverKeepAlive = options.max_keepalive; // [MQTT-3.2.2-21]
    connection.keepalive = serverKeepAlive;
  }
  // Mosquitto: a listener taking user names from certificates refuses a client without a verified one.
  if (connection.certificateUsername === null) throw new MqttError(ReasonCode.BadUserNameOrPassword, 'no verified client certificate');
  const accepted: Accepted = { clientId, assigned, serverKeepAlive };
  const authenticate = connection.broker.authenticate; // options.authenticate behind the auth_fail_limit throttle
  const anonymous = packet.username === undefined && packet.password === undefined && connection.certificateUsername === undefined;
  if (authenticate === undefined && anonymous) { finishConnect(connection, packet, accepted); return; }
  const info: ConnectInfo = {
    clientId, username: packet.username, password: packet.password, protocolVersion: version,
    remoteAddress: connection.remoteAddress, listener: connection.listener,
  };
  if (connection.certificateUsername !== undefined) info.certificateUsername = connection.certificateUsername;
  // Kept for a reload to check again (Broker.reauthenticate), as Mosquitto keeps them; an
  // anonymous client's are rebuilt from its connection then (idle connections stay small).
  if (!anonymous) connection.broker.credentials.set(connection, info);
  if (authenticate === undefined) { finishConnect(connection, packet, accepted); return; }
  const verdict = authenticate(info);
  if (typeof verdict === 'object' && verdict !== null && typeof verdict.then === 'function') {
    connection.pending = [];
    return verdict.then((result) => {
      if (connection.state !== 'connecting') return;
      checkVerdict(result);
      finishConnect(connection, packet, accepted);
    });
  }
  checkVerdict(verdict as boolean | number);
  finishConnect(connection, packet, accepted);
}

function checkVerdict(result: boolean | number | undefined): void {
  if (result === true || result === undefined || result === 0) return;
  if (result === false) throw new MqttError(ReasonCode.NotAuthorized, 'not authorised');
  throw new MqttError(result, 'authentication refused');
}

function finishConnect(connection: Connection, packet: IConnectPacket, accepted: Accepted): void {
  const broker = connection.broker;
  const options = broker.options;
  const version = connection.protocolVersion;
  const properties = version === 5 ? packet.properties : undefined;
  // use_identity_as_username / use_subject_as_username: the certificate's name replaces the CONNECT one.
  const username = typeof connection.certificateUsername === 'string' ? connection.certificateUsername : packet.username;
  let clientId = accepted.clientId;
  if (broker.usernameAsClientId(connection.listener)) {
    // Mosquitto's use_username_as_clientid, after authentication; no user name is "not authorised".
    if (username === undefined) throw new MqttError(ReasonCode.NotAuthorized, 'use_username_as_clientid needs a user name');
    clientId = username;
    accepted.clientId = username;
    accepted.assigned = false;
  }
  connection.clientId = clientId;
  connection.username = username;
  // [MQTT-3.1.4-3] an existing connection with this id is closed (5.0: DISCONNECT 0x8E)
  const existing = broker.sessions.get(clientId);
  const previous = existing?.link as Connection | null | undefined;
  let session = existing;
  if (previous && previous !== connection) {
    // Mosquitto: a takeover that resumes a persistent session does not publish the old will.
    if (!connection.clean && broker.sessions.effectiveExpiry(existing!) > 0) previous.will = null;
    previous.closeWithError(new MqttError(ReasonCode.SessionTakenOver, 'session taken over'));
    session = broker.sessions.get(clientId); // closing it may have ended the session
  }
  // [MQTT-3.1.2-4] clean start discards the old session (publishing its pending will)
  if (session && connection.clean) { broker.endSession(session); session = undefined; }
  const sessionPresent = session !== undefined; // [MQTT-3.2.2-2] [MQTT-3.2.2-3]
  const clientInfo = { clientId, username, protocolVersion: version, listener: connection.listener };
  if (session) {
    // [MQTT-3.1.3-9] reconnecting before the will delay ends cancels the will
    session.clearTimers();
    session.pendingWill = null;
    session.clientInfo = clientInfo;
  } else {
    session = broker.sessions.create(clientId, clientInfo);
  }
  session.expiryInterval = version === 5 ? properties?.sessionExpiryInterval ?? 0 : connection.clean ? 0 : NEVER_EXPIRES;
  session.sendQuota = Math.min(properties?.receiveMaximum ?? 65535, options.max_inflight_messages || 65535);
  connection.maxPacketSizeOut = properties?.maximumPacketSize ?? 0;
  connection.clientTopicAliasMaximum = properties?.topicAliasMaximum ?? 0;
  if (options.outgoing_topic_aliases && connection.clientTopicAliasMaximum > 0) connection.topicAliasesOut = new Map();
  if (version === 5 && options.max_topic_alias > 0) connection.topicAliasesIn = new Map();
  connection.will = packet.will ? buildWill(packet, session.clientInfo, connection.mountPoint) : null;
  connection.session = session;
  connection.state = 'connected';
  connection.lastActivity = Date.now(); // keep alive counts from here (before: the CONNECT deadline)
  broker.connectionAccepted(connection);
  clientConnected(connection); // Mosquitto's "New client connected" and will lines come before CONNACK
  connection.send(connack(connection, sessionPresent, accepted));
  session.attach(connection);
  broker.emit('connect', session.clientInfo);
  connection.flushPending();
}

/**
 * The will as it will be published; a listener's mount_point prefixes its topic (Mosquitto's
 * will__read). Its topic is not checked against the ACL here: Mosquitto 2.0 accepts the CONNECT
 * and checks the will when it is sent (Broker.publishWill).
 */
function buildWill(packet: IConnectPacket, publisher: ClientInfo, mountPoint: string | null): WillMessage {
  const will = packet.will!;
  const { willDelayInterval, ...rest } = will.properties ?? {};
  const payload = typeof will.payload === 'string' ? Buffer.from(will.payload) : will.payload;
  const message: Message = {
    topic: mountPoint === null ? will.topic : mountTopic(mountPoint, will.topic),
    payload,
    qos: will.qos ?? 0,
    retain: will.retain === true,
    properties: packet.protocolVersion === 5 && Object.keys(rest).length > 0 ? rest : undefined,
    // Message Expiry Interval counts from publication: set when the will is published.
    expiresAt: 0,
    publisherId: publisher.clientId,
    publisher,
  };
  return { message, delay: packet.protocolVersion === 5 ? willDelayInterval ?? 0 : 0 };
}

/** CONNACK; in 5.0 with the properties Mosquitto 2.0 sends (send_connack.c, handle_connect.c). */
function connack(connection: Connection, sessionPresent: boolean, accepted: Accepted): IConnackPacket {
  if (connection.protocolVersion < 5) return { cmd: 'connack', sessionPresent, returnCode: 0 };
  const options = connection.broker.options;
  const properties: NonNullable<IConnackPacket['properties']> = {};
  if (options.max_topic_alias > 0) properties.topicAliasMaximum = options.max_topic_alias;
  if (accepted.assigned) properties.assignedClientIdentifier = accepted.clientId;
  if (accepted.serverKeepAlive !== undefined) properties.serverKeepAlive = accepted.serverKeepAlive;
  if (!options.retain_available) properties.retainAvailable = false;
  if (options.max_packet_size > 0) properties.maximumPacketSize = options.max_packet_size;
  if (options.max_inflight_messages > 0) properties.receiveMaximum = options.max_inflight_messages;
  if (options.max_qos !== 2) properties.maximumQoS = options.max_qos;
  return { cmd: 'connack', sessionPresent, reasonCode: 0, properties };
}
