// The only file IO of src/auth: read a text file with a clear error, and replace a file
// atomically (temp file in the same directory, fsync, rename) keeping its mode. No parsing here.

import { closeSync, fchmodSync, fsyncSync, openSync, readFileSync, realpathSync, renameSync, statSync, unlinkSync, writeSync, chownSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

/** A file problem worded for a person: "cannot read ACL file ./acl: no such file". */
export class AuthFileError extends Error {
  constructor(message: string, readonly code?: string) {
    super(message);
    this.name = 'AuthFileError';
  }
}

const REASONS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EISDIR: 'is a directory',
  ENOTDIR: 'a parent is not a directory',
  EROFS: 'read-only file system',
};

function reason(error: unknown): { text: string; code?: string } {
  const code = (error as NodeJS.ErrnoException)?.code;
  return { text: (code && REASONS[code]) ?? (error instanceof Error ? error.message : String(error)), code };
}

/** The file's text, or null when it does not exist (when `missingOk`). */
export function readTextFile(path: string, what: string, missingOk = false): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const { text, code } = reason(error);
    if (missingOk && code === 'ENOENT') return null;
    throw new AuthFileError(`cannot read ${what} ${path}: ${text}`, code);
  }
}

/**
 * Replaces `path` with `text` so that a reader sees the old file or the new one, never half:
 * a temp file beside it, written, fsynced, renamed over, then the directory fsynced.
 * An existing file keeps its mode (and owner, when we may set it); a new one gets `newMode`.
 */
export function writeFileAtomic(shownPath: string, text: string, what: string, newMode = 0o644): void {
  // Write through a symlink (as mosquitto_passwd does with realpath), never replace it.
  let path = shownPath;
  try { path = realpathSync(shownPath); } catch { /* a new file: write it where it was named */ }
  let mode = newMode;
  let owner: { uid: number; gid: number } | null = null;
  try {
    const stat = statSync(path);
    mode = stat.mode & 0o7777;
    owner = { uid: stat.uid, gid: stat.gid };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new AuthFileError(`cannot write ${what} ${shownPath}: ${reason(error).text}`);
  }
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number | null = null;
  try {
    fd = openSync(temp, 'wx', mode);
    // openSync's mode passes through the umask; the file's own mode must survive exactly.
    if (owner) fchmodSync(fd, mode);
    writeSync(fd, text);
    fsyncSync(fd);
    closeSync(fd);
    fd = null;
    if (owner) {
      try { chownSync(temp, owner.uid, owner.gid); } catch { /* not ours to change: keep our own */ }
    }
    renameSync(temp, path);
  } catch (error) {
    if (fd !== null) closeSync(fd);
    try { unlinkSync(temp); } catch { /* already gone */ }
    throw new AuthFileError(`cannot write ${what} ${shownPath}: ${reason(error).text}`);
  }
  try {
    const dir = openSync(dirname(path), 'r');
    try { fsyncSync(dir); } finally { closeSync(dir); }
  } catch { /* some file systems cannot fsync a directory; the rename is done */ }
}
