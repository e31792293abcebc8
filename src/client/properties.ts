// MQTT 5 properties given as `-D <command> <property> <value>` (or `... user-property <key> <value>`):
// parsing and validation with mosquitto's messages, and conversion to MQTT.js property objects. Pure.

/** Packets whose properties a client may set from the command line. */
export type PropertyCommand = 'connect' | 'publish' | 'subscribe' | 'unsubscribe' | 'disconnect' | 'will';

type PropertyType = 'byte' | 'int16' | 'int32' | 'varint' | 'binary' | 'string' | 'pair';

interface PropertyInfo {
  /** MQTT.js / mqtt-packet property key. */
  key: string;
  type: PropertyType;
  /** Packets this property may appear in ([MQTT-2.2.2] property table), mosquitto's command names. */
  allowed: string[];
}

const PUBLISH_AND_WILL = ['publish', 'will'];
const ACKS = ['connack', 'puback', 'pubrec', 'pubrel', 'pubcomp', 'suback', 'unsuback', 'disconnect', 'auth'];

/** mosquitto's property names (lib/property_mosq.c), with the packets the MQTT 5 spec allows them in. */
const PROPERTIES: Record<string, PropertyInfo> = {
  'payload-format-indicator': { key: 'payloadFormatIndicator', type: 'byte', allowed: PUBLISH_AND_WILL },
  'message-expiry-interval': { key: 'messageExpiryInterval', type: 'int32', allowed: PUBLISH_AND_WILL },
  'content-type': { key: 'contentType', type: 'string', allowed: PUBLISH_AND_WILL },
  'response-topic': { key: 'responseTopic', type: 'string', allowed: PUBLISH_AND_WILL },
  'correlation-data': { key: 'correlationData', type: 'binary', allowed: PUBLISH_AND_WILL },
  'subscription-identifier': { key: 'subscriptionIdentifier', type: 'varint', allowed: ['publish', 'subscribe'] },
  'session-expiry-interval': { key: 'sessionExpiryInterval', type: 'int32', allowed: ['connect', 'connack', 'disconnect'] },
  'assigned-client-identifier': { key: 'assignedClientIdentifier', type: 'string', allowed: ['connack'] },
  'server-keep-alive': { key: 'serverKeepAlive', type: 'int16', allowed: ['connack'] },
  'authentication-method': { key: 'authenticationMethod', type: 'string', allowed: ['connect', 'connack', 'auth'] },
  'authentication-data': { key: 'authenticationData', type: 'binary', allowed: ['connect', 'connack', 'auth'] },
  'request-problem-information': { key: 'requestProblemInformation', type: 'byte', allowed: ['connect'] },
  'will-delay-interval': { key: 'willDelayInterval', type: 'int32', allowed: ['will'] },
  'request-response-information': { key: 'requestResponseInformation', type: 'byte', allowed: ['connect'] },
  'response-information': { key: 'responseInformation', type: 'string', allowed: ['connack'] },
  'server-reference': { key: 'serverReference', type: 'string', allowed: ['connack', 'disconnect'] },
  'reason-string': { key: 'reasonString', type: 'string', allowed: ACKS },
  'receive-maximum': { key: 'receiveMaximum', type: 'int16', allowed: ['connect', 'connack'] },
  'topic-alias-maximum': { key: 'topicAliasMaximum', type: 'int16', allowed: ['connect', 'connack'] },
  'topic-alias': { key: 'topicAlias', type: 'int16', allowed: ['publish'] },
  'maximum-qos': { key: 'maximumQoS', type: 'byte', allowed: ['connack'] },
  'retain-available': { key: 'retainAvailable', type: 'byte', allowed: ['connack'] },
  'user-property': { key: 'userProperties', type: 'pair', allowed: ['connect', 'connack', 'publish', 'will', 'puback', 'pubrec', 'pubrel', 'pubcomp', 'subscribe', 'suback', 'unsubscribe', 'unsuback', 'disconnect', 'auth'] },
  'maximum-packet-size': { key: 'maximumPacketSize', type: 'int32', allowed: ['connect', 'connack'] },
  'wildcard-subscription-available': { key: 'wildcardSubscriptionAvailable', type: 'byte', allowed: ['connack'] },
  'subscription-identifier-available': { key: 'subscriptionIdentifiersAvailable', type: 'byte', allowed: ['connack'] },
  'shared-subscription-available': { key: 'sharedSubscriptionAvailable', type: 'byte', allowed: ['connack'] },
};

const COMMANDS = ['connect', 'connack', 'publish', 'puback', 'pubrec', 'pubrel', 'pubcomp', 'subscribe', 'unsubscribe', 'disconnect', 'auth', 'will'];
const SETTABLE: PropertyCommand[] = ['connect', 'publish', 'subscribe', 'unsubscribe', 'disconnect', 'will'];

const MAXIMUM: Record<Exclude<PropertyType, 'binary' | 'string' | 'pair'>, number> = {
  byte: 0xff, int16: 0xffff, int32: 0xffffffff, varint: 268435455,
};

export interface PropertyEntry {
  /** mosquitto's name, e.g. `content-type`. */
  name: string;
  value: number | string | Buffer;
  /** The key of a user-property. */
  key?: string;
}

export type PropertySet = Record<PropertyCommand, PropertyEntry[]>;

/** A bad -D argument; the message is mosquitto's, ready for stderr. */
export class PropertyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PropertyError';
  }
}

export function emptyPropertySet(): PropertySet {
  return { connect: [], publish: [], subscribe: [], unsubscribe: [], disconnect: [], will: [] };
}

/** mosquitto reads numbers with atoi/strtol: leading digits count, anything else is 0. */
function leadingInteger(text: string): number {
  const match = /^\s*([+-]?\d+)/.exec(text);
  return match ? Number(match[1]) : 0;
}

/**
 * Parses the values of every -D flag, in command-line order, as one flat list
 * (`connect user-property k v publish content-type text/plain`): the property name decides
 * whether one or two values follow, exactly as mosquitto consumes argv.
 */
export function parsePropertyTokens(tokens: readonly string[], into: PropertySet = emptyPropertySet()): PropertySet {
  let index = 0;
  while (index < tokens.length) {
    index = parseOne(tokens, index, into);
  }
  checkAll(into);
  return into;
}

function parseOne(tokens: readonly string[], index: number, into: PropertySet): number {
  const notEnough = 'Error: --property argument given but not enough arguments specified.';
  if (index + 2 >= tokens.length) throw new PropertyError(notEnough);
  const commandName = tokens[index]!;
  const command = commandName.toLowerCase();
  if (!COMMANDS.includes(command)) throw new PropertyError('Error: Invalid command given in --property argument.');
  const propertyName = tokens[index + 1]!;
  const info = PROPERTIES[propertyName];
  if (!info) throw new PropertyError('Error: Invalid property name given in --property argument.');
  if (!info.allowed.includes(command)) {
    throw new PropertyError(`Error: ${propertyName} property not allowed for ${commandName} in --property argument.`);
  }
  let key: string | undefined;
  let text: string;
  let next: number;
  if (info.type === 'pair') {
    if (index + 3 >= tokens.length) throw new PropertyError(notEnough);
    key = tokens[index + 2]!;
    text = tokens[index + 3]!;
    next = index + 4;
  } else {
    text = tokens[index + 2]!;
    next = index + 3;
  }
  const settable = SETTABLE.find((name) => name === command);
  const unsupported = !settable
    || (settable === 'publish' && propertyName === 'subscription-identifier')
    || (settable === 'subscribe' && propertyName !== 'subscription-identifier' && propertyName !== 'user-property');
  if (unsupported) {
    throw new PropertyError(`Error: ${propertyName} property not supported for ${commandName} in --property argument.`);
  }
  let value: number | string | Buffer;
  if (info.type === 'string' || info.type === 'pair') {
    value = text;
  } else if (info.type === 'binary') {
    value = Buffer.from(text, 'utf8');
  } else {
    value = leadingInteger(text);
    if (value < 0 || value > MAXIMUM[info.type]) {
      throw new PropertyError(`Error: Property value (${value}) out of range for property ${propertyName}.`);
    }
  }
  into[settable!].push(key === undefined ? { name: propertyName, value } : { name: propertyName, key, value });
  return next;
}

const CHECK_NAMES: Record<PropertyCommand, string> = {
  connect: 'CONNECT', publish: 'PUBLISH', subscribe: 'SUBSCRIBE', unsubscribe: 'UNSUBSCRIBE', disconnect: 'DISCONNECT', will: 'Will',
};
const PROTOCOL_ERROR = 'A network protocol error occurred when communicating with the broker.';

/** mosquitto_property_check_all: values the spec forbids and duplicates, per packet. */
function checkAll(set: PropertySet): void {
  for (const command of SETTABLE) {
    const seen = new Set<string>();
    for (const entry of set[command]) {
      const fail = (reason: string) => new PropertyError(`Error in ${CHECK_NAMES[command]} properties: ${reason}`);
      const value = entry.value;
      if ((entry.name === 'request-problem-information' || entry.name === 'request-response-information') && typeof value === 'number' && value > 1) {
        throw fail(PROTOCOL_ERROR); // [MQTT-3.1.2.28], [MQTT-3.1.2.27]: 0 or 1 only
      }
      if ((entry.name === 'receive-maximum' || entry.name === 'topic-alias' || entry.name === 'maximum-packet-size') && value === 0) {
        throw fail(PROTOCOL_ERROR); // zero is a Protocol Error for each of these
      }
      if (entry.name !== 'user-property') {
        if (seen.has(entry.name)) throw fail('Duplicate property in property list');
        seen.add(entry.name);
      }
    }
  }
}

export type MqttProperties = Record<string, unknown>;

/** The MQTT.js / mqtt-packet shape of one packet's properties, or undefined when there are none. */
export function toMqttProperties(entries: readonly PropertyEntry[]): MqttProperties | undefined {
  if (entries.length === 0) return undefined;
  const result: MqttProperties = {};
  for (const entry of entries) {
    const info = PROPERTIES[entry.name]!;
    if (info.type === 'pair') {
      const users = (result.userProperties ??= {}) as Record<string, string | string[]>;
      const existing = users[entry.key!];
      if (existing === undefined) users[entry.key!] = entry.value as string;
      else users[entry.key!] = Array.isArray(existing) ? [...existing, entry.value as string] : [existing, entry.value as string];
    } else if (info.key === 'payloadFormatIndicator' || info.key === 'requestProblemInformation' || info.key === 'requestResponseInformation') {
      // mqtt-packet models these one-byte flags as booleans.
      result[info.key] = entry.value !== 0;
    } else {
      result[info.key] = entry.value;
    }
  }
  return result;
}

/** True when any -D property was given (mosquitto then switches to MQTT 5). */
export function hasProperties(set: PropertySet): boolean {
  return SETTABLE.some((command) => set[command].length > 0);
}
