// Opens the byte stream under an MQTT connection: TCP, TLS, WebSockets or a unix socket, with
// the bind address, TCP_NODELAY and TLS files of ConnectionOptions. Records how far it got so
// failures can be reported the way mosquitto does. Knows nothing of MQTT packets.

import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { ConnectionOptions, TlsOptions } from './connection-options.js';
import { ClientError } from './errors.js';

/** What happened to the socket, for error classification. */
export interface TransportState {
  /** The TCP (or unix) connection was established. */
  connected: boolean;
  /** The TLS handshake completed (always false without TLS). */
  secured: boolean;
  /** The first error the socket reported. */
  error?: Error & { code?: string };
}

/** TLS material loaded once before connecting, so a missing file fails before any socket opens. */
export interface TlsMaterial {
  ca?: (string | Buffer)[];
  cert?: Buffer;
  key?: Buffer;
}

const SYSTEM_CA_FILES = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/cert.pem'];

function readOrFail(path: string, quiet: boolean): Buffer {
  try {
    return readFileSync(path);
  } catch {
    // mosquitto_tls_set answers MOSQ_ERR_INVAL for an unreadable file; the client prints this.
    throw new ClientError(quiet ? '' : 'Error: Problem setting TLS options: File not found.', 1);
  }
}

/** Reads --cafile/--capath/--cert/--key (and the OS store when asked). */
export async function loadTlsMaterial(tls: TlsOptions, quiet: boolean): Promise<TlsMaterial> {
  const material: TlsMaterial = {};
  const ca: (string | Buffer)[] = [];
  if (tls.caFile !== undefined) ca.push(readOrFail(tls.caFile, quiet));
  if (tls.caPath !== undefined) {
    let names: string[];
    try {
      names = readdirSync(tls.caPath);
    } catch {
      throw new ClientError(quiet ? '' : 'Error: Problem setting TLS options: File not found.', 1);
    }
    for (const name of names) {
      const path = join(tls.caPath, name);
      try {
        if (!statSync(path).isFile()) continue;
        const text = readFileSync(path);
        if (text.includes('-----BEGIN CERTIFICATE-----')) ca.push(text);
      } catch {
        // an unreadable entry in a CA directory is skipped, as OpenSSL's lookup would
      }
    }
  }
  if (tls.useOsCerts) {
    const { rootCertificates } = await import('node:tls');
    ca.push(...rootCertificates);
    for (const file of SYSTEM_CA_FILES) {
      try { ca.push(readFileSync(file)); break; } catch { /* try the next location */ }
    }
  }
  if (ca.length > 0) material.ca = ca;
  if (tls.certFile !== undefined) material.cert = readOrFail(tls.certFile, quiet);
  if (tls.keyFile !== undefined) material.key = readOrFail(tls.keyFile, quiet);
  return material;
}

function tlsConnectOptions(options: ConnectionOptions, material: TlsMaterial) {
  const tls = options.tls!;
  const versions = { 'tlsv1.1': 'TLSv1.1', 'tlsv1.2': 'TLSv1.2', 'tlsv1.3': 'TLSv1.3' } as const;
  return {
    ca: material.ca,
    cert: material.cert,
    key: material.key,
    rejectUnauthorized: true,
    // --insecure skips only the hostname check; the chain is still verified, as in mosquitto.
    ...(tls.insecure ? { checkServerIdentity: () => undefined } : {}),
    ...(tls.version ? { minVersion: versions[tls.version] } : {}),
    ...(tls.alpn ? { ALPNProtocols: [tls.alpn] } : {}),
    ...(tls.ciphers ? { ciphers: tls.ciphers } : {}),
    servername: /^[\d.]+$|:/.test(options.host) ? undefined : options.host,
  };
}

/** Opens the connection's stream; modules load lazily so plain TCP never pays for TLS or ws. */
export async function prepareTransport(options: ConnectionOptions, state: TransportState): Promise<() => Duplex> {
  const material = options.tls ? await loadTlsMaterial(options.tls, options.quiet) : undefined;
  const record = (stream: Duplex) => {
    stream.on('error', (error: Error & { code?: string }) => { state.error ??= error; });
    return stream;
  };
  switch (options.transport) {
    case 'mqtt':
    case 'unix': {
      const net = await import('node:net');
      return () => {
        const socket = options.transport === 'unix'
          ? net.connect({ path: options.unixPath! })
          : net.connect({ host: options.host, port: options.port, localAddress: options.bindAddress, noDelay: options.noDelay });
        socket.once('connect', () => { state.connected = true; });
        return record(socket);
      };
    }
    case 'mqtts': {
      const [net, tls] = await Promise.all([import('node:net'), import('node:tls')]);
      return () => {
        // Our own TCP socket under TLS: -A and --nodelay apply, and "connected" is observable.
        const tcp = net.connect({ host: options.host, port: options.port, localAddress: options.bindAddress, noDelay: options.noDelay });
        tcp.once('connect', () => { state.connected = true; });
        tcp.on('error', (error: Error & { code?: string }) => { state.error ??= error; });
        const socket = tls.connect({ socket: tcp, ...tlsConnectOptions(options, material!) });
        socket.once('secureConnect', () => { state.secured = true; });
        return record(socket);
      };
    }
    case 'ws':
    case 'wss': {
      const { WebSocket, createWebSocketStream } = await import('ws');
      const secure = options.transport === 'wss';
      const host = options.host.includes(':') ? `[${options.host}]` : options.host;
      const url = `${secure ? 'wss' : 'ws'}://${host}:${options.port}/mqtt`;
      return () => {
        const socket = new WebSocket(url, ['mqtt'], {
          localAddress: options.bindAddress,
          ...(secure ? tlsConnectOptions(options, material!) : {}),
        });
        socket.once('upgrade', () => { state.connected = true; state.secured = secure; });
        const stream = createWebSocketStream(socket);
        return record(stream);
      };
    }
  }
}
