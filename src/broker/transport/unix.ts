// Unix domain socket listener (`listener 0 /path/to.sock`): removes a stale socket file left by
// a crashed broker, never a live one or a file that is not a socket; hands streams to the broker.

import { createConnection, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { lstatSync, unlinkSync } from 'node:fs';
import { LISTEN_BACKLOG } from './transport.js';
import type { AcceptStream, Transport } from './transport.js';

export interface UnixListenOptions {
  path: string;
  /** Listener name for per-listener settings; default the path. */
  name?: string;
}

/** An error shaped like Node's bind errors, so callers report it the same way. */
function bindError(code: string, message: string, path: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(message);
  error.code = code;
  error.path = path;
  return error;
}

/** Resolves true when something accepts connections on the socket file. */
function socketInUse(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createConnection({ path });
    probe.once('connect', () => { probe.destroy(); resolve(true); });
    probe.once('error', () => resolve(false));
  });
}

/**
 * Clears the way for binding: nothing there is fine; a socket nobody listens on is removed
 * (Mosquitto unlinks unconditionally, which would steal a running broker's socket); a live
 * socket is "in use"; any other kind of file is refused rather than deleted.
 */
export async function removeStaleSocket(path: string): Promise<void> {
  let stat;
  try {
    stat = lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (!stat.isSocket()) throw bindError('EEXIST', `${path} exists and is not a socket; not removing it`, path);
  if (await socketInUse(path)) throw bindError('EADDRINUSE', `${path} is in use by another process`, path);
  unlinkSync(path);
}

/** Listens on the socket path; resolves once bound or rejects with the bind error. */
export async function listenUnix(options: UnixListenOptions, accept: AcceptStream): Promise<Transport> {
  await removeStaleSocket(options.path);
  const name = options.name ?? options.path;
  const server: Server = createServer((socket: Socket) => {
    accept(socket, { remoteAddress: options.path, listener: name });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ path: options.path, backlog: LISTEN_BACKLOG }, () => {
      server.off('error', reject);
      server.on('error', () => {});
      resolve({
        address: { protocol: 'mqtt', host: options.path, port: 0, family: 'unix' },
        // Closing the listening handle unlinks the socket file (libuv); connections stay the broker's.
        close: async () => { server.close(); },
      });
    });
  });
}
