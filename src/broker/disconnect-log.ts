// The lines the broker logs when it closes a client or a client goes away, worded and typed as
// Mosquitto 2.0.11 logs the same event (its do_disconnect and handle_connect). Pure: no I/O.

import { ReasonCode } from '../codec/index.js';
import type { MqttError } from '../codec/index.js';
import type { LogType } from './logger.js';
import { peerHost } from './transport/transport.js';

export type LogLine = [type: LogType, message: string];

/** Who the lines are about. `name` is the client id or `<unknown>`; `address` may carry `:port`. */
export interface DisconnectSubject {
  name: string;
  address: string;
  /** Whether CONNECT was accepted (Mosquitto judges many errors differently before that). */
  connected: boolean;
}


/**
 * Lines Mosquitto logs before its disconnect line for some events, found by the error's text
 * (mqx's own wording in the handlers and codec): [pattern, type, line].
 */
const EVENT_LINES: Array<[RegExp, LogType, (match: RegExpExecArray, subject: DisconnectSubject) => string]> = [
  [/^Invalid protocol version (\d+)$/, 'information', (m, s) => `Invalid protocol version ${m[1]} in CONNECT from ${peerHost(s.address)}.`],
  [/^Invalid protocol "(.*)"$/s, 'information', (m, s) => `Invalid protocol "${m[1]}" in CONNECT from ${peerHost(s.address)}.`],
  [/^will QoS 3 not supported$/, 'information', (_, s) => `Invalid Will QoS in CONNECT from ${peerHost(s.address)}.`],
  [/^password without user name \(client id '(.*)'\)$/s, 'error', (m) => `Protocol error from ${m[1]}: password without username, closing connection.`],
  [/^second CONNECT$/, 'notice', (_, s) => `Bad client ${s.name} sending multiple CONNECT messages.`],
  [/^Invalid subscribe QoS/, 'information', (_, s) => `Invalid QoS in subscription command from ${peerHost(s.address)}, disconnecting.`],
  [/^Packet must not have both QoS bits set to 1$/, 'information', (_, s) => `Invalid QoS in PUBLISH from ${s.name}, disconnecting.`],
];

/** Mosquitto's result codes that decide its disconnect line (do_disconnect's switch). */
type Verdict = 'protocol' | 'malformed' | 'auth' | 'keepalive' | 'oversize' | 'not-supported' | 'inval' | 'utf8' | 'other';

function verdict(subject: DisconnectSubject, error: MqttError): Verdict {
  const message = error.message;
  switch (error.reasonCode) {
    case ReasonCode.KeepAliveTimeout: return 'keepalive';
    case ReasonCode.NotAuthorized:
    case ReasonCode.BadUserNameOrPassword:
    case ReasonCode.Banned:
    case ReasonCode.ConnectionRateExceeded: return 'auth';
    case ReasonCode.PacketTooLarge: return 'oversize';
    case ReasonCode.QoSNotSupported:
    case ReasonCode.RetainNotSupported:
    case ReasonCode.BadAuthenticationMethod:
      // Will QoS 3 is a protocol error to Mosquitto, a will QoS over max_qos "not supported".
      return /^will QoS 3 /.test(message) ? 'protocol' : 'not-supported';
    case ReasonCode.TopicNameInvalid:
      // A topic with U+0000 fails Mosquitto's UTF-8 check: in a will its raw MOSQ_ERR_MALFORMED_UTF8,
      // in a PUBLISH a malformed packet. A will topic with a wildcard fails
      // mosquitto_pub_topic_check() (MOSQ_ERR_INVAL); an empty one is a protocol error.
      if (message.includes('\u0000')) return subject.connected ? 'malformed' : 'utf8';
      return !subject.connected && /^invalid will topic '.+'$/s.test(message) ? 'inval' : 'protocol';
    case ReasonCode.MalformedPacket:
      if (!subject.connected && message === 'invalid UTF-8 in will topic') return 'utf8';
      // Before CONNECT is accepted every fault in it is a protocol error; a bad remaining length or
      // packet type always is.
      if (!subject.connected || message === 'bad remaining length' || /^reserved packet type/.test(message)) return 'protocol';
      return 'malformed';
    case ReasonCode.ProtocolError:
      // A SUBSCRIBE or UNSUBSCRIBE without a payload is malformed to Mosquitto.
      return subject.connected && /^(UN)?SUBSCRIBE without topic filters$/.test(message) ? 'malformed' : 'protocol';
    case ReasonCode.ClientIdentifierNotValid:
    case ReasonCode.UnsupportedProtocolVersion: return 'protocol';
    default: return 'other';
  }
}

/** The lines for a connection the broker closes because of `error` (a CONNACK refusal, a protocol error, a timeout, a takeover). */
export function disconnectLines(subject: DisconnectSubject, error: MqttError): LogLine[] {
  const { name } = subject;
  // Mosquitto logs the takeover (as an error) from the new connection, and nothing for the old one's close.
  if (error.reasonCode === ReasonCode.SessionTakenOver) return [['error', `Client ${name} already connected, closing old connection.`]];
  const lines: LogLine[] = [];
  for (const [pattern, type, line] of EVENT_LINES) {
    const match = pattern.exec(error.message);
    if (match) { lines.push([type, line(match, subject)]); break; }
  }
  switch (verdict(subject, error)) {
    case 'keepalive': lines.push(['notice', `Client ${name} has exceeded timeout, disconnecting.`]); break;
    case 'auth': lines.push(['notice', `Client ${name} disconnected, not authorised.`]); break;
    case 'malformed': lines.push(['notice', `Client ${name} disconnected due to malformed packet.`]); break;
    case 'protocol': lines.push(['notice', `Client ${name} disconnected due to protocol error.`]); break;
    case 'oversize': lines.push(['notice', `Client ${name} disconnected due to oversize packet.`]); break;
    case 'not-supported': lines.push(['notice', `Client ${name} disconnected due to QoS too high or retain not supported.`]); break;
    case 'inval': lines.push(['notice', `Bad socket read/write on client ${name}: Invalid function arguments provided.`]); break;
    case 'utf8': lines.push(['notice', `Bad socket read/write on client ${name}: Malformed UTF-8`]); break;
    default: lines.push(['notice', `Client ${name} disconnected: ${error.message}.`]); break;
  }
  return lines;
}

/** strerror() texts (glibc) for the errors a socket reports, by Node's error code. */
const STRERROR: Record<string, string> = {
  EPIPE: 'Broken pipe',
  ETIMEDOUT: 'Connection timed out',
  ECONNABORTED: 'Software caused connection abort',
  EHOSTUNREACH: 'No route to host',
  ENETUNREACH: 'Network is unreachable',
  ENETDOWN: 'Network is down',
  EHOSTDOWN: 'Host is down',
  ENOTCONN: 'Transport endpoint is not connected',
  ENOBUFS: 'No buffer space available',
  ENOMEM: 'Cannot allocate memory',
  EIO: 'Input/output error',
};

/**
 * The line for a stream that failed: a reset is "closed its connection" (Mosquitto's
 * MOSQ_ERR_CONN_LOST for ECONNRESET); another system error "disconnected: <strerror>."
 */
export function streamErrorLine(name: string, error: Error & { code?: unknown }): LogLine {
  const code = typeof error.code === 'string' ? error.code : '';
  if (code === 'ECONNRESET') return ['notice', `Client ${name} closed its connection.`];
  return ['notice', `Client ${name} disconnected: ${STRERROR[code] ?? error.message}.`];
}

/**
 * The line for a stream the client ended. At the end of a stream Mosquitto reports a packet cut
 * inside its body (header complete) with its stale errno, "disconnected: Success."; otherwise
 * "closed its connection".
 */
export function streamEndLine(name: string, insidePacketBody: boolean): LogLine {
  return ['notice', insidePacketBody ? `Client ${name} disconnected: Success.` : `Client ${name} closed its connection.`];
}

/**
 * Error-type lines about a client's own conduct (Mosquitto logs these as errors), as opposed to a
 * fault of the broker: what tests that require "no error logged" leave out.
 */
export function isClientConductError(message: string): boolean {
  return /^Client .* already connected, closing old connection\.$/s.test(message) || /^Protocol error from .*: password without username, closing connection\.$/s.test(message);
}
