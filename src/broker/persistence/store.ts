// The broker's persistence: turns state changes into ops (group-committed by AppendLog), holds
// each connection's outgoing bytes until the ops they acknowledge are on disk, and reads the
// store back at start. Must not decide MQTT behaviour: the broker and session call its hooks.

import * as fs from 'node:fs';
import { dirname, join } from 'node:path';
import type { ClientStream } from '../transport/transport.js';
import type { BrokerLogger } from '../logger.js';
import type { Message, Outgoing } from '../message.js';
import type { SubscriptionOptions } from '../router.js';
import type { Session, SessionJournal, WillMessage } from '../session.js';
import { AppendLog, FORMAT_VERSION, frame, parseStore, StoreFormatError, writeAtomically } from './log-file.js';
import type { CompactionResult } from './log-file.js';
import { lockStore, StoreLockedError } from './lock.js';
import type { StoreLock } from './lock.js';
import { readOp, Reader, Writer, writeOp } from './records.js';
import type { Op, OutRecord, SessionMeta } from './records.js';
import { DurableState } from './state.js';

export { StoreFormatError, StoreLockedError };

export interface PersistenceOptions {
  persistence_location: string;
  persistence_file: string;
  /**
   * When the log is compacted (Mosquitto's "autosave"): every this many seconds if it changed,
   * or with autosave_on_changes after this many changes; 0 = at shutdown and SIGUSR1 only.
   */
  autosave_interval: number;
  autosave_on_changes: boolean;
}

/**
 * Whatever autosave says, a log past this size and twice the live state it holds is rewritten,
 * so that it never grows without bound between saves.
 */
const COMPACT_MIN_BYTES = 8 * 1024 * 1024;
/** One snapshot frame is made per event-loop turn while compacting: small enough not to stall clients. */
const SNAPSHOT_FRAME_BYTES = 256 * 1024;
/** The changes autosave_on_changes counts, as Mosquitto: subscription changes, retained messages, queued messages. */
const COUNTED: ReadonlySet<Op['type']> = new Set(['sub', 'unsub', 'retain', 'out']);

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
  /** autosave_on_changes: changes since the last compaction. */
  private changes = 0;
  /** The log's size after the last compaction (or at start): a timed autosave skips an unchanged log. */
  private savedSize = 0;
  private readonly held = new Map<ClientStream, Held>();
  private autosaveTimer: NodeJS.Timeout | null = null;
  private readonly lock: StoreLock;
  /** Sessions without a journal whose will is stored, by client id (see sessionOnline). */
  private readonly willOwners = new Map<string, Session>();
  /** While restoring, changes the broker makes are already in the store. */
  replaying = false;

  constructor(private readonly options: PersistenceOptions, private readonly logger: BrokerLogger) {
    this.path = join(options.persistence_location || '.', options.persistence_file);
    requireDirectory(dirname(this.path));
    this.lock = lockStore(this.path, (message) => this.logger.log('warning', `Warning: ${message}`));
    try {
      // A compaction cut short by a crash: its temp file is not the store (the log is), and we hold the lock.
      fs.rmSync(`${this.path}.tmp`, { force: true });
      this.load();
      this.log = new AppendLog(this.path, {
        take: () => (this.writer.length === 0 ? null : this.writer.take()),
        wantsCompaction: (size) => this.wantsCompaction(size),
        snapshot: () => this.snapshotFrames(),
        compacted: (result) => this.compacted(result),
      }, (batch) => this.releaseHeld(batch), (error) => {
        this.logger.log('error', `Error: persistence store ${this.path}: ${error.message}; acknowledgements are held back.`);
      });
    } catch (error) {
      this.lock.release();
      throw error;
    }
    this.savedSize = this.log.size;
    if (options.autosave_interval > 0 && !options.autosave_on_changes) {
      this.autosaveTimer = setInterval(() => { if (this.log.size > this.savedSize) this.compact(); }, Math.min(options.autosave_interval * 1000, 2_147_483_647));
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
    // An older format's header must not front newer records: rewritten now, before any append
    // (at start-up nothing is served yet, so the one synchronous write stalls no client).
    if (result.version < FORMAT_VERSION) {
      writeAtomically(this.path, [...this.snapshotFrames()]);
      this.liveBytes = fs.statSync(this.path).size;
      this.logger.log('information', `Rewrote persistence store ${this.path} from format ${result.version} to format ${FORMAT_VERSION}.`);
    }
    this.logger.log('information', `Restored ${this.state.sessions.size} sessions, ${this.state.retained.size} retained messages and ${this.state.messages.size} stored messages from ${this.path} (${ops} records).`);
  }

  private apply(op: Op): void {
    if (op.type === 'msg' && op.msgId >= this.nextMsgId) this.nextMsgId = op.msgId + 1;
    if (op.type === 'out' && op.record.seq >= this.nextSeq) this.nextSeq = op.record.seq + 1;
    this.state.apply(op);
  }

  private emit(op: Op): void {
    if (this.replaying) return;
    if (COUNTED.has(op.type)) this.changes++;
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

  /**
   * A session is stored while its expiry interval is not 0. One that ends with its connection is
   * not, but its will is: a broker killed under it means the client never sent DISCONNECT, so the
   * will is owed after the restart (restore finds the record expired and publishes the will).
   */
  sessionOnline(session: Session, will: WillMessage | null): void {
    if (session.expiryInterval === 0 && session.journal === null) {
      if (will === null) return;
      this.willOwners.set(session.clientId, session);
      this.emit({ type: 'session', meta: this.meta(session, { message: will.message, delay: will.delay, fireAt: 0 }) });
      return;
    }
    this.willOwners.delete(session.clientId);
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
    if (session.journal === null) {
      // The will record of a session that ends with its connection, if this session wrote it
      // (an old connection closing after a takeover must not remove its successor's).
      if (this.willOwners.get(session.clientId) !== session) return;
      this.willOwners.delete(session.clientId);
    }
    session.journal = null;
    if (this.state.sessions.has(session.clientId)) this.emit({ type: 'sessionEnd', clientId: session.clientId });
  }

  subscribed(session: Session, filter: string, options: SubscriptionOptions): void {
    if (session.journal !== null) this.emit({ type: 'sub', clientId: session.clientId, filter, options: { ...options } });
  }

  unsubscribed(session: Session, filter: string): void {
    if (session.journal !== null && this.state.sessions.get(session.clientId)?.subscriptions.has(filter)) this.emit({ type: 'unsub', clientId: session.clientId, filter });
  }

  /**
   * A QoS 2 message got PUBREC: stored with its session until PUBREL, in the same commit that
   * releases the PUBREC (a PUBREC acknowledges the message). A session that ends with its
   * connection is not stored, and neither is what it holds.
   */
  inboundQos2(session: Session, packetId: number, message: Message): void {
    if (session.journal !== null) this.emit({ type: 'in2', clientId: session.clientId, packetId, add: true, message });
  }

  /** PUBREL (the message is routed in the same commit), or the id was reused for another message. */
  inboundQos2Done(session: Session, packetId: number): void {
    if (session.journal !== null && this.state.sessions.get(session.clientId)?.inboundQos2.has(packetId) === true) {
      this.emit({ type: 'in2', clientId: session.clientId, packetId, add: false, message: null });
    }
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
  hold(stream: ClientStream, bytes: Buffer, durable: boolean): boolean {
    const held = this.held.get(stream);
    if (held === undefined && (!durable || !this.log.holding)) return false;
    const entry = { batch: this.log.lastBatch, bytes };
    if (held === undefined) this.held.set(stream, { queue: [entry], end: false });
    else held.queue.push(entry);
    return true;
  }

  /** Ends `stream` after its held bytes went out; false = nothing held, end it now. */
  endAfterHeld(stream: ClientStream): boolean {
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

  // --- compaction (Mosquitto's autosave) ---
  /** A compaction is running (its temp file exists). */
  get compacting(): boolean {
    return this.log.compacting;
  }

  /** Starts a compaction now (SIGUSR1, the autosave timer); false when one is already running. */
  compact(): boolean {
    this.changes = 0;
    return this.log.startCompaction();
  }

  private wantsCompaction(logSize: number): boolean {
    const { autosave_interval: interval, autosave_on_changes: onChanges } = this.options;
    if (onChanges && interval > 0 && this.changes >= interval) { this.changes = 0; return true; }
    return logSize >= COMPACT_MIN_BYTES && logSize >= 2 * this.liveBytes;
  }

  private compacted(result: CompactionResult): void {
    if ('error' in result) {
      this.logger.log('error', `Error: compacting persistence store ${this.path}: ${result.error.message}; the log is kept as it is.`);
      return;
    }
    this.liveBytes = result.after;
    this.savedSize = result.after;
    this.logger.log('information', `Saved persistence store ${this.path}: ${result.before} bytes of log compacted to ${result.after} (${result.elapsedMs} ms).`);
  }

  /** The live state as frame payloads, one made per call: compaction spreads them over event-loop turns. */
  private *snapshotFrames(): Generator<Buffer> {
    const writer = new Writer();
    for (const op of this.state.snapshot()) {
      writeOp(writer, op);
      if (writer.length >= SNAPSHOT_FRAME_BYTES) yield frameOf(writer);
    }
    if (writer.length > 0) yield frameOf(writer);
  }

  /** Waits for every gathered op to be on disk, rewrites the store compactly, closes it. */
  async close(): Promise<void> {
    if (this.autosaveTimer) clearInterval(this.autosaveTimer);
    await this.log.settle();
    if (this.log.failed === null) {
      try {
        this.log.compactNow([...this.snapshotFrames()]);
      } catch (error) {
        this.logger.log('error', `Error: persistence store ${this.path}: ${(error as Error).message}`);
      }
    }
    this.log.close();
    this.lock.release();
  }
}

/** As Mosquitto, the store's directory is not created: a missing one is a one-line start-up error. */
function requireDirectory(dir: string): void {
  let isDirectory = false;
  try { isDirectory = fs.statSync(dir).isDirectory(); } catch { /* missing: reported below */ }
  if (!isDirectory) throw Object.assign(new Error(`persistence_location ${dir} is not a directory (mqx does not create it)`), { path: dir });
}

function frameOf(writer: Writer): Buffer {
  return frame(writer.take());
}
