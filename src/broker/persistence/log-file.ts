// The store file: a header (magic, format version) then frames [length u32][CRC-32 u32][ops],
// one frame per group commit, so a batch is all-or-nothing. Reading stops at the first torn or
// corrupt frame; writing is append + fdatasync; compaction rewrites through a temp file
// (compaction.ts, in the background).
// Knows bytes and files only, not what the ops mean.

import * as fs from 'node:fs';
import { dirname } from 'node:path';
import { crc32 } from './crc32.js';
import { BackgroundCompaction } from './compaction.js';

export const MAGIC = Buffer.from('MQXSTORE');
/**
 * 2: messages carry their publisher's user name and listener; 3: inbound QoS 2 records carry their
 * message (records.ts). Older versions are still read; an older mqx refuses a newer file by this number.
 */
export const FORMAT_VERSION = 3;
export const HEADER_SIZE = 16;
const FRAME_HEADER = 8;
/** A frame claiming more than this is corruption, not data. */
const MAX_FRAME = 1 << 30;

export class StoreFormatError extends Error {
  override name = 'StoreFormatError';
}

export function header(): Buffer {
  const bytes = Buffer.alloc(HEADER_SIZE);
  MAGIC.copy(bytes, 0);
  bytes.writeUInt32BE(FORMAT_VERSION, 8);
  return bytes;
}

export function frame(payload: Buffer): Buffer {
  const bytes = Buffer.allocUnsafe(FRAME_HEADER + payload.length);
  bytes.writeUInt32BE(payload.length, 0);
  bytes.writeUInt32BE(crc32(payload), 4);
  payload.copy(bytes, FRAME_HEADER);
  return bytes;
}

export interface ReadResult {
  /** Payloads of the good frames, in order. */
  frames: Buffer[];
  /** Bytes of the file that are good (header + whole frames). */
  goodLength: number;
  /** Why reading stopped before the end, if it did. */
  tail: string | null;
  /** The file's format version (FORMAT_VERSION for an empty file). */
  version: number;
}

/** Parses a whole store file; throws StoreFormatError for a foreign or newer file. */
export function parseStore(bytes: Buffer, path: string): ReadResult {
  if (bytes.length < HEADER_SIZE) {
    // A crash while the very first header was written: treat as empty.
    return { frames: [], goodLength: 0, tail: bytes.length === 0 ? null : `header truncated at ${bytes.length} bytes`, version: FORMAT_VERSION };
  }
  if (!bytes.subarray(0, 8).equals(MAGIC)) throw new StoreFormatError(`${path} is not an mqx persistence store (a Mosquitto database cannot be read; move it away or set persistence_file)`);
  const version = bytes.readUInt32BE(8);
  if (version > FORMAT_VERSION) throw new StoreFormatError(`${path} has store format version ${version}; this mqx reads version ${FORMAT_VERSION} and older only`);
  const frames: Buffer[] = [];
  let offset = HEADER_SIZE;
  let tail: string | null = null;
  while (offset < bytes.length) {
    if (bytes.length - offset < FRAME_HEADER) { tail = `torn frame header at offset ${offset}`; break; }
    const length = bytes.readUInt32BE(offset);
    if (length > MAX_FRAME || offset + FRAME_HEADER + length > bytes.length) { tail = `torn frame at offset ${offset} (${length} bytes announced, ${bytes.length - offset - FRAME_HEADER} present)`; break; }
    const payload = bytes.subarray(offset + FRAME_HEADER, offset + FRAME_HEADER + length);
    if (crc32(payload) !== bytes.readUInt32BE(offset + 4)) { tail = `checksum mismatch in frame at offset ${offset}`; break; }
    frames.push(payload);
    offset += FRAME_HEADER + length;
  }
  return { frames, goodLength: offset, tail, version };
}

/** Writes `frames` to path via path.tmp: write, fsync, rename, fsync the directory. */
export function writeAtomically(path: string, frames: Buffer[]): void {
  const temp = `${path}.tmp`;
  const fd = fs.openSync(temp, 'w', 0o600);
  try {
    fs.writeSync(fd, header());
    for (const f of frames) fs.writeSync(fd, f);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temp, path);
  syncDirectory(dirname(path));
}

function syncDirectory(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try { fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
}

/** Where the log gets what to write at commit time. */
export interface CommitSource {
  /** The ops gathered since the last commit as one frame payload, or null when there are none. */
  take(): Buffer | null;
  /** Asked after each commit: true starts a compaction. */
  wantsCompaction(logSize: number): boolean;
  /** The live state as frame payloads, made one by one as compaction asks for them. */
  snapshot(): Iterator<Buffer>;
  /** A compaction ended: the store was rewritten (sizes in bytes), or it failed and the old log stays. */
  compacted(result: CompactionResult): void;
}

export type CompactionResult = { before: number; after: number; elapsedMs: number } | { error: Error };

/** After a failed compaction (a full disk, say), the log is not rewritten again for this long. */
const COMPACTION_RETRY_MS = 60_000;

/**
 * Group commit: everything gathered during one event-loop turn goes out as ONE frame, one write
 * and one fdatasync; `onDurable(batch)` says which batch numbers are on disk. While one commit
 * is in flight, new ops gather for the next.
 */
export class AppendLog {
  private fd: number;
  private committing = false;
  private scheduled = false;
  private dirty = false;
  /** Commits wait while a compaction swaps the files (one fsync and a rename). */
  private paused = false;
  private compaction: BackgroundCompaction | null = null;
  private compactionRetryAt = 0;
  /** The log's size and the time when the running compaction started (for its log line). */
  private compactionFrom = { size: 0, at: 0 };
  /** Number of the newest batch holding data (open or in flight). */
  lastBatch = 0;
  /** Number of the newest batch on disk. */
  durableBatch = 0;
  size: number;
  failed: Error | null = null;
  private settleWaiters: Array<() => void> = [];

  constructor(
    private readonly path: string,
    private readonly source: CommitSource,
    private readonly onDurable: (batch: number) => void,
    private readonly onError: (error: Error) => void,
  ) {
    this.fd = fs.openSync(path, 'a', 0o600);
    this.size = fs.fstatSync(this.fd).size;
    if (this.size === 0) { fs.writeSync(this.fd, header()); fs.fsyncSync(this.fd); this.size = HEADER_SIZE; syncDirectory(dirname(path)); }
  }

  /** Says the source has ops for the open batch; the commit runs after this turn's I/O. */
  markDirty(): void {
    if (!this.dirty) {
      this.dirty = true;
      this.lastBatch = this.durableBatch + (this.committing ? 2 : 1);
    }
    if (!this.scheduled && !this.committing) { this.scheduled = true; setImmediate(() => this.commit()); }
  }

  get holding(): boolean {
    return this.lastBatch > this.durableBatch;
  }

  get compacting(): boolean {
    return this.compaction !== null;
  }

  private commit(): void {
    this.scheduled = false;
    if (this.committing || this.paused || !this.dirty || this.failed) return;
    const batch = this.lastBatch;
    this.dirty = false;
    this.committing = true;
    const payload = this.source.take();
    if (payload === null) { this.done(batch); return; }
    const bytes = frame(payload);
    // The write only copies into the page cache: done inline, it saves a thread-pool round trip
    // per commit; the fdatasync is what waits for the disk, off the event loop.
    try {
      let offset = 0;
      while (offset < bytes.length) offset += fs.writeSync(this.fd, bytes, offset, bytes.length - offset);
    } catch (error) { this.fail(error as Error); return; }
    this.size += bytes.length;
    this.compaction?.append(bytes);
    if (this.compaction === null && this.source.wantsCompaction(this.size)) this.startCompaction();
    fs.fdatasync(this.fd, (syncError) => {
      if (syncError) { this.fail(syncError); return; }
      this.done(batch);
    });
  }

  /**
   * Starts rewriting the store from the source's snapshot in the background; false when one is
   * already running, the log failed, or the last attempt failed less than a minute ago.
   */
  startCompaction(): boolean {
    if (this.compaction !== null || this.failed !== null || Date.now() < this.compactionRetryAt) return false;
    this.compactionFrom = { size: this.size, at: Date.now() };
    const failed = (error: Error) => {
      this.compaction = null;
      this.compactionRetryAt = Date.now() + COMPACTION_RETRY_MS;
      this.source.compacted({ error });
    };
    try {
      this.compaction = new BackgroundCompaction(this.path, this.source.snapshot(), () => this.swapWhenIdle(), failed);
    } catch (error) {
      failed(error as Error);
      return false;
    }
    return true;
  }

  /** The snapshot is on disk: once no commit is in flight, pause commits and swap the files. */
  private swapWhenIdle(): void {
    const compaction = this.compaction;
    if (compaction === null || compaction.phase !== 'ready' || this.committing || this.failed) return;
    this.paused = true;
    compaction.swap((error, renamed) => {
      this.compaction = null;
      this.paused = false;
      if (renamed) {
        // The new file is the store now, even if fsyncing its directory failed: append there.
        try {
          const old = this.fd;
          this.fd = fs.openSync(this.path, 'a', 0o600);
          this.size = fs.fstatSync(this.fd).size;
          // Closing the last handle of the replaced log frees its blocks: off the event loop.
          fs.close(old, () => undefined);
        } catch (reopenError) { this.fail(reopenError as Error); return; }
        if (error) { this.fail(error); return; }
        this.source.compacted({ before: this.compactionFrom.size, after: this.size, elapsedMs: Date.now() - this.compactionFrom.at });
      } else {
        this.compactionRetryAt = Date.now() + COMPACTION_RETRY_MS;
        this.source.compacted({ error: error ?? new Error('compaction failed') });
      }
      this.resume();
    });
  }

  private resume(): void {
    if (this.dirty) this.commit();
    else for (const resolve of this.settleWaiters.splice(0)) resolve();
  }

  private done(batch: number): void {
    this.committing = false;
    this.durableBatch = batch;
    this.onDurable(batch);
    if (this.compaction?.phase === 'ready') this.swapWhenIdle();
    if (!this.paused) this.resume();
  }

  private fail(error: Error): void {
    // Nothing more is acknowledged: held acks stay held rather than promise what is not on disk.
    this.failed = error;
    this.committing = false;
    this.compaction?.abort();
    this.compaction = null;
    this.onError(error);
    for (const resolve of this.settleWaiters.splice(0)) resolve();
  }

  /** Resolves once everything gathered so far is on disk and no compaction is swapping files (or the log failed). */
  settle(): Promise<void> {
    if (this.failed || (!this.holding && !this.dirty && !this.paused)) return Promise.resolve();
    if (!this.scheduled && !this.committing && !this.paused) this.markDirty();
    return new Promise((resolve) => this.settleWaiters.push(resolve));
  }

  /** Rewrites the whole log now (at close), from the source's snapshot. */
  compactNow(frames: Buffer[]): void {
    if (this.failed) return;
    this.compaction?.abort();
    this.compaction = null;
    this.source.take();
    writeAtomically(this.path, frames);
    fs.closeSync(this.fd);
    this.fd = fs.openSync(this.path, 'a', 0o600);
    this.size = fs.fstatSync(this.fd).size;
  }

  close(): void {
    this.compaction?.abort();
    this.compaction = null;
    fs.closeSync(this.fd);
  }
}
