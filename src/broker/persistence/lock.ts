// The store lock: `<store>.lock` holds the PID of the broker using the store, so that a second
// broker (which would interleave its appends and compactions with ours) refuses to start.
// Files and PIDs only; knows nothing of what the store holds.

import * as fs from 'node:fs';

export class StoreLockedError extends Error {
  override name = 'StoreLockedError';
}

/** Lock files this process holds: a PID equal to ours is live only if it is one of these. */
const heldHere = new Set<string>();

export interface StoreLock {
  readonly path: string;
  release(): void;
}

/**
 * Takes `<storePath>.lock`; a lock left by a process that is gone is taken over and `onStale`
 * told. Throws StoreLockedError while a live process holds it.
 */
export function lockStore(storePath: string, onStale: (message: string) => void): StoreLock {
  const path = `${storePath}.lock`;
  // Bounded: each round either takes the lock, refuses, or removed a stale one someone else may race for.
  for (let attempt = 0; attempt < 3; attempt++) {
    if (create(path)) {
      heldHere.add(path);
      return { path, release: () => release(path) };
    }
    let text: string;
    try {
      text = fs.readFileSync(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    const pid = /^\d+\n?$/.test(text) ? Number(text) : NaN;
    if (Number.isInteger(pid) && isRunning(pid, path)) {
      throw new StoreLockedError(`persistence store ${storePath} is in use by process ${pid} (lock file ${path}); two brokers must not share a store`);
    }
    onStale(`Taking over the lock file ${path} left by ${Number.isInteger(pid) ? `process ${pid}, which has exited` : 'a process that did not finish writing it'}.`);
    try { fs.unlinkSync(path); } catch (error) { if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error; }
  }
  throw new StoreLockedError(`persistence store ${storePath}: could not take the lock file ${path} (another broker is starting on it)`);
}

/**
 * Creates the lock with our PID already in it: written to a private temp file, then hard-linked
 * into place (link fails if the lock exists), so the lock is never seen empty; false = it exists.
 */
function create(path: string): boolean {
  const temp = `${path}.${process.pid}.tmp`;
  fs.writeFileSync(temp, `${process.pid}\n`, { mode: 0o600 });
  try {
    fs.linkSync(temp, path);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    // A file system without hard links: exclusive create, then the PID (a crash in between leaves
    // an empty lock, which the next start takes over as unfinished).
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'ENOSYS') return createExclusive(path);
    throw error;
  } finally {
    fs.unlinkSync(temp);
  }
}

function createExclusive(path: string): boolean {
  let fd: number;
  try {
    fd = fs.openSync(path, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try { fs.writeSync(fd, `${process.pid}\n`); } finally { fs.closeSync(fd); }
  return true;
}

function isRunning(pid: number, path: string): boolean {
  // After a SIGKILL our new process may have been given the dead one's PID: then only a lock this process took counts.
  if (pid === process.pid) return heldHere.has(path);
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function release(path: string): void {
  if (!heldHere.delete(path)) return;
  try {
    if (fs.readFileSync(path, 'utf8') === `${process.pid}\n`) fs.unlinkSync(path);
  } catch { /* already gone: nothing to release */ }
}
