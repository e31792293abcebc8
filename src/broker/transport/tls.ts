// TLS listener: accepts TLS sockets and hands each one, with the client certificate's identity
// when the listener takes usernames from certificates, to the broker. Never reads files: the
// config layer passes PEM contents. Must not parse MQTT (STYLE habit 7).

import { createServer, createSecureContext, DEFAULT_CIPHERS } from 'node:tls';
import type { SecureContextOptions, TLSSocket, TlsOptions } from 'node:tls';
import type { Server } from 'node:tls';
import { LISTEN_BACKLOG, peerAddress } from './transport.js';
import type { AcceptStream, BoundAddress, StreamInfo, Transport } from './transport.js';

/** A listener's TLS settings with Mosquitto's option names; PEM contents, not file paths. */
export interface ListenerTlsOptions {
  /** certfile: the server certificate chain (PEM). */
  cert: Buffer | string;
  /** keyfile: the server's private key (PEM). */
  key: Buffer | string;
  /** cafile + capath: CAs trusted for client certificates (PEM, one entry per file). */
  ca?: Array<Buffer | string>;
  /** crlfile: revocation lists checked against client certificates (PEM). */
  crl?: Array<Buffer | string>;
  /** dhparamfile (PEM). */
  dhparam?: Buffer | string;
  /** Refuse the handshake without a valid client certificate. */
  require_certificate?: boolean;
  /** Minimum protocol version (Mosquitto 2.0: the minimum, not the only one). */
  tls_version?: 'tlsv1.3' | 'tlsv1.2' | 'tlsv1.1';
  /** OpenSSL cipher list for TLS 1.2 and earlier. */
  ciphers?: string;
  /** TLS 1.3 cipher suites (`ciphers_tls1.3`). */
  ciphers_tls13?: string;
  /** The certificate's Common Name is the client's username (the password is not used). */
  use_identity_as_username?: boolean;
  /** The certificate's whole subject, RFC 2253 form (`CN=x,O=y,C=z`), is the username. */
  use_subject_as_username?: boolean;
}

export interface CertificateStreamInfo extends StreamInfo {
  /**
   * Present only on listeners that take the username from the certificate: the name, or null
   * when the client showed no verified certificate (Mosquitto refuses such a CONNECT with
   * "bad user name or password").
   */
  certificateUsername?: string | null;
}

export interface TlsListenOptions {
  port: number;
  host?: string;
  /** Listener name for per-listener settings; default the port. */
  name?: string;
  /** IPv6 only, no IPv4-mapped clients (Mosquitto's socket_domain ipv6). */
  ipv6Only?: boolean;
  tls: ListenerTlsOptions;
  /** Called for a failed handshake (bad certificate, wrong version), for the log. */
  onClientError?: (message: string, remoteAddress: string) => void;
}

const VERSIONS = { 'tlsv1.3': 'TLSv1.3', 'tlsv1.2': 'TLSv1.2', 'tlsv1.1': 'TLSv1.1' } as const;

/** Node takes TLS 1.2 ciphers and TLS 1.3 suites in one list; an absent half keeps the defaults. */
function cipherList(tls: ListenerTlsOptions): string | undefined {
  if (tls.ciphers === undefined && tls.ciphers_tls13 === undefined) return undefined;
  const defaults = DEFAULT_CIPHERS.split(':');
  const tls13 = tls.ciphers_tls13 ?? defaults.filter((name) => name.startsWith('TLS_')).join(':');
  const tls12 = tls.ciphers ?? defaults.filter((name) => !name.startsWith('TLS_')).join(':');
  return [tls13, tls12].filter((part) => part.length > 0).join(':');
}

/**
 * Node's server options for a listener. A client certificate is requested whenever CAs are
 * given; it is required only with require_certificate (Mosquitto's require_certificate false
 * never asks, mqx asks and uses a valid one when the client offers it).
 */
export function tlsServerOptions(tls: ListenerTlsOptions): TlsOptions {
  const hasCa = tls.ca !== undefined && tls.ca.length > 0;
  const options: TlsOptions = {
    cert: tls.cert,
    key: tls.key,
    requestCert: tls.require_certificate === true || hasCa,
    rejectUnauthorized: tls.require_certificate === true,
    minVersion: VERSIONS[tls.tls_version ?? 'tlsv1.2'],
  };
  if (hasCa) options.ca = tls.ca;
  if (tls.crl !== undefined && tls.crl.length > 0) options.crl = tls.crl;
  if (tls.dhparam !== undefined) options.dhparam = tls.dhparam;
  const ciphers = cipherList(tls);
  if (ciphers !== undefined) options.ciphers = ciphers;
  return options;
}

/**
 * Builds the secure context once, so a key that does not match its certificate, a bad PEM or
 * an unknown cipher is reported before any socket is bound. Throws with OpenSSL's reason.
 */
export function checkTlsOptions(tls: ListenerTlsOptions): void {
  createSecureContext(tlsServerOptions(tls) as SecureContextOptions);
}

/** The certificate's subject as Mosquitto prints it (X509_NAME_print_ex with XN_FLAG_RFC2253). */
export function rfc2253Subject(multiline: string): string {
  return multiline.split('\n').filter((line) => line.length > 0).reverse().join(',');
}

/** The username a verified client certificate gives, per the listener's identity setting. */
export function certificateUsername(socket: TLSSocket, tls: ListenerTlsOptions): string | null | undefined {
  if (!tls.use_identity_as_username && !tls.use_subject_as_username) return undefined;
  if (!socket.authorized) return null;
  if (tls.use_subject_as_username) {
    const certificate = socket.getPeerX509Certificate();
    return certificate === undefined ? null : rfc2253Subject(certificate.subject);
  }
  const commonName = socket.getPeerCertificate().subject?.CN as string | string[] | undefined;
  const first = Array.isArray(commonName) ? commonName[0] : commonName;
  return first === undefined || first === '' ? null : first;
}

export function socketInfo(socket: TLSSocket, name: string, tls: ListenerTlsOptions): CertificateStreamInfo {
  const info: CertificateStreamInfo = { remoteAddress: peerAddress(socket), listener: name };
  const username = certificateUsername(socket, tls);
  if (username !== undefined) info.certificateUsername = username;
  return info;
}

function boundAddress(server: Server, port: number): BoundAddress {
  const bound = server.address();
  return typeof bound === 'object' && bound !== null
    ? { protocol: 'mqtt', host: bound.address, port: bound.port, family: bound.family }
    : { protocol: 'mqtt', host: String(bound), port, family: 'unix' };
}

/** Listens; resolves once bound (port 0 = any free port) or rejects with the bind or TLS error. */
export function listenTls(options: TlsListenOptions, accept: AcceptStream): Promise<Transport> {
  const name = options.name ?? String(options.port);
  let server: Server;
  try {
    server = createServer(tlsServerOptions(options.tls), (socket: TLSSocket) => {
      socket.setNoDelay(true);
      accept(socket, socketInfo(socket, name, options.tls));
    });
  } catch (error) {
    return Promise.reject(error);
  }
  server.on('tlsClientError', (error: Error, socket: TLSSocket) => {
    options.onClientError?.(error.message, peerAddress(socket));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: options.port, host: options.host, ipv6Only: options.ipv6Only === true, backlog: LISTEN_BACKLOG }, () => {
      server.off('error', reject);
      server.on('error', () => {});
      resolve({
        address: boundAddress(server, options.port),
        // Stop accepting at once; open connections are the broker's to close (the server's own
        // 'close' waits for them, which would deadlock a broker closing listeners first).
        close: async () => { server.close(); },
      });
    });
  });
}
