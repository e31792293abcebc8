// Plain TCP listening on libuv's handles (direct-tcp.ts): binds and listens as net.Server does,
// with the same errors, and hands each accepted connection to the broker as a DirectSocket.

import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { DirectSocket, uvError } from './direct-tcp.js';
import type { DirectTcp, TcpHandle } from './direct-tcp.js';
import { LISTEN_BACKLOG } from './transport.js';
import type { AcceptStream, BoundAddress, Transport } from './transport.js';

/** Systems whose accepted TCP sockets inherit TCP_NODELAY from the listening socket. */
const NODELAY_INHERITED = new Set(['linux', 'darwin', 'freebsd', 'openbsd', 'netbsd']);

function ignoreConnection(): void {}

export interface DirectTcpListenOptions {
  port: number;
  host?: string;
  /** Listener name for per-listener settings; default the port. */
  name?: string;
  ipv6Only?: boolean;
}

/**
 * Binds and listens as net.Server.listen({ port, host, ipv6Only }) does (no host: `::`, else
 * 0.0.0.0 where IPv6 is missing; a name: its first address), with the same errors; each accepted
 * connection goes to `accept` as a DirectSocket with TCP_NODELAY set.
 */
export async function listenDirectTcp(tcp: DirectTcp, options: DirectTcpListenOptions, accept: AcceptStream): Promise<Transport> {
  // One StreamInfo per listener, shared by its connections (the broker only reads it).
  const info = { listener: options.name ?? String(options.port) };
  const server = await bindServer(tcp, options);
  const status = server.handle.listen(LISTEN_BACKLOG);
  if (status !== 0) {
    server.handle.close(() => {});
    throw uvError(status, 'listen', server.host, options.port);
  }
  // TCP_NODELAY on the listening socket: Linux, macOS and the BSDs copy it to every accepted
  // socket, which saves a setsockopt per connection; elsewhere each socket gets its own.
  const inherited = NODELAY_INHERITED.has(process.platform) && server.handle.setNoDelay(true) === 0;
  server.handle.onconnection = function onConnection(this: TcpHandle, connectStatus: number, client?: TcpHandle): void {
    // A failed accept (e.g. out of file descriptors) leaves nothing to serve; libuv keeps listening.
    if (connectStatus !== 0 || client === undefined) return;
    if (!inherited) client.setNoDelay(true);
    const socket = new DirectSocket(client, tcp);
    accept(socket, info);
    if (!socket.destroyed) socket.start();
  };
  const name: Record<string, unknown> = {};
  server.handle.getsockname(name);
  const family = name.family === 'IPv6' || name.family === 6 ? 'IPv6' : 'IPv4';
  const address: BoundAddress = { protocol: 'mqtt', host: String(name.address), port: Number(name.port), family };
  let closed = false;
  return {
    address,
    // Stop accepting at once: open connections are the broker's to close.
    close: async () => {
      if (closed) return;
      closed = true;
      server.handle.onconnection = ignoreConnection;
      await new Promise<void>((resolve) => server.handle.close(() => resolve()));
    },
  };
}

async function bindServer(tcp: DirectTcp, options: DirectTcpListenOptions): Promise<{ handle: TcpHandle; host: string }> {
  const flags = options.ipv6Only === true ? tcp.ipv6OnlyFlag : 0;
  const tryBind = (host: string, family: number): { handle: TcpHandle; status: number } => {
    const handle = new tcp.TCP(tcp.serverType);
    const status = family === 6 ? handle.bind6(host, options.port, flags) : handle.bind(host, options.port);
    if (status !== 0) handle.close(() => {});
    return { handle, status };
  };
  if (options.host === undefined) {
    // net.Server: the IPv6 any-address (dual stack), or the IPv4 one where IPv6 is unavailable.
    const v6 = tryBind('::', 6);
    if (v6.status === 0) return { handle: v6.handle, host: '::' };
    const v4 = tryBind('0.0.0.0', 4);
    if (v4.status === 0) return { handle: v4.handle, host: '0.0.0.0' };
    throw uvError(v6.status, 'listen', '::', options.port);
  }
  let host = options.host;
  let family = isIP(host);
  if (family === 0) ({ address: host, family } = await lookup(host));
  const bound = tryBind(host, family);
  if (bound.status !== 0) throw uvError(bound.status, 'listen', host, options.port);
  return { handle: bound.handle, host };
}
