// Turns one received message into the bytes mosquitto_sub 2.0 prints for it (plain, -v, -N, -F
// with widths/flags/escapes/@-times, %j/%J, --pretty). Pure: returns bytes, writes nothing.

import { compileFormat, formatNeedsTime, type FormatOp } from './format-spec.js';
import { isoSeconds, localTime, strftimeOne, wallClock, type Instant, type LocalTime } from './format-time.js';
import { mosquittoJson, type ReceivedMessage } from './json-message.js';

export type { ReceivedMessage } from './json-message.js';
export { FormatError } from './format-spec.js';

export interface FormatSettings {
  /** -F: a compiled format; overrides verbose. */
  format?: FormatOp[];
  /** -v: `topic payload`. */
  verbose: boolean;
  /** false with -N: no newline after each message. */
  eol: boolean;
  /** --pretty: indented %j/%J. */
  pretty: boolean;
  /** Decorates the topic of -v output (colour on a terminal); never used with -F. */
  paintTopic?: (topic: string) => string;
}

/** Builds settings from the flags; throws FormatError (mosquitto's text) for a bad -F. */
export function formatSettings(flags: { format?: string; verbose?: boolean; eol?: boolean; pretty?: boolean }): FormatSettings {
  return {
    format: flags.format === undefined ? undefined : compileFormat(flags.format),
    verbose: flags.verbose ?? false,
    eol: flags.eol ?? true,
    pretty: flags.pretty ?? false,
  };
}

/** Where formatted output goes: raw bytes, or text to be written as UTF-8. */
export interface Sink {
  bytes(chunk: Buffer): void;
  text(chunk: string): void;
}

const NEWLINE = '\n';

/** printf("%d") with mosquitto's width/flag handling (formatted_print_int). */
function formatInt(value: number, op: Extract<FormatOp, { kind: 'field' }>): string {
  const digits = String(value);
  if (op.width === 0) return digits;
  if (op.left) return digits.padEnd(op.width, ' ');
  if (op.zero) {
    const negative = value < 0;
    const body = negative ? digits.slice(1) : digits;
    return (negative ? '-' : '') + body.padStart(op.width - (negative ? 1 : 0), '0');
  }
  return digits.padStart(op.width, ' ');
}

/** printf("%*.*s") on bytes (formatted_print_str). */
function formatString(bytes: string, op: Extract<FormatOp, { kind: 'field' }>): string {
  const value = op.precision >= 0 ? bytes.slice(0, op.precision) : bytes;
  return op.left ? value.padEnd(op.width, ' ') : value.padStart(op.width, ' ');
}

/** formatted_print_blank: what a missing MQTT 5 property prints. */
const blank = (fill: string, width: number) => fill.repeat(width);

const HEX_LOWER = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));
const HEX_UPPER = HEX_LOWER.map((pair) => pair.toUpperCase());

/** write_payload: a width also caps the bytes printed (hex prints width/2 bytes), quirks kept. */
function formatPayload(payload: Buffer, hex: 0 | 1 | 2, op: Extract<FormatOp, { kind: 'field' }>): string {
  let length = payload.length;
  let padLength: number;
  if (op.width > 0) {
    if (length > op.width) length = op.width;
    if (hex > 0) {
      length = Math.floor(length / 2);
      padLength = op.width - length * 2;
    } else {
      padLength = op.width - length;
    }
  } else {
    padLength = op.width - length;
  }
  let out = '';
  if (!op.left && padLength > 0) out += (op.zero ? '0' : ' ').repeat(padLength);
  if (hex === 0) out += payload.toString('latin1', 0, length);
  else {
    const table = hex === 1 ? HEX_LOWER : HEX_UPPER;
    for (let i = 0; i < length; i++) out += table[payload[i]!];
  }
  // printf("%*s", padlen, ""): a negative width left-justifies, so |padlen| spaces either way.
  if (op.left) out += ' '.repeat(Math.abs(padLength));
  return out;
}

const latin1 = (text: string) => Buffer.from(text, 'utf8').toString('latin1');

function first<T>(value: T | T[] | undefined): T | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function propertyNumber(properties: Record<string, unknown> | undefined, key: string): number | undefined {
  const value = first(properties?.[key]);
  if (typeof value === 'boolean') return value ? 1 : 0;
  return typeof value === 'number' ? value | 0 : undefined;
}

function userProperties(properties: Record<string, unknown> | undefined): string {
  const pairs = properties?.userProperties as Record<string, string | string[]> | undefined;
  if (!pairs) return '';
  const out: string[] = [];
  for (const [name, values] of Object.entries(pairs)) {
    for (const value of Array.isArray(values) ? values : [values]) out.push(`${name}:${value}`);
  }
  return latin1(out.join(' '));
}

interface Clock {
  instant?: Instant;
  local?: LocalTime;
}

/** Renders one -F format for one message as latin1 bytes; `onError` gets %J's complaint. */
function renderFormat(ops: FormatOp[], message: ReceivedMessage, settings: FormatSettings, clock: Clock, onError: (text: string) => void): string {
  const now = () => { clock.instant ??= wallClock(); clock.local ??= localTime(clock.instant); return clock.local; };
  const properties = message.properties;
  let out = '';
  for (const op of ops) {
    if (op.kind === 'text') { out += op.bytes; continue; }
    if (op.kind === 'time') {
      const local = now();
      out += op.conversion === 'N' ? String(clock.instant!.nanoseconds).padStart(9, '0') : strftimeOne(op.conversion, local);
      continue;
    }
    switch (op.spec) {
      case 'A': case 'E': case 'F': case 'S': {
        const key = { A: 'topicAlias', E: 'messageExpiryInterval', F: 'payloadFormatIndicator', S: 'subscriptionIdentifier' }[op.spec];
        const value = propertyNumber(properties, key);
        out += value === undefined ? blank(op.zero ? '0' : ' ', op.width) : formatInt(value, op);
        break;
      }
      case 'C': {
        const value = properties?.contentType;
        out += typeof value === 'string' ? formatString(latin1(value), op) : blank(' ', op.width);
        break;
      }
      case 'R': {
        const value = properties?.responseTopic;
        if (typeof value === 'string') out += formatString(latin1(value), op);
        break;
      }
      case 'D': {
        const value = properties?.correlationData;
        if (Buffer.isBuffer(value)) out += value.toString('latin1');
        break;
      }
      case 'P': out += userProperties(properties); break;
      case 'I': out += formatString(isoSeconds(now()), op); break;
      case 'U': { now(); out += `${clock.instant!.seconds}.${String(clock.instant!.nanoseconds).padStart(9, '0')}`; break; }
      case 'j': case 'J': {
        const local = now();
        const json = mosquittoJson(message, local, clock.instant!.nanoseconds, op.spec === 'j', settings.pretty);
        if (json === null) onError(`Error: Message payload is not valid JSON on topic ${message.topic}.`);
        else out += json.toString('latin1');
        break;
      }
      case 'l': out += formatInt(message.payload.length, op); break;
      case 'm': out += formatInt(message.mid, op); break;
      case 'p': out += formatPayload(message.payload, 0, op); break;
      case 'x': out += formatPayload(message.payload, 1, op); break;
      case 'X': out += formatPayload(message.payload, 2, op); break;
      case 'q': out += String(message.qos); break;
      case 'r': out += message.retain ? '1' : '0'; break;
      case 't': out += formatString(latin1(message.topic), op); break;
    }
  }
  return out;
}

/**
 * Writes what mosquitto_sub prints for one message to `sink` (print_message). `onError` receives
 * a stderr line (only %J on a non-JSON payload produces one).
 */
export function formatMessage(settings: FormatSettings, message: ReceivedMessage, sink: Sink, onError: (text: string) => void = () => {}): void {
  if (settings.format) {
    const text = renderFormat(settings.format, message, settings, {}, onError);
    sink.bytes(Buffer.from(settings.eol ? text + NEWLINE : text, 'latin1'));
    return;
  }
  if (settings.verbose) {
    if (message.payload.length > 0) {
      sink.text(`${settings.paintTopic ? settings.paintTopic(message.topic) : message.topic} `);
      sink.bytes(message.payload);
      if (settings.eol) sink.text(NEWLINE);
    } else if (settings.eol) {
      sink.text(`${settings.paintTopic ? settings.paintTopic(message.topic) : message.topic} (null)\n`);
    }
    return;
  }
  if (message.payload.length > 0) {
    sink.bytes(message.payload);
    if (settings.eol) sink.text(NEWLINE);
  }
}

/** True when formatting reads the clock (so callers can tell time-dependent output apart). */
export function settingsNeedTime(settings: FormatSettings): boolean {
  return settings.format !== undefined && formatNeedsTime(settings.format);
}
