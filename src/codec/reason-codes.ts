// MQTT reason and return codes with their names, and the error value that carries one.
// Pure data: no I/O, no knowledge of connections (STYLE habit 2).

export const ReasonCode = {
  Success: 0x00,
  GrantedQoS1: 0x01,
  GrantedQoS2: 0x02,
  DisconnectWithWill: 0x04,
  NoMatchingSubscribers: 0x10,
  NoSubscriptionExisted: 0x11,
  ContinueAuthentication: 0x18,
  ReAuthenticate: 0x19,
  UnspecifiedError: 0x80,
  MalformedPacket: 0x81,
  ProtocolError: 0x82,
  ImplementationSpecificError: 0x83,
  UnsupportedProtocolVersion: 0x84,
  ClientIdentifierNotValid: 0x85,
  BadUserNameOrPassword: 0x86,
  NotAuthorized: 0x87,
  ServerUnavailable: 0x88,
  ServerBusy: 0x89,
  Banned: 0x8a,
  ServerShuttingDown: 0x8b,
  BadAuthenticationMethod: 0x8c,
  KeepAliveTimeout: 0x8d,
  SessionTakenOver: 0x8e,
  TopicFilterInvalid: 0x8f,
  TopicNameInvalid: 0x90,
  PacketIdentifierInUse: 0x91,
  PacketIdentifierNotFound: 0x92,
  ReceiveMaximumExceeded: 0x93,
  TopicAliasInvalid: 0x94,
  PacketTooLarge: 0x95,
  MessageRateTooHigh: 0x96,
  QuotaExceeded: 0x97,
  AdministrativeAction: 0x98,
  PayloadFormatInvalid: 0x99,
  RetainNotSupported: 0x9a,
  QoSNotSupported: 0x9b,
  UseAnotherServer: 0x9c,
  ServerMoved: 0x9d,
  SharedSubscriptionsNotSupported: 0x9e,
  ConnectionRateExceeded: 0x9f,
  MaximumConnectTime: 0xa0,
  SubscriptionIdentifiersNotSupported: 0xa1,
  WildcardSubscriptionsNotSupported: 0xa2,
} as const;

export type ReasonCodeValue = (typeof ReasonCode)[keyof typeof ReasonCode];

const NAMES: Record<number, string> = {
  0x00: 'success', 0x01: 'granted qos 1', 0x02: 'granted qos 2', 0x04: 'disconnect with will message',
  0x10: 'no matching subscribers', 0x11: 'no subscription existed', 0x18: 'continue authentication',
  0x19: 're-authenticate', 0x80: 'unspecified error', 0x81: 'malformed packet', 0x82: 'protocol error',
  0x83: 'implementation specific error', 0x84: 'unsupported protocol version', 0x85: 'client identifier not valid',
  0x86: 'bad user name or password', 0x87: 'not authorized', 0x88: 'server unavailable', 0x89: 'server busy',
  0x8a: 'banned', 0x8b: 'server shutting down', 0x8c: 'bad authentication method', 0x8d: 'keep alive timeout',
  0x8e: 'session taken over', 0x8f: 'topic filter invalid', 0x90: 'topic name invalid',
  0x91: 'packet identifier in use', 0x92: 'packet identifier not found', 0x93: 'receive maximum exceeded',
  0x94: 'topic alias invalid', 0x95: 'packet too large', 0x96: 'message rate too high', 0x97: 'quota exceeded',
  0x98: 'administrative action', 0x99: 'payload format invalid', 0x9a: 'retain not supported',
  0x9b: 'qos not supported', 0x9c: 'use another server', 0x9d: 'server moved',
  0x9e: 'shared subscriptions not supported', 0x9f: 'connection rate exceeded', 0xa0: 'maximum connect time',
  0xa1: 'subscription identifiers not supported', 0xa2: 'wildcard subscriptions not supported',
};

/** A human name for a 5.0 reason code ("keep alive timeout"), or `reason 0xNN` when unknown. */
export function reasonName(code: number): string {
  return NAMES[code] ?? `reason 0x${code.toString(16).padStart(2, '0')}`;
}

/** MQTT 3.1 / 3.1.1 CONNACK return codes [MQTT-3.2.2-4 .. -6]. */
export const ConnackReturnCode = {
  Accepted: 0,
  UnacceptableProtocolVersion: 1,
  IdentifierRejected: 2,
  ServerUnavailable: 3,
  BadUserNameOrPassword: 4,
  NotAuthorized: 5,
} as const;

/** Maps a 5.0 CONNACK reason code to the closest 3.1.1 return code, as Mosquitto does. */
export function connackReturnCodeFor(reason: number): number {
  switch (reason) {
    case 0x00: return 0;
    case 0x84: return ConnackReturnCode.UnacceptableProtocolVersion;
    case 0x85: return ConnackReturnCode.IdentifierRejected;
    case 0x86: return ConnackReturnCode.BadUserNameOrPassword;
    case 0x87: case 0x8a: return ConnackReturnCode.NotAuthorized;
    default: return ConnackReturnCode.ServerUnavailable;
  }
}

/**
 * An error that reaches the wire: the reason code tells the one place that closes connections
 * whether to send a 5.0 DISCONNECT, a CONNACK refusal or (3.1.1) just close.
 */
export class MqttError extends Error {
  constructor(readonly reasonCode: number, message: string) {
    super(message);
    this.name = 'MqttError';
  }
}
