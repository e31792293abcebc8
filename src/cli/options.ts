// The connection options shared by pub, sub and bench, with mosquitto_pub/sub's letters, defaults
// and error messages; turns parsed flags into one typed, validated ConnectionOptions. No sockets.
//
// API for commands (pub, sub, bench):
//   builder: (yargs) => withConnectionOptions(yargs).option(...your own options...)
//   handler: const connection = connectionOptionsFromArgv(argv, 'sub');   // throws UsageError
//            then `await connectClient(connection, { stdout })` from src/client/connect.ts, which
//            resolves on CONNACK 0 with { client (MQTT.js), closed, disconnect() } and otherwise
//            throws ClientError (mosquitto's stderr text + exit status); wrap calls with
//            `rethrowForCli(error)` to turn it into the CliError main.ts prints.
//            `onClient(client)` runs before CONNECT (attach 'message' listeners there to see
//            messages that arrive with the CONNACK); `signal` (AbortSignal) ends a pending attempt.
// - Every connection flag mosquitto_pub/sub share is declared here, grouped for --help:
//   -h -p -L --unix -A --nodelay -k -i -I -V -q, -u -P, -c -x, --will-*, TLS, -D, -d --quiet.
//   String flags stay strings (`-i 007`); a repeated scalar flag keeps its last value (mosquitto).
// - `-D/--property` values arrive as one flat list; parsePropertyTokens (src/client/properties.ts)
//   splits it into groups the way mosquitto walks argv (user-property takes two values).
//   Limitation: a -D value starting with '-' (other than a negative number) ends the list.
// - `-L` yields host/port/credentials/TLS and `urlTopic`, already checked as a publish topic
//   (kind 'pub') or a subscription filter (kind 'sub'); the command decides how to use it.
// - mosquitto's default-options file under mqx's name: applyDefaultOptionsFile(argv, 'mqx_sub',
//   builder) merges $XDG_CONFIG_HOME/mqx_sub (or ~/.config/mqx_sub) under the command line.
// - Unsupported mosquitto flags (--psk, --proxy, -S, TLS engines) are declared hidden and rejected
//   with "Error: --psk is not supported by mqx." so the user learns why, not "unknown argument".

import type { Argv } from 'yargs';
import { CliError, UsageError } from './errors.js';
import { ClientError } from '../client/errors.js';
import type { ConnectionOptions, ProtocolVersion, TlsOptions, Transport, WillOptions } from '../client/connection-options.js';
import { PropertyError, emptyPropertySet, hasProperties, parsePropertyTokens } from '../client/properties.js';
import { isValidMqttString, isValidPublishTopic, isValidTopicFilter } from '../client/topics.js';

export type { ConnectionOptions } from '../client/connection-options.js';
export { applyDefaultOptionsFile, defaultOptionsPath, defaultOptionsTokens } from './options-file.js';

/** Which tool's rules apply: the -L topic is a publish topic for pub, a filter for sub. */
export type ClientKind = 'pub' | 'sub';

const UNSUPPORTED = ['psk', 'psk-identity', 'proxy', 'tls-engine', 'keyform', 'tls-engine-kpass-sha1', 'S'] as const;

const GROUP_CONNECTION = 'Connection:';
const GROUP_AUTH = 'Authentication:';
const GROUP_SESSION = 'Session:';
const GROUP_WILL = 'Will:';
const GROUP_TLS = 'TLS:';
const GROUP_V5 = 'MQTT 5:';
const GROUP_DIAGNOSTICS = 'Diagnostics:';

/** The TLS flags of mosquitto_pub/sub, shared by pub, sub and bench (whose other letters differ). */
export function withTlsOptions<T>(yargs: Argv<T>): Argv<T> {
  return yargs
    .option('cafile', { type: 'string', group: GROUP_TLS, describe: 'trusted CA certificates file (enables TLS)' })
    .option('capath', { type: 'string', group: GROUP_TLS, describe: 'directory of trusted CA certificates (enables TLS)' })
    .option('cert', { type: 'string', group: GROUP_TLS, describe: 'client certificate (PEM)' })
    .option('key', { type: 'string', group: GROUP_TLS, describe: 'client private key (PEM)' })
    .option('ciphers', { type: 'string', group: GROUP_TLS, describe: 'OpenSSL cipher list' })
    .option('insecure', { type: 'boolean', group: GROUP_TLS, describe: 'do not check the server hostname' })
    .option('tls-version', { type: 'string', group: GROUP_TLS, describe: 'tlsv1.3, tlsv1.2 or tlsv1.1' })
    .option('tls-alpn', { type: 'string', group: GROUP_TLS, describe: 'TLS ALPN protocol' })
    .option('tls-use-os-certs', { type: 'boolean', group: GROUP_TLS, describe: 'trust the system CA certificates' });
}

/** Adds every shared connection flag to a command's yargs builder. */
export function withConnectionOptions<T>(yargs: Argv<T>): Argv<T & Record<string, unknown>> {
  const beforeTls = yargs
    .option('host', { alias: 'h', type: 'string', group: GROUP_CONNECTION, describe: 'broker host (default localhost)' })
    .option('port', { alias: 'p', type: 'string', group: GROUP_CONNECTION, describe: 'broker port (default 1883, 8883 with TLS)' })
    .option('url', { alias: 'L', type: 'string', group: GROUP_CONNECTION, describe: 'mqtt(s)|ws(s)://[user[:password]@]host[:port]/topic' })
    .option('unix', { type: 'string', group: GROUP_CONNECTION, describe: 'connect through this unix socket path' })
    .option('A', { type: 'string', group: GROUP_CONNECTION, describe: 'bind the outgoing socket to this local address' })
    .option('nodelay', { type: 'boolean', group: GROUP_CONNECTION, describe: "disable Nagle's algorithm" })
    .option('protocol-version', { alias: 'V', type: 'string', group: GROUP_CONNECTION, describe: 'MQTT version: 5, 311 or 31 (mqttv5, mqttv311, mqttv31; default 311)' })
    .option('keepalive', { alias: 'k', type: 'string', group: GROUP_CONNECTION, describe: 'keepalive in seconds, 5..65535 (default 60)' })
    .option('id', { alias: 'i', type: 'string', group: GROUP_CONNECTION, describe: 'client id (default: the broker assigns one)' })
    .option('id-prefix', { alias: 'I', type: 'string', group: GROUP_CONNECTION, describe: 'client id = this prefix + the process id' })
    .option('qos', { alias: 'q', type: 'string', group: GROUP_CONNECTION, describe: 'quality of service 0, 1 or 2 (default 0)' })
    .option('username', { alias: 'u', type: 'string', group: GROUP_AUTH, describe: 'username' })
    .option('pw', { alias: 'P', type: 'string', group: GROUP_AUTH, describe: 'password' })
    .option('disable-clean-session', { alias: 'c', type: 'boolean', group: GROUP_SESSION, describe: 'keep the session (requires -i)' })
    .option('x', { type: 'string', group: GROUP_SESSION, describe: 'MQTT 5 session expiry in seconds (-1 or ∞: never)' })
    .option('will-topic', { type: 'string', group: GROUP_WILL, describe: 'topic of the Will message' })
    .option('will-payload', { type: 'string', group: GROUP_WILL, describe: 'payload of the Will message' })
    .option('will-qos', { type: 'string', group: GROUP_WILL, describe: 'QoS of the Will message' })
    .option('will-retain', { type: 'boolean', group: GROUP_WILL, describe: 'retain the Will message' });
  let parser = withTlsOptions(beforeTls)
    .option('property', { alias: 'D', type: 'string', array: true, group: GROUP_V5, describe: 'MQTT 5 property: -D <command> <name> <value> (user-property: <key> <value>); implies -V 5' })
    .option('debug', { alias: 'd', type: 'boolean', group: GROUP_DIAGNOSTICS, describe: 'print packets sent and received' })
    .option('quiet', { type: 'boolean', group: GROUP_DIAGNOSTICS, describe: 'do not print runtime errors' });
  for (const name of UNSUPPORTED) {
    parser = parser.option(name, { type: 'string', hidden: true });
  }
  return parser as Argv<T & Record<string, unknown>>;
}

/** The last value of a flag given several times (mosquitto keeps the last one). */
function last<V>(value: V | V[] | undefined): V | undefined {
  return Array.isArray(value) ? value[value.length - 1] : value;
}

function str(argv: Record<string, unknown>, key: string): string | undefined {
  const value = last(argv[key] as string | string[] | undefined);
  return value === undefined ? undefined : String(value);
}

function flag(argv: Record<string, unknown>, key: string): boolean {
  return last(argv[key] as boolean | boolean[] | undefined) === true;
}

/** A value flag given without its value: mosquitto's "-h argument given but no host specified." */
function required(argv: Record<string, unknown>, key: string, message: string): string | undefined {
  const value = str(argv, key);
  if (value === '') throw new UsageError(`Error: ${message}`);
  return value;
}

/** atoi: the leading integer of a string, 0 when there is none. */
export function atoi(text: string): number {
  const match = /^\s*([+-]?\d+)/.exec(text);
  return match ? Number(match[1]) : 0;
}

function parseQos(text: string, message: (value: string) => string): 0 | 1 | 2 {
  const trimmed = text.trim();
  const value = /^[+-]?\d+$/.test(trimmed) ? Number(trimmed) : NaN;
  if (value !== 0 && value !== 1 && value !== 2) throw new UsageError(message(Number.isNaN(value) ? text : String(value)));
  return value;
}

export function parseProtocolVersion(text: string): ProtocolVersion {
  switch (text) {
    case 'mqttv31': case '31': return 3;
    case 'mqttv311': case '311': return 4;
    case 'mqttv5': case '5': return 5;
    default: throw new UsageError('Error: Invalid protocol version argument given.');
  }
}

interface ParsedUrl {
  transport: Transport;
  host: string;
  port: number;
  username?: string;
  password?: string;
  topic: string;
}

/** mosquitto's -L: scheme://[user[:password]@]host[:port]/topic (ws and wss are mqx additions). */
export function parseUrl(url: string): ParsedUrl {
  const schemes: [string, Transport, number][] = [['mqtt://', 'mqtt', 1883], ['mqtts://', 'mqtts', 8883], ['ws://', 'ws', 1883], ['wss://', 'wss', 8883]];
  const scheme = schemes.find(([prefix]) => url.toLowerCase().startsWith(prefix));
  if (!scheme) throw new UsageError('Error: unsupported URL scheme.');
  let rest = url.slice(scheme[0].length);
  const slash = rest.indexOf('/');
  if (slash < 0) throw new UsageError('Error: Invalid URL for -L argument specified - topic missing.');
  const topic = rest.slice(slash + 1);
  rest = rest.slice(0, slash);
  const result: ParsedUrl = { transport: scheme[1], host: rest, port: scheme[2], topic };
  const at = rest.indexOf('@');
  if (at >= 0) {
    const credentials = rest.slice(0, at);
    const colon = credentials.indexOf(':');
    if (colon >= 0) {
      result.username = credentials.slice(0, colon);
      result.password = credentials.slice(colon + 1);
    } else {
      result.username = credentials;
    }
    rest = rest.slice(at + 1);
  }
  const colon = rest.indexOf(':');
  if (colon >= 0) {
    result.port = atoi(rest.slice(colon + 1));
    rest = rest.slice(0, colon);
  }
  result.host = rest;
  return result;
}

/** Checks a topic named on the command line (-t, -L, --will-topic) the way mosquitto does. */
export function checkTopicArgument(topic: string, kind: ClientKind, argumentName: string): void {
  if (!isValidMqttString(topic)) throw new UsageError(`Error: Malformed UTF-8 in ${argumentName} argument.`);
  if (kind === 'pub' && !isValidPublishTopic(topic)) {
    throw new UsageError(`Error: Invalid publish topic '${topic}', does it contain '+' or '#'?`);
  }
  if (kind === 'sub' && !isValidTopicFilter(topic)) {
    throw new UsageError(`Error: Invalid subscription topic '${topic}', are all '+' and '#' wildcards correct?`);
  }
}

const UINT32_MAX = 0xffffffff;

function sessionExpiry(text: string): number {
  if (text === '∞') return UINT32_MAX;
  const trimmed = text.trim();
  // strtol(base 0): decimal, 0x hex or 0 octal, the whole argument must be a number.
  let value: number;
  if (/^[+-]?0x[0-9a-f]+$/i.test(trimmed)) value = (trimmed.startsWith('-') ? -1 : 1) * parseInt(trimmed.replace(/^[+-]/, ''), 16);
  else if (/^[+-]?0[0-7]+$/.test(trimmed)) value = parseInt(trimmed, 8);
  else if (/^[+-]?\d+$/.test(trimmed)) value = Number(trimmed);
  else throw new UsageError('Error: session-expiry-interval not a number.');
  if (value > UINT32_MAX || value < -1) throw new UsageError('Error: session-expiry-interval out of range.');
  return value === -1 ? UINT32_MAX : value;
}

function tlsVersion(text: string | undefined): TlsOptions['version'] {
  if (text === undefined) return undefined;
  if (text === 'tlsv1.1' || text === 'tlsv1.2' || text === 'tlsv1.3') return text;
  throw new UsageError('Error: Problem setting TLS options, check the options are valid.');
}

/**
 * Validates the shared flags and returns the connection they describe. Throws UsageError with
 * mosquitto's message for anything mosquitto_pub/sub would refuse before connecting.
 */
export function connectionOptionsFromArgv(argv: Record<string, unknown>, kind: ClientKind, pid: number = process.pid): ConnectionOptions {
  for (const name of UNSUPPORTED) {
    if (argv[name] !== undefined) throw new UsageError(`Error: ${name.length === 1 ? '-' : '--'}${name} is not supported by mqx.`);
  }

  // -D first: it switches to MQTT 5 unless -V says otherwise.
  const propertyTokens = (argv.property as string[] | undefined);
  let properties = emptyPropertySet();
  if (propertyTokens !== undefined) {
    if (propertyTokens.length === 0) throw new UsageError('Error: --property argument given but not enough arguments specified.');
    try {
      properties = parsePropertyTokens(propertyTokens.map(String));
    } catch (error) {
      if (error instanceof PropertyError) throw new UsageError(error.message);
      throw error;
    }
  }

  const versionText = required(argv, 'protocol-version', '--protocol-version argument given but no version specified.');
  let protocolVersion: ProtocolVersion = versionText !== undefined ? parseProtocolVersion(versionText) : 4;
  if (hasProperties(properties)) protocolVersion = 5;

  let transport: Transport = 'mqtt';
  let host = required(argv, 'host', '-h argument given but no host specified.') ?? 'localhost';
  let port: number | undefined;
  const portText = required(argv, 'port', '-p argument given but no port specified.');
  if (portText !== undefined) {
    const trimmed = portText.trim();
    port = /^\d+$/.test(trimmed) ? Number(trimmed) : NaN;
    if (!(port >= 1 && port <= 65535)) throw new UsageError(`Error: Invalid port given: ${portText}`);
  }
  let username = str(argv, 'username');
  let password = str(argv, 'pw');
  let urlTopic: string | undefined;
  let useOsCerts = flag(argv, 'tls-use-os-certs');

  const url = required(argv, 'url', '-L argument given but no URL specified.');
  if (url !== undefined) {
    const parsed = parseUrl(url);
    checkTopicArgument(parsed.topic, kind, '-L topic');
    transport = parsed.transport;
    host = parsed.host;
    port = parsed.port;
    if (parsed.username !== undefined) username = parsed.username;
    if (parsed.password !== undefined) password = parsed.password;
    if (transport === 'mqtts' || transport === 'wss') useOsCerts = true;
    urlTopic = parsed.topic;
  }

  const unixPath = required(argv, 'unix', '--unix argument given but no socket path specified.');
  if (unixPath !== undefined) transport = 'unix';

  const id = str(argv, 'id');
  const idPrefix = str(argv, 'id-prefix');
  if (id !== undefined && idPrefix !== undefined) throw new UsageError('Error: -i and -I argument cannot be used together.');

  let keepalive = 60;
  const keepaliveText = required(argv, 'keepalive', '-k argument given but no keepalive specified.');
  if (keepaliveText !== undefined) {
    keepalive = atoi(keepaliveText);
    if (keepalive < 5 || keepalive > 65535) throw new UsageError('Error: Invalid keepalive given, it must be between 5 and 65535 inclusive.');
  }

  const qosText = required(argv, 'qos', '-q argument given but no QoS specified.');
  const qos = qosText === undefined ? 0 : parseQos(qosText, (value) => `Error: Invalid QoS given: ${value}`);

  const will = willOptions(argv);

  // TLS: mosquitto turns it on with a CA, an mqtts/wss URL, --tls-use-os-certs, or port 8883.
  const caFile = required(argv, 'cafile', '--cafile argument given but no file specified.');
  const caPath = required(argv, 'capath', '--capath argument given but no directory specified.');
  const certFile = required(argv, 'cert', '--cert argument given but no file specified.');
  const keyFile = required(argv, 'key', '--key argument given but no file specified.');
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new UsageError('Error: Both certfile and keyfile must be provided if one of them is set.');
  }
  if (port === undefined) port = caFile !== undefined || caPath !== undefined ? 8883 : 1883;
  let tls: TlsOptions | undefined;
  if (transport !== 'unix' && (caFile !== undefined || caPath !== undefined || useOsCerts || port === 8883)) {
    tls = {
      caFile, caPath,
      certFile: caFile !== undefined || caPath !== undefined ? certFile : undefined,
      keyFile: caFile !== undefined || caPath !== undefined ? keyFile : undefined,
      insecure: flag(argv, 'insecure'),
      version: tlsVersion(str(argv, 'tls-version')),
      alpn: str(argv, 'tls-alpn'),
      ciphers: str(argv, 'ciphers'),
      useOsCerts: useOsCerts || (caFile === undefined && caPath === undefined),
    };
    if (transport === 'mqtt') transport = 'mqtts';
    if (transport === 'ws') transport = 'wss';
  }

  // Sessions: -c needs a client id, and in MQTT 5 means "never expire" unless -x says otherwise.
  const cleanSession = !flag(argv, 'disable-clean-session');
  const expiryText = required(argv, 'x', '-x argument given but no session expiry interval specified.');
  let sessionExpiryInterval = expiryText === undefined ? undefined : sessionExpiry(expiryText);
  if (protocolVersion === 5) {
    if (!cleanSession && sessionExpiryInterval === undefined) sessionExpiryInterval = UINT32_MAX;
    if (sessionExpiryInterval === UINT32_MAX && (idPrefix !== undefined || id === undefined)) {
      throw new UsageError('Error: You must provide a client id if you are using an infinite session expiry interval.');
    }
    if (sessionExpiryInterval === 0) sessionExpiryInterval = undefined;
  } else {
    if (!cleanSession && (idPrefix !== undefined || id === undefined)) {
      throw new UsageError('Error: You must provide a client id if you are using the -c option.');
    }
    sessionExpiryInterval = undefined;
  }
  if (sessionExpiryInterval !== undefined) {
    properties.connect = properties.connect.filter((entry) => entry.name !== 'session-expiry-interval');
  }

  // [MQTT-3.1.2-22] (3.1.1): a password requires a user name; mosquitto refuses it up front.
  if (protocolVersion !== 5 && password !== undefined && username === undefined) {
    throw new UsageError('Error: Problem setting username and/or password.');
  }

  return {
    transport,
    host,
    port,
    unixPath,
    username,
    password,
    clientId: idPrefix !== undefined ? `${idPrefix}${pid}` : (id ?? (protocolVersion === 3 ? randomMqtt31Id() : '')),
    keepalive,
    cleanSession,
    sessionExpiryInterval,
    protocolVersion,
    bindAddress: str(argv, 'A'),
    qos,
    debug: flag(argv, 'debug'),
    quiet: flag(argv, 'quiet'),
    noDelay: flag(argv, 'nodelay'),
    will,
    tls,
    properties,
    urlTopic,
  };
}

/**
 * MQTT 3.1 needs a 1..23 character client id (the empty id of [MQTT-3.1.3-6] is 3.1.1), so like libmosquitto send
 * "mosq-" and 18 random letters and digits (23 characters, the 3.1 limit).
 */
function randomMqtt31Id(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let id = 'mosq-';
  for (let i = 0; i < 18; i++) id += alphabet[Math.floor(Math.random() * alphabet.length)];
  return id;
}

function willOptions(argv: Record<string, unknown>): WillOptions | undefined {
  const topic = required(argv, 'will-topic', '--will-topic argument given but no will topic specified.');
  const payload = str(argv, 'will-payload');
  const retain = flag(argv, 'will-retain');
  const qosText = required(argv, 'will-qos', '--will-qos argument given but no will QoS specified.');
  const qos = qosText === undefined ? 0 : parseQos(qosText, (value) => `Error: Invalid will QoS ${value}.`);
  if (topic !== undefined) {
    if (!isValidMqttString(topic)) throw new UsageError('Error: Malformed UTF-8 in --will-topic argument.');
    if (!isValidPublishTopic(topic)) throw new UsageError(`Error: Invalid will topic '${topic}', does it contain '+' or '#'?`);
  }
  if (payload !== undefined && topic === undefined) throw new UsageError('Error: Will payload given, but no will topic given.');
  if (retain && topic === undefined) throw new UsageError('Error: Will retain given, but no will topic given.');
  if (topic === undefined) return undefined;
  return { topic, payload: Buffer.from(payload ?? '', 'utf8'), qos, retain };
}

/** Turns a ClientError from src/client into the CliError main.ts prints; rethrows anything else. */
export function rethrowForCli(error: unknown): never {
  if (error instanceof ClientError) throw new CliError(error.message, error.exitCode);
  throw error;
}
