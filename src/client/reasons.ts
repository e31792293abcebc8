// The texts mosquitto prints for CONNACK codes, MQTT 5 reason codes, libmosquitto errors and errno
// values, so mqx's stderr reads exactly like mosquitto_pub/sub's. Pure lookups.

/** mosquitto_connack_string: MQTT 3.1/3.1.1 CONNACK return codes. */
export function connackString(code: number): string {
  switch (code) {
    case 0: return 'Connection Accepted.';
    case 1: return 'Connection Refused: unacceptable protocol version.';
    case 2: return 'Connection Refused: identifier rejected.';
    case 3: return 'Connection Refused: broker unavailable.';
    case 4: return 'Connection Refused: bad user name or password.';
    case 5: return 'Connection Refused: not authorised.';
    default: return 'Connection Refused: unknown reason.';
  }
}

const REASONS: Record<number, string> = {
  0: 'Success', 1: 'Granted QoS 1', 2: 'Granted QoS 2', 4: 'Disconnect with Will Message',
  16: 'No matching subscribers', 17: 'No subscription existed', 24: 'Continue authentication', 25: 'Re-authenticate',
  128: 'Unspecified error', 129: 'Malformed Packet', 130: 'Protocol Error', 131: 'Implementation specific error',
  132: 'Unsupported Protocol Version', 133: 'Client Identifier not valid', 134: 'Bad User Name or Password',
  135: 'Not authorized', 136: 'Server unavailable', 137: 'Server busy', 138: 'Banned', 139: 'Server shutting down',
  140: 'Bad authentication method', 141: 'Keep Alive timeout', 142: 'Session taken over', 143: 'Topic Filter invalid',
  144: 'Topic Name invalid', 145: 'Packet Identifier in use', 146: 'Packet Identifier not found',
  147: 'Receive Maximum exceeded', 148: 'Topic Alias invalid', 149: 'Packet too large', 150: 'Message rate too high',
  151: 'Quota exceeded', 152: 'Administrative action', 153: 'Payload format invalid', 154: 'Retain not supported',
  155: 'QoS not supported', 156: 'Use another server', 157: 'Server moved', 158: 'Shared Subscriptions not supported',
  159: 'Connection rate exceeded', 160: 'Maximum connect time', 161: 'Subscription identifiers not supported',
  162: 'Wildcard Subscriptions not supported',
};

/** mosquitto_reason_string: MQTT 5 reason codes. */
export function reasonString(code: number): string {
  return REASONS[code] ?? 'Unknown reason';
}

/** libmosquitto error numbers the clients exit with (MOSQ_ERR_*). */
export const MOSQ_ERR = {
  PROTOCOL: 2,
  INVAL: 3,
  NO_CONN: 4,
  CONN_REFUSED: 5,
  CONN_LOST: 7,
  TLS: 8,
  PAYLOAD_SIZE: 9,
  ERRNO: 14,
  KEEPALIVE: 19,
  OVERSIZE_PACKET: 25,
} as const;

/** mosquitto_strerror for the errors a client run can end with. */
export function mosquittoStrerror(code: number): string {
  switch (code) {
    case MOSQ_ERR.PROTOCOL: return 'A network protocol error occurred when communicating with the broker.';
    case MOSQ_ERR.INVAL: return 'Invalid arguments provided.';
    case MOSQ_ERR.NO_CONN: return 'The client is not currently connected.';
    case MOSQ_ERR.CONN_REFUSED: return 'The connection was refused.';
    case MOSQ_ERR.CONN_LOST: return 'The connection was lost.';
    case MOSQ_ERR.TLS: return 'A TLS error occurred.';
    case MOSQ_ERR.PAYLOAD_SIZE: return 'Payload too large.';
    case MOSQ_ERR.KEEPALIVE: return 'Keepalive ping timeout.';
    case MOSQ_ERR.OVERSIZE_PACKET: return 'Packet larger than supported by the server.';
    default: return 'Unknown error.';
  }
}

const ERRNO_TEXT: Record<string, string> = {
  ECONNREFUSED: 'Connection refused',
  ENOENT: 'No such file or directory',
  EADDRNOTAVAIL: 'Cannot assign requested address',
  EADDRINUSE: 'Address already in use',
  ETIMEDOUT: 'Connection timed out',
  EHOSTUNREACH: 'No route to host',
  ENETUNREACH: 'Network is unreachable',
  ECONNRESET: 'Connection reset by peer',
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  ENOTSOCK: 'Socket operation on non-socket',
  ECONNABORTED: 'Software caused connection abort',
  EPIPE: 'Broken pipe',
  EINVAL: 'Invalid argument',
};

/** strerror(errno) for a Node system error code, or undefined when it is not an errno. */
export function errnoText(code: string | undefined): string | undefined {
  return code === undefined ? undefined : ERRNO_TEXT[code];
}

/** Name lookups that fail: mosquitto reports "Unable to connect (Lookup error.)." */
export function isLookupError(code: string | undefined): boolean {
  return code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_FAIL' || code === 'EAI_NONAME' || code === 'EAI_NODATA';
}
