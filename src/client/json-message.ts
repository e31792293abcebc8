// The JSON documents sub prints for a message: mosquitto_sub's %j / %J (cJSON, byte-exact) and
// mqx's own `--json` line. Pure: the caller supplies the message and the time; nothing is written.

import { cjsonBytes, cjsonNull, cjsonNumber, cjsonText, parseCJson, printCJson, type CJsonValue } from './json-cjson.js';
import { jsonTimestamp, type LocalTime } from './format-time.js';

/** A message as sub received it (MQTT.js's publish packet, reduced to what formatting needs). */
export interface ReceivedMessage {
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  retain: boolean;
  /** Packet identifier; 0 for QoS 0, as libmosquitto reports it. */
  mid: number;
  /** MQTT 5 properties as mqtt-packet parsed them, in wire order; undefined when none. */
  properties?: Record<string, unknown>;
}

/** mosquitto's property names (mosquitto_property_identifier_to_string) for MQTT.js's keys. */
export const PROPERTY_NAMES: Record<string, string> = {
  payloadFormatIndicator: 'payload-format-indicator',
  messageExpiryInterval: 'message-expiry-interval',
  contentType: 'content-type',
  responseTopic: 'response-topic',
  correlationData: 'correlation-data',
  subscriptionIdentifier: 'subscription-identifier',
  topicAlias: 'topic-alias',
};

const asArray = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

/** The "properties" object of %j/%J, in the order the properties arrived (json_print_properties). */
function propertiesObject(properties: Record<string, unknown>): CJsonValue {
  const entries: [string, CJsonValue][] = [];
  for (const [key, value] of Object.entries(properties)) {
    if (key === 'userProperties') {
      const pairs: [string, CJsonValue][] = [];
      for (const [name, values] of Object.entries(value as Record<string, string | string[]>)) {
        for (const item of asArray(values)) pairs.push([Buffer.from(name, 'utf8').toString('latin1'), cjsonText(item)]);
      }
      entries.push(['user-properties', { type: 'object', entries: pairs }]);
      continue;
    }
    const name = PROPERTY_NAMES[key];
    if (name === undefined) continue;
    for (const item of asArray(value)) {
      if (typeof item === 'boolean') entries.push([name, cjsonNumber(item ? 1 : 0)]);
      else if (typeof item === 'number') entries.push([name, cjsonNumber(item)]);
      else if (typeof item === 'string') entries.push([name, cjsonText(item)]);
      else if (Buffer.isBuffer(item)) entries.push([name, cjsonBytes(item)]);
    }
  }
  return { type: 'object', entries };
}

/**
 * mosquitto_sub's %j (escaped true: payload as a string) or %J (escaped false: payload embedded
 * as JSON). Returns null for %J when the payload is not JSON cJSON accepts.
 */
export function mosquittoJson(message: ReceivedMessage, time: LocalTime, nanoseconds: number, escaped: boolean, pretty: boolean): Buffer | null {
  const entries: [string, CJsonValue][] = [
    ['tst', cjsonBytes(jsonTimestamp(time, nanoseconds))],
    ['topic', cjsonText(message.topic)],
    ['qos', cjsonNumber(message.qos)],
    ['retain', cjsonNumber(message.retain ? 1 : 0)],
    ['payloadlen', cjsonNumber(message.payload.length)],
  ];
  if (message.qos > 0) entries.push(['mid', cjsonNumber(message.mid)]);
  if (message.properties) entries.push(['properties', propertiesObject(message.properties)]);
  let payload: CJsonValue;
  if (message.payload.length === 0) payload = cjsonNull; // libmosquitto hands over a NULL payload
  else if (escaped) payload = cjsonBytes(message.payload);
  else {
    const parsed = parseCJson(message.payload);
    if (parsed === null) return null;
    payload = parsed;
  }
  entries.push(['payload', payload]);
  return printCJson({ type: 'object', entries }, pretty);
}

// ---------------------------------------------------------------- mqx --json

/** Bytes as a string when they are valid UTF-8, else base64 (the caller marks which). */
function textOrBase64(bytes: Buffer): { text: string; base64: boolean } {
  const text = bytes.toString('utf8');
  // A round trip proves the bytes were valid UTF-8 (invalid sequences become U+FFFD).
  if (!text.includes('\ufffd') || Buffer.from(text, 'utf8').equals(bytes)) return { text, base64: false };
  return { text: bytes.toString('base64'), base64: true };
}

/** The "properties" of a --json line: mosquitto's names; binary data as UTF-8 or base64. */
function jsonProperties(properties: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(properties)) {
    if (key === 'userProperties') { out['user-properties'] = value; continue; }
    const name = PROPERTY_NAMES[key];
    if (name === undefined) continue;
    if (Buffer.isBuffer(value)) {
      const { text, base64 } = textOrBase64(value);
      out[name] = text;
      if (base64) out[`${name}-encoding`] = 'base64';
    } else if (typeof value === 'boolean') out[name] = value ? 1 : 0;
    else out[name] = value;
  }
  return out;
}

/**
 * One `mqx sub --json` line: {topic, payload, [encoding], qos, retain, [properties], received_at}.
 * The payload is a UTF-8 string, or base64 with "encoding":"base64" when it is not valid UTF-8.
 */
export function jsonLine(message: ReceivedMessage, receivedAt: Date): string {
  const { text, base64 } = textOrBase64(message.payload);
  const line: Record<string, unknown> = { topic: message.topic, payload: text };
  if (base64) line.encoding = 'base64';
  line.qos = message.qos;
  line.retain = message.retain;
  if (message.properties) line.properties = jsonProperties(message.properties);
  line.received_at = receivedAt.toISOString();
  return `${JSON.stringify(line)}\n`;
}
