// Fast encoders for the hot outbound packets: PUBLISH encoded once per fan-out then copied and
// patched per subscriber, and the fixed-size acks. Byte for byte what mqtt-packet generates; null when not handled.

import type { IPublishPacket } from 'mqtt-packet';
import { MAX_REMAINING_LENGTH } from './fast-frames.js';

type PublishProperties = NonNullable<IPublishPacket['properties']>;

/** What encodePublishFrame needs: mqtt-packet's IPublishPacket fields (cmd optional). */
export interface PublishFields {
  topic: string;
  payload: string | Buffer;
  qos: 0 | 1 | 2;
  retain?: boolean;
  dup?: boolean;
  messageId?: number;
  properties?: PublishProperties;
}

/** An encoded PUBLISH and where its packet identifier sits (-1 at QoS 0). */
export interface PublishFrame {
  bytes: Buffer;
  idOffset: number;
}

const PROPERTY_IDS: Record<string, number> = {
  payloadFormatIndicator: 0x01, messageExpiryInterval: 0x02, contentType: 0x03, responseTopic: 0x08,
  correlationData: 0x09, subscriptionIdentifier: 0x0b, topicAlias: 0x23, userProperties: 0x26,
};

function varintSize(value: number): number {
  return value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x200000 ? 3 : 4;
}

function writeVarint(target: Buffer, offset: number, value: number): number {
  do {
    let byte = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    target[offset++] = byte;
  } while (value > 0);
  return offset;
}

function isUint(value: unknown, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= max;
}

/** Size of one property value (without its id byte), or -1 when mqtt-packet would refuse or differ. */
function propertySize(name: string, value: unknown): number {
  switch (name) {
    case 'payloadFormatIndicator': return typeof value === 'boolean' ? 1 : -1;
    case 'messageExpiryInterval': return isUint(value, 0xffffffff) ? 4 : -1;
    case 'topicAlias': return isUint(value, 0xffff) ? 2 : -1;
    case 'subscriptionIdentifier': return isUint(value, 0x0fffffff) ? varintSize(value) : -1;
    case 'contentType':
    case 'responseTopic': return typeof value === 'string' ? 2 + Buffer.byteLength(value) : -1;
    case 'correlationData': return Buffer.isBuffer(value) ? 2 + value.length : -1;
    default: return -1;
  }
}

/** Total bytes of the properties (without their length varint), or -1 when not handled. */
function propertiesSize(properties: PublishProperties): number {
  let size = 0;
  // for...in: the same order mqtt-packet writes them in.
  for (const name in properties) {
    const value = (properties as Record<string, unknown>)[name];
    if (value === undefined) continue;
    if (name === 'userProperties') {
      if (typeof value !== 'object' || value === null) return -1;
      let pairs = 0;
      for (const key of Object.getOwnPropertyNames(value)) {
        const entry = (value as Record<string, unknown>)[key];
        const list = Array.isArray(entry) ? entry : [entry];
        for (const item of list) {
          if (typeof item !== 'string') return -1;
          size += 1 + 2 + Buffer.byteLength(key) + 2 + Buffer.byteLength(item);
          pairs++;
        }
      }
      if (pairs === 0) return -1; // mqtt-packet refuses an empty user property set
      continue;
    }
    if (Array.isArray(value)) {
      if (name !== 'subscriptionIdentifier' || value.length === 0) return -1;
      for (const item of value) {
        const itemSize = propertySize(name, item);
        if (itemSize < 0) return -1;
        size += 1 + itemSize;
      }
      continue;
    }
    const valueSize = propertySize(name, value);
    if (valueSize < 0) return -1;
    size += 1 + valueSize;
  }
  return size;
}

function writeString(target: Buffer, offset: number, text: string): number {
  const size = target.write(text, offset + 2, 'utf8');
  target.writeUInt16BE(size, offset);
  return offset + 2 + size;
}

function writeProperty(target: Buffer, offset: number, name: string, value: unknown): number {
  target[offset++] = PROPERTY_IDS[name]!;
  switch (name) {
    case 'payloadFormatIndicator': target[offset] = value ? 1 : 0; return offset + 1;
    case 'messageExpiryInterval': target.writeUInt32BE(value as number, offset); return offset + 4;
    case 'topicAlias': target.writeUInt16BE(value as number, offset); return offset + 2;
    case 'subscriptionIdentifier': return writeVarint(target, offset, value as number);
    case 'contentType':
    case 'responseTopic': return writeString(target, offset, value as string);
    default: { // correlationData
      const data = value as Buffer;
      target.writeUInt16BE(data.length, offset);
      data.copy(target, offset + 2);
      return offset + 2 + data.length;
    }
  }
}

function writeProperties(target: Buffer, offset: number, properties: PublishProperties): number {
  for (const name in properties) {
    const value = (properties as Record<string, unknown>)[name];
    if (value === undefined || value === null) continue;
    if (name === 'userProperties') {
      for (const key of Object.getOwnPropertyNames(value)) {
        const entry = (value as Record<string, unknown>)[key];
        for (const item of Array.isArray(entry) ? entry : [entry]) {
          target[offset++] = 0x26;
          offset = writeString(target, offset, key);
          offset = writeString(target, offset, item as string);
        }
      }
    } else if (Array.isArray(value)) {
      for (const item of value) offset = writeProperty(target, offset, name, item);
    } else {
      offset = writeProperty(target, offset, name, value);
    }
  }
  return offset;
}

/**
 * Encodes a PUBLISH for a connection of `protocolVersion` (3, 4, 5) exactly as mqtt-packet's
 * generate() would; null when the packet has something it does not handle (the caller then
 * uses mqtt-packet, which also reports invalid packets). At QoS 0 the bytes can go to every
 * subscriber as they are; at QoS 1/2 copy them per subscriber with copyPublishFrame.
 */
export function encodePublishFrame(packet: PublishFields, protocolVersion: number): PublishFrame | null {
  const { topic, payload, qos } = packet;
  if (typeof topic !== 'string' || (qos !== 0 && qos !== 1 && qos !== 2)) return null;
  if (typeof payload !== 'string' && !Buffer.isBuffer(payload)) return null;
  if (qos > 0 && !isUint(packet.messageId, 0xffff)) return null;
  const topicBytes = Buffer.byteLength(topic);
  if (topicBytes > 0xffff) return null;
  const payloadBytes = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
  let propertyBytes = 0;
  const properties = packet.properties;
  if (protocolVersion === 5 && properties !== undefined) {
    if (typeof properties !== 'object' || properties === null || Array.isArray(properties)) return null;
    propertyBytes = propertiesSize(properties);
    if (propertyBytes < 0) return null;
  }
  const remaining = 2 + topicBytes + (qos > 0 ? 2 : 0)
    + (protocolVersion === 5 ? varintSize(propertyBytes) + propertyBytes : 0) + payloadBytes;
  if (remaining > MAX_REMAINING_LENGTH) return null;
  const bytes = Buffer.allocUnsafe(1 + varintSize(remaining) + remaining);
  bytes[0] = 0x30 | (packet.dup ? 8 : 0) | (qos << 1) | (packet.retain ? 1 : 0);
  let offset = writeVarint(bytes, 1, remaining);
  bytes.writeUInt16BE(topicBytes, offset);
  offset += 2;
  offset += bytes.write(topic, offset, 'utf8');
  let idOffset = -1;
  if (qos > 0) {
    idOffset = offset;
    bytes.writeUInt16BE(packet.messageId!, offset);
    offset += 2;
  }
  if (protocolVersion === 5) {
    offset = writeVarint(bytes, offset, propertyBytes);
    if (propertyBytes > 0) offset = writeProperties(bytes, offset, properties!);
  }
  if (typeof payload === 'string') bytes.write(payload, offset, 'utf8');
  else payload.copy(bytes, offset);
  return { bytes, idOffset };
}

/**
 * A copy of a QoS 1/2 frame for one subscriber with its own packet identifier, DUP flag, QoS
 * (1 and 2 have the same layout) and retain flag; the template is left untouched.
 */
export function copyPublishFrame(frame: PublishFrame, messageId: number, qos: 1 | 2, dup: boolean, retain: boolean): Buffer {
  const source = frame.bytes;
  const bytes = Buffer.allocUnsafe(source.length);
  source.copy(bytes, 0);
  patchPublishFrame(bytes, frame.idOffset, messageId, qos, dup, retain);
  return bytes;
}

/** Rewrites the fixed header flags and packet identifier of a QoS 1/2 PUBLISH in place. */
export function patchPublishFrame(bytes: Buffer, idOffset: number, messageId: number, qos: 1 | 2, dup: boolean, retain: boolean): void {
  bytes[0] = 0x30 | (dup ? 8 : 0) | (qos << 1) | (retain ? 1 : 0);
  bytes[idOffset] = messageId >> 8;
  bytes[idOffset + 1] = messageId & 0xff;
}

/** Sets only the retain flag of an encoded PUBLISH (retain-as-published off, QoS 0 sharing). */
export function withRetainFlag(bytes: Buffer, retain: boolean): Buffer {
  if (((bytes[0]! & 1) !== 0) === retain) return bytes;
  const copy = Buffer.from(bytes);
  copy[0] = retain ? copy[0]! | 1 : copy[0]! & 0xfe;
  return copy;
}

const ACK_HEADERS = { puback: 0x40, pubrec: 0x50, pubrel: 0x62, pubcomp: 0x70 } as const;

/**
 * PUBACK, PUBREC, PUBREL or PUBCOMP without properties, as mqtt-packet generates
 * {cmd, messageId, reasonCode}: in 5.0 a reason code of 0 is omitted [MQTT-3.4.2-1], any
 * other is followed by an empty property length. Null for an invalid identifier or code.
 */
export function encodeAck(cmd: 'puback' | 'pubrec' | 'pubrel' | 'pubcomp', messageId: number, protocolVersion: number, reasonCode = 0): Buffer | null {
  if (!isUint(messageId, 0xffff) || !isUint(reasonCode, 0xff)) return null;
  const long = protocolVersion === 5 && reasonCode !== 0;
  const bytes = Buffer.allocUnsafe(long ? 6 : 4);
  bytes[0] = ACK_HEADERS[cmd];
  bytes[1] = long ? 4 : 2;
  bytes[2] = messageId >> 8;
  bytes[3] = messageId & 0xff;
  if (long) {
    bytes[4] = reasonCode;
    bytes[5] = 0;
  }
  return bytes;
}

/** Writes a 3.1.1-style (or 5.0 success) ack into `target` at `offset`; returns the new offset. For batching. */
export function writeAck(target: Buffer, offset: number, cmd: 'puback' | 'pubrec' | 'pubrel' | 'pubcomp', messageId: number): number {
  target[offset] = ACK_HEADERS[cmd];
  target[offset + 1] = 2;
  target[offset + 2] = messageId >> 8;
  target[offset + 3] = messageId & 0xff;
  return offset + 4;
}

const PINGRESP = Buffer.from([0xd0, 0x00]);
const PINGREQ = Buffer.from([0xc0, 0x00]);

/** The two bytes of PINGRESP; a shared buffer: write it, never modify it. */
export function encodePingresp(): Buffer {
  return PINGRESP;
}

const CONNACK_ACCEPTED = [Buffer.from([0x20, 0x02, 0x00, 0x00]), Buffer.from([0x20, 0x02, 0x01, 0x00])];

/** A 3.1/3.1.1 CONNACK; "accepted" (one per connection) is a shared buffer: write it, never modify it. */
export function encodeConnackV3(sessionPresent: boolean, returnCode: number): Buffer {
  if (returnCode === 0) return CONNACK_ACCEPTED[sessionPresent ? 1 : 0]!;
  return Buffer.from([0x20, 0x02, sessionPresent ? 1 : 0, returnCode]);
}

/** The two bytes of PINGREQ (for load generators); shared, never modify it. */
export function encodePingreq(): Buffer {
  return PINGREQ;
}
