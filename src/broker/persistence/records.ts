// The store's operations and their binary encoding: one op = type byte + fields. Encoding and
// decoding only; must not touch files or broker objects (the journal and the state apply them).
//
// Format 2 writes message-carrying ops with the publisher's user name and listener (for
// check_retain_source after a restart, as Mosquitto stores source_username/source_port) and
// sessions with their listener, under new type codes; the format 1 codes are still read.
// Format 3 (this one) adds an inbound QoS 2 record with its message (kept until PUBREL); the
// id-only record of formats 1 and 2 is still read, as an id whose message was already routed.

import type { PublishProperties, QoS } from '../../codec/index.js';
import type { ClientInfo } from '../hooks.js';
import type { Message, Outgoing } from '../message.js';
import type { SubscriptionOptions } from '../router.js';

export interface StoredWill {
  message: Message;
  delay: number;
  /** When the delayed will is due (ms since epoch); 0 while its client is connected. */
  fireAt: number;
}

export interface SessionMeta {
  clientId: string;
  expiry: number;
  protocolVersion: 3 | 4 | 5;
  username: string | undefined;
  /** The listener its client was connected through (absent in format 1 stores). */
  listener?: string;
  /** ms since epoch the session went offline; 0 = online. */
  offlineSince: number;
  will: StoredWill | null;
}

/** An Outgoing as stored: its message by id (stored once), its place in the client's queue by seq; packetId 0 while queued. */
export interface OutRecord extends Omit<Outgoing, 'message'> {
  clientId: string;
  seq: number;
  msgId: number;
}

export type Op =
  | { type: 'retain'; topic: string; message: Message | null }
  | { type: 'session'; meta: SessionMeta }
  | { type: 'sessionEnd'; clientId: string }
  | { type: 'sub'; clientId: string; filter: string; options: SubscriptionOptions }
  | { type: 'unsub'; clientId: string; filter: string }
  | { type: 'msg'; msgId: number; message: Message }
  | { type: 'out'; record: OutRecord }
  | { type: 'outSent'; clientId: string; seq: number; packetId: number }
  | { type: 'outRel'; clientId: string; seq: number }
  | { type: 'outDel'; clientId: string; seq: number }
  /** add: a QoS 2 message got PUBREC and waits for PUBREL (message null: an id-only record of format 1/2); else released. */
  | { type: 'in2'; clientId: string; packetId: number; add: boolean; message: Message | null };

const T = {
  retainSet: 1, retainClear: 2, session: 3, sessionEnd: 4, sub: 5, unsub: 6, msg: 7, out: 8, outSent: 9, outRel: 10, outDel: 11, in2Add: 12, in2Del: 13,
  // Format 2: as retainSet, session and msg, with the publisher (and the session's listener).
  retainSetFrom: 14, sessionFrom: 15, msgFrom: 16,
  // Format 3: as in2Add, with the message (format 2 encoding).
  in2AddMessage: 17,
} as const;

/** Growable byte writer; one per batch, reused. */
export class Writer {
  private buf = Buffer.allocUnsafe(64 * 1024);
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }
  u8(v: number): void { this.room(1); this.buf[this.length++] = v; }
  u16(v: number): void { this.room(2); this.buf.writeUInt16BE(v, this.length); this.length += 2; }
  u32(v: number): void { this.room(4); this.buf.writeUInt32BE(v >>> 0, this.length); this.length += 4; }
  f64(v: number): void { this.room(8); this.buf.writeDoubleBE(v, this.length); this.length += 8; }
  bytes(b: Uint8Array): void { this.u32(b.length); this.room(b.length); this.buf.set(b, this.length); this.length += b.length; }
  str(s: string): void {
    const n = Buffer.byteLength(s);
    this.u32(n); this.room(n);
    this.buf.write(s, this.length, n, 'utf8'); this.length += n;
  }
  optStr(s: string | null | undefined): void {
    if (s === null || s === undefined) { this.u8(0); return; }
    this.u8(1); this.str(s);
  }
  /** Copies out what was written and resets. */
  take(): Buffer {
    const out = Buffer.from(this.buf.subarray(0, this.length));
    this.length = 0;
    return out;
  }
}

export class Reader {
  offset = 0;
  constructor(private readonly buf: Buffer, private readonly end = buf.length) {}
  get done(): boolean { return this.offset >= this.end; }
  private need(n: number): void { if (this.offset + n > this.end) throw new RangeError('record truncated'); }
  u8(): number { this.need(1); return this.buf[this.offset++]!; }
  u16(): number { this.need(2); const v = this.buf.readUInt16BE(this.offset); this.offset += 2; return v; }
  u32(): number { this.need(4); const v = this.buf.readUInt32BE(this.offset); this.offset += 4; return v; }
  f64(): number { this.need(8); const v = this.buf.readDoubleBE(this.offset); this.offset += 8; return v; }
  bytes(): Buffer { const n = this.u32(); this.need(n); const v = Buffer.from(this.buf.subarray(this.offset, this.offset + n)); this.offset += n; return v; }
  str(): string { const n = this.u32(); this.need(n); const v = this.buf.toString('utf8', this.offset, this.offset + n); this.offset += n; return v; }
  optStr(): string | null { return this.u8() === 0 ? null : this.str(); }
}

// 5.0 properties may hold Buffers (correlation data): JSON with a tagged form for them.
function propertiesToJson(properties: PublishProperties): string {
  return JSON.stringify(properties, (_key, value: unknown) => {
    if (value !== null && typeof value === 'object' && (value as { type?: string }).type === 'Buffer' && Array.isArray((value as { data?: unknown }).data)) {
      return { $b64: Buffer.from((value as { data: number[] }).data).toString('base64') };
    }
    return value;
  });
}

function propertiesFromJson(text: string): PublishProperties {
  return JSON.parse(text, (_key, value: unknown) => {
    if (value !== null && typeof value === 'object' && typeof (value as { $b64?: unknown }).$b64 === 'string') return Buffer.from((value as { $b64: string }).$b64, 'base64');
    return value;
  }) as PublishProperties;
}

/** A message in format 2: the format 1 fields, then who published it (0, or 1 + version, user name, listener). */
function writeMessage(w: Writer, m: Message): void {
  w.str(m.topic);
  w.bytes(m.payload);
  w.u8(m.qos | (m.retain ? 4 : 0));
  w.f64(m.expiresAt);
  w.optStr(m.publisherId);
  w.optStr(m.properties === undefined ? null : propertiesToJson(m.properties));
  const publisher = m.publisher;
  if (publisher == null || m.publisherId === null) { w.u8(0); return; }
  w.u8(1); w.u8(publisher.protocolVersion); w.optStr(publisher.username); w.optStr(publisher.listener);
}

/** `withPublisher`: a format 2 record; format 1 records end after the properties. */
function readMessage(r: Reader, withPublisher: boolean): Message {
  const topic = r.str();
  const payload = r.bytes();
  const flags = r.u8();
  const expiresAt = r.f64();
  const publisherId = r.optStr();
  const props = r.optStr();
  const message: Message = { topic, payload, qos: (flags & 3) as QoS, retain: (flags & 4) !== 0, expiresAt, publisherId, properties: props === null ? undefined : propertiesFromJson(props) };
  if (withPublisher && r.u8() === 1) {
    const protocolVersion = r.u8() as 3 | 4 | 5;
    const username = r.optStr();
    const listener = r.optStr();
    const publisher: ClientInfo = { clientId: publisherId ?? '', protocolVersion };
    if (username !== null) publisher.username = username;
    if (listener !== null) publisher.listener = listener;
    message.publisher = publisher;
  }
  return message;
}

export function writeOp(w: Writer, op: Op): void {
  switch (op.type) {
    case 'retain':
      if (op.message === null) { w.u8(T.retainClear); w.str(op.topic); } else { w.u8(T.retainSetFrom); writeMessage(w, op.message); }
      return;
    case 'session': {
      const m = op.meta;
      w.u8(T.sessionFrom); w.str(m.clientId); w.u32(m.expiry); w.u8(m.protocolVersion); w.optStr(m.username); w.optStr(m.listener); w.f64(m.offlineSince);
      if (m.will === null) w.u8(0);
      else { w.u8(1); writeMessage(w, m.will.message); w.u32(m.will.delay); w.f64(m.will.fireAt); }
      return;
    }
    case 'sessionEnd': w.u8(T.sessionEnd); w.str(op.clientId); return;
    case 'sub': {
      const o = op.options;
      w.u8(T.sub); w.str(op.clientId); w.str(op.filter);
      w.u8(o.qos | (o.noLocal ? 4 : 0) | (o.retainAsPublished ? 8 : 0) | (o.retainHandling << 4));
      w.u32(o.subscriptionId ?? 0);
      return;
    }
    case 'unsub': w.u8(T.unsub); w.str(op.clientId); w.str(op.filter); return;
    case 'msg': w.u8(T.msgFrom); w.u32(op.msgId); writeMessage(w, op.message); return;
    case 'out': {
      const o = op.record;
      w.u8(T.out); w.str(o.clientId); w.u32(o.seq); w.u32(o.msgId); w.u8(o.qos | (o.retain ? 4 : 0) | (o.released ? 8 : 0));
      w.u16(o.packetId);
      const ids = o.subscriptionIds ?? [];
      w.u16(ids.length); for (const id of ids) w.u32(id);
      w.optStr(o.sharedGroup);
      return;
    }
    case 'outSent': w.u8(T.outSent); w.str(op.clientId); w.u32(op.seq); w.u16(op.packetId); return;
    case 'outRel': w.u8(T.outRel); w.str(op.clientId); w.u32(op.seq); return;
    case 'outDel': w.u8(T.outDel); w.str(op.clientId); w.u32(op.seq); return;
    case 'in2':
      if (op.add && op.message !== null) { w.u8(T.in2AddMessage); w.str(op.clientId); w.u16(op.packetId); writeMessage(w, op.message); return; }
      w.u8(op.add ? T.in2Add : T.in2Del); w.str(op.clientId); w.u16(op.packetId);
      return;
  }
}

export function readOp(r: Reader): Op {
  const type = r.u8();
  switch (type) {
    case T.retainSet:
    case T.retainSetFrom: { const message = readMessage(r, type === T.retainSetFrom); return { type: 'retain', topic: message.topic, message }; }
    case T.retainClear: return { type: 'retain', topic: r.str(), message: null };
    case T.session:
    case T.sessionFrom: {
      const format2 = type === T.sessionFrom;
      const clientId = r.str(); const expiry = r.u32(); const protocolVersion = r.u8() as 3 | 4 | 5; const username = r.optStr() ?? undefined;
      const listener = format2 ? r.optStr() : null;
      const offlineSince = r.f64();
      let will: StoredWill | null = null;
      if (r.u8() === 1) { const message = readMessage(r, format2); will = { message, delay: r.u32(), fireAt: r.f64() }; }
      const meta: SessionMeta = { clientId, expiry, protocolVersion, username, offlineSince, will };
      if (listener !== null) meta.listener = listener;
      return { type: 'session', meta };
    }
    case T.sessionEnd: return { type: 'sessionEnd', clientId: r.str() };
    case T.sub: {
      const clientId = r.str(); const filter = r.str(); const flags = r.u8(); const id = r.u32();
      const options: SubscriptionOptions = { qos: (flags & 3) as QoS, noLocal: (flags & 4) !== 0, retainAsPublished: (flags & 8) !== 0, retainHandling: ((flags >> 4) & 3) as 0 | 1 | 2 };
      if (id !== 0) options.subscriptionId = id;
      return { type: 'sub', clientId, filter, options };
    }
    case T.unsub: return { type: 'unsub', clientId: r.str(), filter: r.str() };
    case T.msg:
    case T.msgFrom: { const msgId = r.u32(); return { type: 'msg', msgId, message: readMessage(r, type === T.msgFrom) }; }
    case T.out: {
      const clientId = r.str(); const seq = r.u32(); const msgId = r.u32(); const flags = r.u8(); const packetId = r.u16();
      const n = r.u16(); const ids: number[] = []; for (let i = 0; i < n; i++) ids.push(r.u32());
      const sharedGroup = r.optStr();
      return { type: 'out', record: { clientId, seq, msgId, qos: (flags & 3) as QoS, retain: (flags & 4) !== 0, released: (flags & 8) !== 0, packetId, subscriptionIds: n > 0 ? ids : undefined, sharedGroup } };
    }
    case T.outSent: return { type: 'outSent', clientId: r.str(), seq: r.u32(), packetId: r.u16() };
    case T.outRel: return { type: 'outRel', clientId: r.str(), seq: r.u32() };
    case T.outDel: return { type: 'outDel', clientId: r.str(), seq: r.u32() };
    case T.in2Add: return { type: 'in2', clientId: r.str(), packetId: r.u16(), add: true, message: null };
    case T.in2AddMessage: return { type: 'in2', clientId: r.str(), packetId: r.u16(), add: true, message: readMessage(r, true) };
    case T.in2Del: return { type: 'in2', clientId: r.str(), packetId: r.u16(), add: false, message: null };
    default: throw new RangeError(`unknown record type ${type}`);
  }
}
