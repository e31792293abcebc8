// Compaction without stopping the broker: the snapshot is written to `<store>.tmp` one frame per
// event-loop turn while commits keep going to the old log (and are remembered here); at the end
// the remembered frames follow the snapshot, the temp file is fsynced and renamed over the store.
// Until the rename the old log holds everything; after it the new file does. Bytes and files only.

import * as fs from 'node:fs';
import { dirname } from 'node:path';
import { header } from './log-file.js';

/**
 * Why replaying the remembered frames over a snapshot read across many turns is exact: every op
 * sets a key to a value (or removes it), the snapshot's value of a key is its value at some moment
 * after the start, and every change after the start is in a remembered frame, replayed in order.
 */
export class BackgroundCompaction {
  private fd: number;
  private readonly temp: string;
  /** Frames committed to the old log since the start, to be appended after the snapshot. */
  private tail: Buffer[] = [];
  private aborted = false;
  snapshotBytes = 0;
  /** 'writing' the snapshot; 'ready' to swap (commits must pause); 'done' after the swap. */
  phase: 'writing' | 'ready' | 'swapping' | 'done' = 'writing';

  constructor(
    private readonly path: string,
    private readonly frames: Iterator<Buffer>,
    private readonly onReady: () => void,
    private readonly onError: (error: Error) => void,
  ) {
    this.temp = `${path}.tmp`;
    this.fd = fs.openSync(this.temp, 'w', 0o600);
    fs.writeSync(this.fd, header());
    setImmediate(() => this.step());
  }

  /** A frame just committed to the old log. */
  append(frame: Buffer): void {
    this.tail.push(frame);
  }

  /** One snapshot frame per turn, so that clients are served in between. */
  private step(): void {
    if (this.aborted) return;
    try {
      const next = this.frames.next();
      if (next.done !== true) {
        writeAll(this.fd, next.value);
        this.snapshotBytes += next.value.length;
        setImmediate(() => this.step());
        return;
      }
      // What was committed meanwhile goes in now, so that the pause at the swap is short.
      this.flushTail();
    } catch (error) { this.fail(error as Error); return; }
    fs.fdatasync(this.fd, (error) => {
      if (this.aborted) return;
      if (error) { this.fail(error); return; }
      this.phase = 'ready';
      this.onReady();
    });
  }

  private flushTail(): void {
    for (const frame of this.tail) writeAll(this.fd, frame);
    this.tail = [];
  }

  /**
   * With commits paused by the caller: the last remembered frames, fsync, rename over the store,
   * fsync the directory. `done` gets the error, if any, and whether the new file is now the store.
   */
  swap(done: (error: Error | null, renamed: boolean) => void): void {
    this.phase = 'swapping';
    try { this.flushTail(); } catch (error) { this.fail(error as Error); done(error as Error, false); return; }
    fs.fdatasync(this.fd, (syncError) => {
      if (syncError) { this.fail(syncError); done(syncError, false); return; }
      try {
        fs.closeSync(this.fd);
        this.fd = -1;
        fs.renameSync(this.temp, this.path);
      } catch (error) { this.fail(error as Error); done(error as Error, false); return; }
      this.phase = 'done';
      syncDirectoryAsync(dirname(this.path), (error) => done(error, true));
    });
  }

  /** Stops and removes the temp file; the old log stays the store. */
  abort(): void {
    if (this.phase === 'done') return;
    this.aborted = true;
    this.cleanUp();
  }

  private fail(error: Error): void {
    const reported = this.aborted;
    this.aborted = true;
    this.cleanUp();
    if (!reported && this.phase !== 'swapping') this.onError(error);
  }

  private cleanUp(): void {
    if (this.fd >= 0) { try { fs.closeSync(this.fd); } catch { /* already closed */ } this.fd = -1; }
    try { fs.unlinkSync(this.temp); } catch { /* never created or already gone */ }
  }
}

function writeAll(fd: number, bytes: Buffer): void {
  let offset = 0;
  while (offset < bytes.length) offset += fs.writeSync(fd, bytes, offset, bytes.length - offset);
}

/** The rename is durable once the directory is: fsync it off the event loop. */
function syncDirectoryAsync(dir: string, done: (error: Error | null) => void): void {
  fs.open(dir, 'r', (openError, fd) => {
    if (openError) { done(openError); return; }
    fs.fsync(fd, (syncError) => {
      fs.close(fd, () => done(syncError));
    });
  });
}
