// TCP listener: accepts sockets and hands each one to the broker, as a DirectSocket on libuv's
// handle (direct-tcp.ts) where this Node offers one, else as a net.Socket. Must not parse MQTT
// or know about sessions (STYLE habit 7); TLS, WebSockets, unix are siblings.

import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { loadDirectTcp } from './direct-tcp.js';
import { listenDirectTcp } from './direct-tcp-listen.js';
import { LISTEN_BACKLOG } from './transport.js';
import type { Transport, AcceptStream, BoundAddress } from './transport.js';

export interface TcpListenOptions {
  port: number;
  host?: string;
  /** Listener name for per-listener settings; default the port. */
  name?: string;
  /** IPv6 only, no IPv4-mapped clients (Mosquitto's socket_domain ipv6). */
  ipv6Only?: boolean;
  /** Serve on libuv's TCP handles (direct-tcp.ts) where this Node offers them; else net.Socket. */
  direct?: boolean;
}

/** Listens; resolves once bound (port 0 = any free port) or rejects with the bind error. */
export function listenTcp(options: TcpListenOptions, accept: AcceptStream): Promise<Transport> {
  const direct = options.direct === false ? null : loadDirectTcp();
  if (direct !== null) return listenDirectTcp(direct, options, accept);
  // One StreamInfo per listener, shared by its connections (the broker only reads it).
  const info = { listener: options.name ?? String(options.port) };
  const server: Server = createServer({ noDelay: true }, (socket: Socket) => {
    accept(socket, info);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: options.port, host: options.host, ipv6Only: options.ipv6Only === true, backlog: LISTEN_BACKLOG }, () => {
      server.off('error', reject);
      server.on('error', () => {});
      const bound = server.address();
      const address: BoundAddress = typeof bound === 'object' && bound !== null
        ? { protocol: 'mqtt', host: bound.address, port: bound.port, family: bound.family }
        : { protocol: 'mqtt', host: String(bound), port: options.port, family: 'unix' };
      resolve({
        address,
        // Stop accepting at once: open connections are the broker's to close (the server's own
        // close callback would wait for them, deadlocking a broker that closes listeners first).
        close: async () => { server.close(); },
      });
    });
  });
}
