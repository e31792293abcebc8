// Fast parsers for the hot inbound packets (PUBLISH, PUBACK/PUBREC/PUBREL/PUBCOMP, PINGREQ, PINGRESP)
// and for CONNECT (the connect rate is measured too). Each returns exactly what mqtt-packet's
// parser would, or null ("not handled": use mqtt-packet, which reports errors its way); never throws.

import type { IConnectPacket, IPublishPacket } from 'mqtt-packet';

/** The packets parseFast() recognises, shaped exactly like mqtt-packet's (incl. its null fields). */
export interface FastPublishPacket {
  cmd: 'publish';
  retain: boolean;
  qos: 0 | 1 | 2;
  dup: boolean;
  length: number;
  topic: string;
  payload: Buffer;
  messageId?: number;
  properties?: NonNullable<IPublishPacket['properties']>;
}

export interface FastAckPacket {
  cmd: 'puback' | 'pubrec' | 'pubrel' | 'pubcomp';
  retain: boolean;
  qos: 0 | 1 | 2;
  dup: boolean;
  length: number;
  topic: null;
  payload: null;
  messageId: number;
  reasonCode?: number;
}

export interface FastPingPacket {
  cmd: 'pingreq' | 'pingresp';
  retain: boolean;
  qos: 0 | 1 | 2;
  dup: boolean;
  length: number;
  topic: null;
  payload: null;
}

export type FastPacket = FastPublishPacket | FastAckPacket | FastPingPacket;

const PUBACK_PUBREC_CODES = new Set([0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99]);
const PUBREL_PUBCOMP_CODES = new Set([0x00, 0x92]);
const ACK_NAMES = { 4: 'puback', 5: 'pubrec', 6: 'pubrel', 7: 'pubcomp' } as const;

/**
 * Parses the complete frame buffer[start, end) (as found by frameLength) for a connection of
 * `protocolVersion` (3, 4 or 5). Returns null for every packet type or shape it does not handle,
 * including malformed ones, so that mqtt-packet parses them and reports errors its way.
 */
export function parseFast(buffer: Buffer, start: number, end: number, protocolVersion: number): FastPacket | null {
  const first = buffer[start]!;
  const type = first >> 4;
  if (type === 3) return parsePublish(buffer, start, end, protocolVersion, first);
  if (type >= 4 && type <= 7) return parseAck(buffer, start, end, protocolVersion, first, type as 4 | 5 | 6 | 7);
  if ((type === 12 || type === 13) && first === type << 4 && end - start === 2 && buffer[start + 1] === 0) {
    return { cmd: type === 12 ? 'pingreq' : 'pingresp', retain: false, qos: 0, dup: false, length: 0, topic: null, payload: null };
  }
  return null;
}

/** Header byte and remaining length: returns the body offset, or -1 when the frame is inconsistent. */
function bodyStart(buffer: Buffer, start: number, end: number): number {
  let value = 0;
  let multiplier = 1;
  let position = start + 1;
  for (let i = 0; i < 4 && position < end; i++, position++) {
    const byte = buffer[position]!;
    value += (byte & 0x7f) * multiplier;
    if ((byte & 0x80) === 0) return position + 1 + value === end ? position + 1 : -1;
    multiplier *= 128;
  }
  return -1;
}

function parsePublish(buffer: Buffer, start: number, end: number, version: number, first: number): FastPublishPacket | null {
  const qos = (first >> 1) & 3;
  if (qos === 3) return null;
  let position = bodyStart(buffer, start, end);
  if (position < 0) return null;
  const length = end - position;
  if (position + 2 > end) return null;
  const topicLength = (buffer[position]! << 8) | buffer[position + 1]!;
  position += 2;
  if (position + topicLength > end) return null;
  const topic = buffer.toString('utf8', position, position + topicLength);
  position += topicLength;
  const packet: FastPublishPacket = {
    cmd: 'publish', retain: (first & 1) !== 0, qos: qos as 0 | 1 | 2, dup: (first & 8) !== 0, length, topic,
    payload: buffer, // replaced below; keeps the object's shape fixed from the start
  };
  if (qos > 0) {
    if (position + 2 > end) return null;
    packet.messageId = (buffer[position]! << 8) | buffer[position + 1]!;
    position += 2;
  }
  if (version === 5) {
    position = parseProperties(buffer, position, end, packet);
    if (position < 0) return null;
  }
  packet.payload = buffer.subarray(position, end);
  return packet;
}

/** The PUBLISH properties mqtt-packet maps one to one; anything else (repeats, user properties,
 *  subscription identifiers, unknown ids) is left to mqtt-packet. Returns the payload offset or -1. */
function parseProperties(buffer: Buffer, position: number, end: number, packet: FastPublishPacket): number {
  if (position >= end) return -1;
  let propertiesLength = buffer[position]!;
  position++;
  if (propertiesLength === 0) return position;
  if (propertiesLength >= 0x80) {
    if (position >= end || buffer[position]! >= 0x80) return -1; // 3+ byte lengths: leave to mqtt-packet
    propertiesLength = (propertiesLength & 0x7f) + buffer[position]! * 128;
    position++;
  }
  const stop = position + propertiesLength;
  if (stop > end) return -1;
  const properties: NonNullable<IPublishPacket['properties']> = {};
  while (position < stop) {
    const id = buffer[position]!;
    position++;
    switch (id) {
      case 0x01: // payload format indicator (byte -> boolean)
        if (properties.payloadFormatIndicator !== undefined || position + 1 > stop) return -1;
        properties.payloadFormatIndicator = buffer[position]! !== 0;
        position += 1;
        break;
      case 0x02: // message expiry interval
        if (properties.messageExpiryInterval !== undefined || position + 4 > stop) return -1;
        properties.messageExpiryInterval = buffer.readUInt32BE(position);
        position += 4;
        break;
      case 0x23: // topic alias
        if (properties.topicAlias !== undefined || position + 2 > stop) return -1;
        properties.topicAlias = (buffer[position]! << 8) | buffer[position + 1]!;
        position += 2;
        break;
      case 0x03: // content type
      case 0x08: { // response topic
        if (position + 2 > stop) return -1;
        const size = (buffer[position]! << 8) | buffer[position + 1]!;
        if (position + 2 + size > stop) return -1;
        const text = buffer.toString('utf8', position + 2, position + 2 + size);
        if (id === 0x03) {
          if (properties.contentType !== undefined) return -1;
          properties.contentType = text;
        } else {
          if (properties.responseTopic !== undefined) return -1;
          properties.responseTopic = text;
        }
        position += 2 + size;
        break;
      }
      case 0x09: { // correlation data
        if (properties.correlationData !== undefined || position + 2 > stop) return -1;
        const size = (buffer[position]! << 8) | buffer[position + 1]!;
        if (position + 2 + size > stop) return -1;
        properties.correlationData = buffer.subarray(position + 2, position + 2 + size);
        position += 2 + size;
        break;
      }
      default:
        return -1;
    }
  }
  if (position !== stop) return -1;
  packet.properties = properties;
  return position;
}

function parseAck(buffer: Buffer, start: number, end: number, version: number, first: number, type: 4 | 5 | 6 | 7): FastAckPacket | null {
  // [MQTT-2.2.2-1] reserved flags: 0 except PUBREL's 0b0010.
  if ((first & 0x0f) !== (type === 6 ? 2 : 0)) return null;
  const position = bodyStart(buffer, start, end);
  if (position < 0) return null;
  const length = end - position;
  if (length < 2) return null;
  const cmd = ACK_NAMES[type];
  const packet: FastAckPacket = {
    cmd, retain: false, qos: type === 6 ? 1 : 0, dup: false, length, topic: null, payload: null,
    messageId: (buffer[position]! << 8) | buffer[position + 1]!,
  };
  if (version !== 5) return length === 2 ? packet : null;
  if (length === 2) {
    packet.reasonCode = 0;
    return packet;
  }
  // Reason code, then at most an empty property list: anything longer goes to mqtt-packet.
  if (length > 4 || (length === 4 && buffer[position + 3] !== 0)) return null;
  const reasonCode = buffer[position + 2]!;
  const valid = type === 4 || type === 5 ? PUBACK_PUBREC_CODES : PUBREL_PUBCOMP_CODES;
  if (!valid.has(reasonCode)) return null;
  packet.reasonCode = reasonCode;
  return packet;
}

/**
 * CONNECT without properties (any 3.1 or 3.1.1 one; a 5.0 one whose property lists are empty),
 * shaped as mqtt-packet shapes it. Anything unusual (a bridge flag, a protocol name that does not
 * go with its level, reserved or inconsistent flags, will QoS 3, properties, bytes left over, a
 * field cut short) returns null so that mqtt-packet decides, exactly as before this fast path.
 * The will payload is copied: a will lives as long as its connection, and a view would keep the
 * whole socket read buffer alive.
 */
export function parseFastConnect(buffer: Buffer, start: number, end: number): IConnectPacket | null {
  if (buffer[start] !== 0x10) return null;
  let position = bodyStart(buffer, start, end);
  if (position < 0) return null;
  const length = end - position;
  if (position + 10 > end) return null;
  const nameLength = (buffer[position]! << 8) | buffer[position + 1]!;
  let protocolId: 'MQTT' | 'MQIsdp';
  let version: 3 | 4 | 5;
  if (nameLength === 4 && buffer[position + 2] === 0x4d && buffer[position + 3] === 0x51 && buffer[position + 4] === 0x54 && buffer[position + 5] === 0x54) {
    protocolId = 'MQTT';
    const level = buffer[position + 6]!;
    if (level !== 4 && level !== 5) return null;
    version = level;
    position += 7;
  } else if (nameLength === 6 && buffer.toString('latin1', position + 2, position + 8) === 'MQIsdp') {
    if (position + 12 > end || buffer[position + 8] !== 3) return null;
    protocolId = 'MQIsdp';
    version = 3;
    position += 9;
  } else {
    return null;
  }
  const flags = buffer[position]!;
  const hasWill = (flags & 0x04) !== 0;
  const willQos = (flags >> 3) & 3;
  const willRetain = (flags & 0x20) !== 0;
  if ((flags & 0x01) !== 0 || willQos === 3 || (!hasWill && (willQos !== 0 || willRetain))) return null;
  const keepalive = (buffer[position + 1]! << 8) | buffer[position + 2]!;
  position += 3;
  if (version === 5) {
    if (position >= end || buffer[position] !== 0) return null; // connect properties: mqtt-packet
    position++;
  }
  const packet: IConnectPacket = {
    cmd: 'connect', retain: false, qos: 0, dup: false, length, topic: null, payload: null, protocolId,
    protocolVersion: version, clean: (flags & 0x02) !== 0, keepalive, clientId: '',
  } as IConnectPacket;
  if (hasWill) packet.will = { retain: willRetain, qos: willQos as 0 | 1 | 2 } as NonNullable<IConnectPacket['will']>;
  // Field by field, in wire order; `next` is where the field after the current one starts.
  let next = readField(buffer, position, end);
  if (next < 0) return null;
  packet.clientId = buffer.toString('utf8', position + 2, next);
  position = next;
  if (hasWill) {
    if (version === 5) {
      if (position >= end || buffer[position] !== 0) return null; // will properties: mqtt-packet
      position++;
    }
    next = readField(buffer, position, end);
    if (next < 0) return null;
    packet.will!.topic = buffer.toString('utf8', position + 2, next);
    position = next;
    next = readField(buffer, position, end);
    if (next < 0) return null;
    packet.will!.payload = Buffer.from(buffer.subarray(position + 2, next));
    position = next;
  }
  if ((flags & 0x80) !== 0) {
    next = readField(buffer, position, end);
    if (next < 0) return null;
    packet.username = buffer.toString('utf8', position + 2, next);
    position = next;
  }
  if ((flags & 0x40) !== 0) {
    next = readField(buffer, position, end);
    if (next < 0) return null;
    packet.password = Buffer.from(buffer.subarray(position + 2, next));
    position = next;
  }
  return position === end ? packet : null;
}

/** End of the length-prefixed field at `position`, or -1 when it does not fit before `end`. */
function readField(buffer: Buffer, position: number, end: number): number {
  if (position + 2 > end) return -1;
  const stop = position + 2 + ((buffer[position]! << 8) | buffer[position + 1]!);
  return stop > end ? -1 : stop;
}
