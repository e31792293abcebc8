// The broker's persistence: turns state changes into ops (group-committed by AppendLog), holds
// each connection's outgoing bytes until the ops they acknowledge are on disk, and reads the
// store back at start. Must not decide MQTT behaviour: the broker and session call its hooks.

import * as fs from 'node:fs';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { BrokerLogger } from '../logger.js';
import type { Message, Outgoing } from '../message.js';
import type { SubscriptionOptions } from '../router.js';
import type { Session, SessionJournal, WillMessage } from '../session.js';
import { AppendLog, FORMAT_VERSION, frame, parseStore, StoreFormatError } from './log-file.js';
import { readOp, Reader, Writer, writeOp } from './records.js';
import type { Op, OutRecord, SessionMeta } from './records.js';
import { DurableState } from './state.js';

export { StoreFormatError };

export interface PersistenceOptions {
  persistence_location: string;
  persistence_file: string;
  /** Seconds between compactions when the log has grown; 0 = on size and at close only. */
  autosave_interval: number;
}

/** A log this much bigger than the live state it holds gets rewritten. */
const COMPACT_MIN_BYTES = 8 * 1024 * 1024;
const SNAPSHOT_FRAME_BYTES = 1024 * 1024;

interface Held {
  queue: Array<{ batch: number; bytes: Buffer }>;
  end: boolean;
}

export class Persistence implements SessionJournal {
  readonly path: string;
  readonly state = new DurableState();
  private readonly log: AppendLog;
  private readonly writer = new Writer();
  private readonly messageIds = new WeakMap<Message, number>();
  private readonly records = new WeakMap<Outgoing, OutRecord>();
  private nextMsgId = 1;
  private nextSeq = 1;
  private liveBytes = 0;
  private compactRequested = false;
  private readonly held = new Map<Duplex, Held>();
  private autosaveTimer: NodeJS.Timeout | null = null;
  /** While restoring, changes the broker makes are already in the store. */
  replaying = false;

  constructor(options: PersistenceOptions, private readonly logger: BrokerLogger) {
    this.path = join(options.persistence_location || '.', options.persistence_file);
    this.load();
    this.log = new AppendLog(this.path, {
      take: () => (this.writer.length === 0 ? null : this.writer.take()),
      compact: (size) => this.compactFrames(size),
    }, (batch) => this.releaseHeld(batch), (error) => {
      this.logger.log('error', `Error: persistence store ${this.path}: ${error.message}; acknowledgements are held back.`);
    });
    if (options.autosave_interval > 0) {
      this.autosaveTimer = setInterval(() => { this.compactRequested = true; }, options.autosave_interval * 1000);
      this.autosaveTimer.unref();
    }
  }

  /** Reads the store, cuts a torn or corrupt tail off (logged), replays the ops into `state`. */
  private load(): void {
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(this.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    const result = parseStore(bytes, this.path);
    let ops = 0;
    for (const payload of result.frames) {
      const reader = new Reader(payload);
      while (!reader.done) { this.apply(readOp(reader)); ops++; }
    }
    this.state.dropUnreferenced();
    if (result.tail !== null) {
      this.logger.log('warning', `Warning: persistence store ${this.path}: ${result.tail}; cut off, starting with the ${result.frames.length} commits before it.`);
      fs.truncateSync(this.path, result.goodLength);
    }
    this.liveBytes = bytes.length;
    // An older format's header must not front newer records: the first commit rewrites the store.
    if (result.version < FORMAT_VERSION) this.compactRequested = true;
    this.logger.log('information', `Restored ${this.state.sessions.size} sessions, ${this.state.retained.size} retained messages and ${this.state.messages.size} stored messages from ${this.path} (${ops} records).`);
  }

  private apply(op: Op): void {
    if (op.type === 'msg' && op.msgId >= this.nextMsgId) this.nextMsgId = op.msgId + 1;
    if (op.type === 'out' && op.record.seq >= this.nextSeq) this.nextSeq = op.record.seq + 1;
    this.state.apply(op);
  }

  private emit(op: Op): void {
    if (this.replaying) return;
    writeOp(this.writer, op);
    this.state.apply(op);
    this.log.markDirty();
  }

  // --- what the broker reports ---
  retained(topic: string, message: Message | null): void {
    // $SYS values are the broker's own, republished every sys_interval: never stored (as Mosquitto).
    if (topic.startsWith('$SYS/')) return;
    if (message === null && !this.state.retained.has(topic)) return;
    this.emit({ type: 'retain', topic, message });
  }

  /** A session is stored while its expiry interval is not 0. */
  sessionOnline(session: Session, will: WillMessage | null): void {
    if (session.expiryInterval === 0 && session.journal === null) return;
    session.journal = this;
    this.emit({ type: 'session', meta: this.meta(session, will === null ? null : { message: will.message, delay: will.delay, fireAt: 0 }) });
  }

  sessionOffline(session: Session): void {
    if (session.journal === null) return;
    const will = session.pendingWill;
    const fireAt = will === null ? 0 : session.offlineSince + Math.min(will.delay * 1000, 2_147_483_647);
    this.emit({ type: 'session', meta: this.meta(session, will === null ? null : { message: will.message, delay: will.delay, fireAt }) });
  }

  sessionEnded(session: Session): void {
    if (session.journal === null) return;
    session.journal = null;
    if (this.state.sessions.has(session.clientId)) this.emit({ type: 'sessionEnd', clientId: session.clientId });
  }

  subscribed(session: Session, filter: string, options: SubscriptionOptions): void {
    if (session.journal !== null) this.emit({ type: 'sub', clientId: session.clientId, filter, options: { ...options } });
  }

  unsubscribed(session: Session, filter: string): void {
    if (session.journal !== null && this.state.sessions.get(session.clientId)?.subscriptions.has(filter)) this.emit({ type: 'unsub', clientId: session.clientId, filter });
  }

  inboundQos2(session: Session, packetId: number, add: boolean): void {
    if (session.journal !== null) this.emit({ type: 'in2', clientId: session.clientId, packetId, add });
  }

  private meta(session: Session, will: SessionMeta['will']): SessionMeta {
    return {
      clientId: session.clientId, expiry: session.expiryInterval, protocolVersion: session.clientInfo.protocolVersion,
      username: session.clientInfo.username, listener: session.clientInfo.listener, offlineSince: session.link === null ? session.offlineSince : 0, will,
    };
  }

  // --- SessionJournal: deliveries of stored sessions ---
  queued(session: Session, out: Outgoing): void {
    this.record(session, out);
  }

  sent(session: Session, out: Outgoing): void {
    const record = this.records.get(out);
    if (record === undefined) { this.record(session, out); return; }
    this.emit({ type: 'outSent', clientId: session.clientId, seq: record.seq, packetId: out.packetId });
  }

  released(session: Session, out: Outgoing): void {
    const record = this.records.get(out);
    if (record !== undefined) this.emit({ type: 'outRel', clientId: session.clientId, seq: record.seq });
  }

  removed(session: Session, out: Outgoing): void {
    const record = this.records.get(out);
    if (record === undefined) return;
    this.records.delete(out);
    this.emit({ type: 'outDel', clientId: session.clientId, seq: record.seq });
  }

  private record(session: Session, out: Outgoing): void {
    if (!this.state.sessions.has(session.clientId)) return;
    let msgId = this.messageIds.get(out.message);
    if (msgId === undefined || !this.state.messages.has(msgId)) {
      msgId = this.nextMsgId++;
      this.messageIds.set(out.message, msgId);
      this.emit({ type: 'msg', msgId, message: out.message });
    }
    const record: OutRecord = {
      clientId: session.clientId, seq: this.nextSeq++, msgId, qos: out.qos, retain: out.retain,
      subscriptionIds: out.subscriptionIds, sharedGroup: out.sharedGroup, packetId: out.packetId, released: out.released,
    };
    this.records.set(out, record);
    this.emit({ type: 'out', record });
  }

  /** Restore: links a rebuilt delivery to its stored record. */
  adopt(out: Outgoing, record: OutRecord, msgId: number): void {
    this.records.set(out, record);
    this.messageIds.set(out.message, msgId);
  }

  // --- holding acknowledgements until their ops are durable ---
  /**
   * Keeps `bytes` for `stream` until the ops gathered so far are on disk; false = write now.
   * `durable` = they acknowledge something (or carry a QoS 2 packet id); others wait only
   * behind earlier held bytes of the same stream, to keep the order.
   */
  hold(stream: Duplex, bytes: Buffer, durable: boolean): boolean {
    const held = this.held.get(stream);
    if (held === undefined && (!durable || !this.log.holding)) return false;
    const entry = { batch: this.log.lastBatch, bytes };
    if (held === undefined) this.held.set(stream, { queue: [entry], end: false });
    else held.queue.push(entry);
    return true;
  }

  /** Ends `stream` after its held bytes went out; false = nothing held, end it now. */
  endAfterHeld(stream: Duplex): boolean {
    const held = this.held.get(stream);
    if (held === undefined) return false;
    held.end = true;
    return true;
  }

  private releaseHeld(batch: number): void {
    for (const [stream, held] of this.held) {
      const queue = held.queue;
      let n = 0;
      while (n < queue.length && queue[n]!.batch <= batch) n++;
      if (n === 0) continue;
      if (!stream.destroyed) {
        if (n === 1) stream.write(queue[0]!.bytes);
        else stream.write(Buffer.concat(queue.slice(0, n).map((entry) => entry.bytes)));
      }
      queue.splice(0, n);
      if (queue.length === 0) {
        this.held.delete(stream);
        if (held.end && !stream.destroyed) stream.end();
      }
    }
  }

  // --- compaction ---
  private compactFrames(logSize: number): Buffer[] | null {
    if (!this.compactRequested && (logSize < COMPACT_MIN_BYTES || logSize < 2 * this.liveBytes)) return null;
    this.compactRequested = false;
    const frames = this.snapshotFrames();
    this.liveBytes = frames.reduce((sum, f) => sum + f.length, 0);
    return frames;
  }

  private snapshotFrames(): Buffer[] {
    const frames: Buffer[] = [];
    const writer = new Writer();
    for (const op of this.state.snapshot()) {
      writeOp(writer, op);
      if (writer.length >= SNAPSHOT_FRAME_BYTES) frames.push(frameOf(writer));
    }
    if (writer.length > 0) frames.push(frameOf(writer));
    return frames;
  }

  /** Waits for every gathered op to be on disk, rewrites the store compactly, closes it. */
  async close(): Promise<void> {
    if (this.autosaveTimer) clearInterval(this.autosaveTimer);
    await this.log.settle();
    if (this.log.failed === null) {
      try {
        this.log.compactNow(this.snapshotFrames());
      } catch (error) {
        this.logger.log('error', `Error: persistence store ${this.path}: ${(error as Error).message}`);
      }
    }
    this.log.close();
  }
}

function frameOf(writer: Writer): Buffer {
  return frame(writer.take());
}
