// What every listener (tcp, tls, ws, unix) gives the broker: a bound address, a way to stop, and a
// callback per accepted duplex stream; plus the one way they all name a peer.

import { Socket } from 'node:net';
import { DirectSocket } from './direct-tcp.js';

/**
 * Connections the kernel may hold established before the broker accepts them. Past it, a
 * connect storm loses SYNs and those clients wait a 1 s (then 3 s) retransmission: at 1,000
 * handshakes in flight, Node's default of 511 halved mqx's connect rate (8,800/s, against
 * 12,000/s at 4096), and Mosquitto's fixed 100 shows the same collapse from 300 in flight.
 * Linux caps it at net.core.somaxconn (4096 by default since 5.4).
 */
export const LISTEN_BACKLOG = 4096;

export interface StreamInfo {
  /** `host:port` of the peer, for log lines; a plain TCP listener leaves it to the connection to ask its socket when needed. */
  remoteAddress?: string;
  /** Listener name (its port), for per-listener settings and ConnectInfo. */
  listener: string;
  /** TLS listeners taking usernames from certificates: the name, or null without a verified one. */
  certificateUsername?: string | null;
}

/**
 * What the broker asks of a client's stream: any Duplex (net/TLS sockets, WebSocket streams,
 * test pairs) or a DirectSocket (plain TCP on libuv's handle, direct-tcp.ts).
 */
export interface ClientStream {
  readonly destroyed: boolean;
  /** Bytes written but not yet taken by the kernel (bounds the outbound queue). */
  readonly writableLength: number;
  readonly writableNeedDrain: boolean;
  readonly allowHalfOpen?: boolean;
  write(chunk: Buffer): boolean;
  end(): unknown;
  destroy(error?: Error): unknown;
  pause(): unknown;
  resume(): unknown;
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'end' | 'close', listener: () => void): unknown;
  once(event: 'drain' | 'close', listener: () => void): unknown;
}

export type AcceptStream = (stream: ClientStream, info: StreamInfo) => void;

export interface BoundAddress {
  protocol: 'mqtt' | 'websockets';
  host: string;
  port: number;
  family: string;
}

export interface Transport {
  readonly address: BoundAddress;
  /** Stops accepting; existing connections are the broker's to close. */
  close(): Promise<void>;
}

/**
 * `host:port` of a socket's peer as ONE flat string: a template literal leaves a rope of three
 * strings per connection, and issue 3 counts the bytes of every idle connection.
 */
export function peerAddress(socket: { remoteAddress?: string | undefined; remotePort?: number | undefined }): string {
  return Buffer.from(`${socket.remoteAddress ?? 'unknown'}:${socket.remotePort ?? 0}`, 'latin1').toString('latin1');
}

/** Mosquitto's name for a peer in some log lines: its address without the `:port`. */
export function peerHost(address: string): string {
  const colon = address.lastIndexOf(':');
  return colon > 0 && /^\d+$/.test(address.slice(colon + 1)) ? address.slice(0, colon) : address;
}

/** A TCP connection (net, TLS or direct): it has a peer address, and without allowHalfOpen its 'end' is always followed by 'close'. */
export function isTcpSocket(stream: ClientStream): stream is Socket | DirectSocket {
  return stream instanceof DirectSocket || stream instanceof Socket; // the common case first
}

/** The peer of any stream the broker serves: the address its listener gave, else a socket's own, else 'stream'. */
export function streamAddress(stream: ClientStream, given?: string): string {
  return given ?? (isTcpSocket(stream) ? peerAddress(stream) : 'stream');
}
