// WebSockets listener (plain or over TLS): accepts an upgrade on any path, as Mosquitto does
// (so `/mqtt` clients work too), and hands the broker a duplex of binary frames. No MQTT here.

import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { WebSocketServer } from 'ws';
import type { WebSocket, RawData } from 'ws';
import { socketInfo, tlsServerOptions } from './tls.js';
import type { CertificateStreamInfo, ListenerTlsOptions } from './tls.js';
import { LISTEN_BACKLOG, peerAddress } from './transport.js';
import type { AcceptStream, BoundAddress } from './transport.js';

/** Subprotocols MQTT clients offer: `mqtt` (3.1.1 and 5.0) and `mqttv3.1` (MQTT 3.1). */
const SUBPROTOCOLS = ['mqtt', 'mqttv3.1', 'mqttv31'];

/** Largest frame accepted: the largest MQTT packet; the broker applies max_packet_size itself. */
const MAX_FRAME = 268_435_460;

export interface WsListenOptions {
  port: number;
  host?: string;
  name?: string;
  /** IPv6 only, no IPv4-mapped clients (Mosquitto's socket_domain ipv6). */
  ipv6Only?: boolean;
  /** Present for WebSockets over TLS (wss). */
  tls?: ListenerTlsOptions;
  onClientError?: (message: string, remoteAddress: string) => void;
}

export interface WsTransport {
  readonly address: Omit<BoundAddress, 'protocol'> & { protocol: 'websockets' };
  close(): Promise<void>;
}

/**
 * One WebSocket as a byte stream. Writes batched by cork() go out as one binary frame;
 * reading pauses the socket when the broker stops reading (backpressure both ways).
 */
export class WebSocketDuplex extends Duplex {
  constructor(private readonly socket: WebSocket) {
    super();
    socket.on('message', (data: RawData, isBinary: boolean) => {
      // [MQTT-6.0.0-1] MQTT travels in binary frames only; anything else closes the connection.
      if (!isBinary) { this.destroy(new Error('text WebSocket frame')); return; }
      const chunk = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      if (!this.push(chunk)) socket.pause();
    });
    socket.on('close', () => {
      this.push(null);
      this.destroy();
    });
    socket.on('error', (error: Error) => this.destroy(error));
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.send(chunk, callback);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    this.send(chunks.length === 1 ? chunks[0]!.chunk : Buffer.concat(chunks.map((entry) => entry.chunk)), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.close(1000);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.socket.readyState !== this.socket.CLOSED) this.socket.terminate();
    callback(error);
  }

  private send(data: Buffer, callback: (error?: Error | null) => void): void {
    if (this.socket.readyState !== this.socket.OPEN) { callback(); return; }
    this.socket.send(data, { binary: true }, (error) => callback(error ?? null));
  }
}

/** Listens; resolves once bound (port 0 = any free port) or rejects with the bind or TLS error. */
export function listenWebSockets(options: WsListenOptions, accept: AcceptStream): Promise<WsTransport> {
  const name = options.name ?? String(options.port);
  const tls = options.tls;
  let server: HttpServer;
  try {
    server = tls ? createHttpsServer(tlsServerOptions(tls)) : createHttpServer();
  } catch (error) {
    return Promise.reject(error);
  }
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_FRAME,
    perMessageDeflate: false,
    // An unknown subprotocol gets none back (the client decides); no subprotocol is accepted.
    handleProtocols: (offered: Set<string>) => SUBPROTOCOLS.find((protocol) => offered.has(protocol)) ?? false,
  });
  server.on('request', (_request, response) => {
    response.writeHead(426, { 'Content-Type': 'text/plain', Upgrade: 'websocket' });
    response.end('This port speaks MQTT over WebSockets only.\n');
  });
  server.on('upgrade', (request: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', () => {});
    wss.handleUpgrade(request, socket, head, (ws) => {
      const info: CertificateStreamInfo = tls
        ? socketInfo(socket as TLSSocket, name, tls)
        : { remoteAddress: peerAddress(socket), listener: name };
      (socket as Socket).setNoDelay(true);
      accept(new WebSocketDuplex(ws), info);
    });
  });
  server.on('clientError', (error: Error, socket: Socket) => {
    options.onClientError?.(error.message, peerAddress(socket));
    socket.destroy();
  });
  if (tls) {
    server.on('tlsClientError', (error: Error, socket: TLSSocket) => options.onClientError?.(error.message, peerAddress(socket)));
  }
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: options.port, host: options.host, ipv6Only: options.ipv6Only === true, backlog: LISTEN_BACKLOG }, () => {
      server.off('error', reject);
      server.on('error', () => {});
      const bound = server.address();
      const address = typeof bound === 'object' && bound !== null
        ? { protocol: 'websockets' as const, host: bound.address, port: bound.port, family: bound.family }
        : { protocol: 'websockets' as const, host: String(bound), port: options.port, family: 'unix' };
      resolve({
        address,
        // Stop accepting; upgraded connections are the broker's to close.
        close: async () => { server.close(); wss.close(); },
      });
    });
  });
}
