// `mqx bench` flags: emqtt-bench's letters for the load (-c -i -I -L -s -n -F), the shared
// connection flags that do not collide with them, and argv -> validated BenchSettings. No sockets.
//
// Why not withConnectionOptions as is: it declares -c (clean session), -i (client id),
// -I (id prefix) and -L (URL), which emqtt-bench users know as count, connect interval, publish
// interval and limit. So this file declares the non-colliding shared flags under the same
// names and hands them to connectionOptionsFromArgv, which stays the one validator.

import type { Argv } from 'yargs';
import { UsageError } from './errors.js';
import { checkTopicArgument, connectionOptionsFromArgv, withTlsOptions } from './options.js';
import type { ConnectionOptions } from './options.js';
import { HEADER_BYTES } from '../bench/header.js';
import { SCENARIOS } from '../bench/scenarios.js';
import type { BenchMode, ScenarioName } from '../bench/types.js';

const GROUP_LOAD = 'Load:';
const GROUP_RUN = 'Run:';
const GROUP_OUTPUT = 'Output:';
const GROUP_CONNECTION = 'Connection:';

/** Shared connection flags bench keeps, with the names connectionOptionsFromArgv reads. */
const SHARED_KEYS = ['host', 'port', 'username', 'pw', 'protocol-version', 'keepalive', 'qos', 'cafile', 'capath', 'cert', 'key', 'ciphers', 'insecure', 'tls-version', 'tls-alpn', 'tls-use-os-certs'] as const;

export function withBenchOptions(yargs: Argv): Argv {
  return withTlsOptions(yargs
    .option('clients', { alias: 'c', type: 'string', group: GROUP_LOAD, describe: 'clients: connections (conn), publishers (pub), subscribers (sub), the many side of a scenario (default 10; conn 100)' })
    .option('interval', { alias: 'i', type: 'string', group: GROUP_LOAD, describe: 'milliseconds between two connection attempts (default 10; 0 = at once)' })
    .option('pub-interval', { alias: 'I', type: 'string', group: GROUP_LOAD, describe: 'milliseconds (decimals allowed: 0.2 = 5000 msg/s) between two messages of one publisher; 0 = as fast as flow control allows (default 1000 for pub, 0 for a scenario)' })
    .option('topic', { alias: 't', type: 'string', group: GROUP_LOAD, describe: 'topic (pub), filter (sub) or topic root (scenario); %i %c %u %rand_N expand per client' })
    .option('size', { alias: 's', type: 'string', group: GROUP_LOAD, describe: `payload bytes, at least ${HEADER_BYTES} (the send-time and sequence header) (default 256)` })
    .option('qos', { alias: 'q', type: 'string', group: GROUP_LOAD, describe: 'QoS of publishes and subscriptions (default 0; 1 for a scenario)' })
    .option('limit', { alias: 'L', type: 'string', group: GROUP_LOAD, describe: 'messages per publisher, then it stops (default: no limit)' })
    .option('inflight', { alias: 'F', type: 'string', group: GROUP_LOAD, describe: 'QoS 1/2 messages in flight per publisher (default 20)' })
    .option('e2e-window', { type: 'string', group: GROUP_LOAD, describe: 'scenario at full speed: messages on their way to each subscriber before publishers wait; 0 = flood (default 20)' })
    .option('retain', { alias: 'r', type: 'boolean', group: GROUP_LOAD, describe: 'publish retained messages' })
    .option('start-number', { alias: 'n', type: 'string', group: GROUP_LOAD, describe: 'first client sequence number, %i (default 0)' })
    .option('prefix', { type: 'string', group: GROUP_LOAD, describe: 'client id prefix; ids are <prefix>_<pub|sub|conn>_<n> (default mqxbench_<random>)' })
    .option('scenario', { type: 'string', choices: [...SCENARIOS], group: GROUP_LOAD, describe: 'no mode: p2p (pairs), fan-in (many to one), fan-out (one to many) (default p2p)' })
    .option('duration', { type: 'string', group: GROUP_RUN, describe: 'seconds to measure, 0 = no limit (default 10; sub and conn: 0)' })
    .option('count', { type: 'string', group: GROUP_RUN, describe: 'messages in total: publishers share it, sub stops after receiving it' })
    .option('warmup', { type: 'string', group: GROUP_RUN, describe: 'seconds of load before measuring (default 0)' })
    .option('broker', { type: 'string', array: true, group: GROUP_RUN, describe: 'compare: "name=command {port}", repeatable; without -h, the broker a scenario starts' })
    .option('repeat', { type: 'string', group: GROUP_RUN, describe: 'compare: runs per broker, interleaved (default 3)' })
    .option('connect-timeout', { type: 'string', group: GROUP_RUN, describe: 'seconds to wait for CONNACK (default 10)' })
    .option('json', { type: 'boolean', group: GROUP_OUTPUT, describe: 'print one JSON object at the end' })
    .option('json-lines', { type: 'boolean', group: GROUP_OUTPUT, describe: 'print a JSON object per second, then the summary object' })
    .option('csv', { type: 'boolean', group: GROUP_OUTPUT, describe: 'print the summary as CSV (header and one row; compare: a row per run)' })
    .option('html', { type: 'string', group: GROUP_OUTPUT, describe: 'write a self-contained HTML report with charts to this file' })
    .option('host', { alias: 'h', type: 'string', group: GROUP_CONNECTION, describe: 'broker host, or hosts a,b (round robin); none: start an mqx broker (scenario)' })
    .option('port', { alias: 'p', type: 'string', group: GROUP_CONNECTION, describe: 'broker port (default 1883, 8883 with TLS)' })
    .option('ifaddr', { type: 'string', group: GROUP_CONNECTION, describe: 'local source addresses a,b (round robin), past the ephemeral-port limit' })
    .option('username', { alias: 'u', type: 'string', group: GROUP_CONNECTION, describe: 'username' })
    .option('pw', { alias: 'P', type: 'string', group: GROUP_CONNECTION, describe: 'password' })
    .option('protocol-version', { alias: 'V', type: 'string', group: GROUP_CONNECTION, describe: 'MQTT version: 5, 311 or 31 (default 311)' })
    .option('keepalive', { alias: 'k', type: 'string', group: GROUP_CONNECTION, describe: 'keepalive in seconds, 5..65535 (default 60)' })
    .option('ws', { type: 'boolean', group: GROUP_CONNECTION, describe: 'connect over WebSockets (path /mqtt)' }));
}

export type OutputFormat = 'text' | 'json' | 'json-lines' | 'csv';

/** Everything a bench run needs from the command line, validated. */
export interface BenchSettings {
  mode: BenchMode | 'compare';
  scenario: ScenarioName;
  connection: ConnectionOptions;
  /** Hosts from -h a,b; empty when -h was not given (a scenario then starts its own broker). */
  hosts: string[];
  ifaddrs: string[];
  websockets: boolean;
  clients: number;
  connectIntervalMs: number;
  publishIntervalMs: number;
  topic: string | undefined;
  size: number;
  limit: number;
  inflight: number;
  e2eWindow: number;
  retain: boolean;
  startNumber: number;
  prefix: string;
  durationS: number;
  count: number;
  warmupS: number;
  brokers: string[];
  repeats: number;
  connectTimeoutMs: number;
  format: OutputFormat;
  html: string | undefined;
}

function last(value: unknown): string | undefined {
  const item = Array.isArray(value) ? value[value.length - 1] : value;
  return item === undefined ? undefined : String(item);
}

/** A whole number >= min, or the default; a clear error naming the flag otherwise. */
function integer(argv: Record<string, unknown>, key: string, flag: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const text = last(argv[key]);
  if (text === undefined) return fallback;
  const value = /^\s*\d+\s*$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`Error: ${flag} must be a whole number ${max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`}, not '${text}'.`);
  }
  return value;
}

function decimal(argv: Record<string, unknown>, key: string, flag: string, unit: string, fallback: number): number {
  const text = last(argv[key]);
  if (text === undefined) return fallback;
  const value = /^\s*\d+(\.\d+)?\s*$/.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(value) || value < 0) throw new UsageError(`Error: ${flag} must be a number of ${unit} >= 0, not '${text}'.`);
  return value;
}

function seconds(argv: Record<string, unknown>, key: string, flag: string, fallback: number): number {
  return decimal(argv, key, flag, 'seconds', fallback);
}

function list(text: string | undefined): string[] {
  return text === undefined ? [] : text.split(',').map((item) => item.trim()).filter((item) => item !== '');
}

function randomPrefix(): string {
  return `mqxbench_${Math.floor(Math.random() * 0xffffff).toString(16).padStart(6, '0')}`;
}

export function benchSettingsFromArgv(argv: Record<string, unknown>, modeText: string | undefined): BenchSettings {
  const mode = (modeText ?? 'scenario') as BenchMode | 'compare';
  if (!['conn', 'pub', 'sub', 'scenario', 'compare'].includes(mode)) {
    throw new UsageError(`Error: unknown bench mode '${modeText}' (conn, pub, sub, compare, or none for a pub/sub scenario).`);
  }
  const scenarioLike = mode === 'scenario' || mode === 'compare';
  const hostText = last(argv.host);
  const hosts = list(hostText);
  if (hostText !== undefined && hosts.length === 0) throw new UsageError('Error: -h argument given but no host specified.');
  if (mode === 'compare' && hosts.length > 0) throw new UsageError('Error: compare starts its brokers itself: use --broker "name=command {port}", not -h.');

  // The shared validator sees only the shared flags (and the first host); bench adds the rest.
  const shared: Record<string, unknown> = {};
  for (const key of SHARED_KEYS) if (argv[key] !== undefined) shared[key] = argv[key];
  if (hosts.length > 0) shared.host = hosts[0];
  if (shared.qos === undefined && scenarioLike) shared.qos = '1';
  const connection = connectionOptionsFromArgv(shared, 'pub');
  const websockets = argv.ws === true;
  if (websockets) connection.transport = connection.tls ? 'wss' : 'ws';

  const clients = integer(argv, 'clients', '-c', mode === 'conn' ? 100 : 10, 1, 1_000_000);
  const size = integer(argv, 'size', '-s', 256, 0, 268_435_000);
  if (mode !== 'conn' && mode !== 'sub' && size < HEADER_BYTES) {
    throw new UsageError(`Error: -s ${size} is smaller than the ${HEADER_BYTES}-byte header that carries the send time and sequence number.`);
  }
  const topic = last(argv.topic);
  if (topic !== undefined) {
    if (topic === '') throw new UsageError('Error: -t argument given but no topic specified.');
    checkTopicArgument(topic.replace(/%(i|c|u|rand_\d+)/g, 'x'), mode === 'sub' ? 'sub' : 'pub', '-t');
  }
  if ((mode === 'pub' || mode === 'sub') && topic === undefined) throw new UsageError(`Error: bench ${mode} needs a topic (-t).`);

  const formats = (['json', 'json-lines', 'csv'] as const).filter((name) => argv[name] === true);
  if (formats.length > 1) throw new UsageError(`Error: choose one of --${formats.join(', --')}.`);
  const html = last(argv.html);
  if (html === '') throw new UsageError('Error: --html argument given but no file specified.');

  const brokers = ((argv.broker as string[] | undefined) ?? []).map(String);
  if (mode === 'compare' && brokers.length === 0) throw new UsageError('Error: compare needs at least one --broker "name=command {port}".');
  if (mode !== 'compare' && mode !== 'scenario' && brokers.length > 0) throw new UsageError('Error: --broker is for compare and the pub/sub scenario.');
  if (mode === 'scenario' && brokers.length > 1) throw new UsageError('Error: a scenario runs against one broker; use compare for several.');
  if (mode === 'scenario' && brokers.length === 1 && hosts.length > 0) throw new UsageError('Error: give either -h (a running broker) or --broker (a command to start), not both.');
  if (brokers.some((spec) => !spec.includes('{port}'))) throw new UsageError('Error: a --broker command must contain {port}, where the free port goes.');

  const hasLimit = argv.limit !== undefined || argv.count !== undefined;
  const defaultDuration = mode === 'conn' || mode === 'sub' || hasLimit ? 0 : 10;
  return {
    mode,
    scenario: (last(argv.scenario) ?? 'p2p') as ScenarioName,
    connection,
    hosts,
    ifaddrs: list(last(argv.ifaddr)),
    websockets,
    clients,
    connectIntervalMs: integer(argv, 'interval', '-i', 10, 0),
    publishIntervalMs: decimal(argv, 'pub-interval', '-I', 'milliseconds', scenarioLike ? 0 : 1000),
    topic,
    size,
    limit: integer(argv, 'limit', '-L', 0, 0) || Infinity,
    inflight: integer(argv, 'inflight', '-F', 20, 1, 65535),
    e2eWindow: integer(argv, 'e2e-window', '--e2e-window', 20, 0),
    retain: argv.retain === true,
    startNumber: integer(argv, 'start-number', '-n', 0, 0),
    prefix: last(argv.prefix) ?? randomPrefix(),
    durationS: seconds(argv, 'duration', '--duration', defaultDuration),
    count: integer(argv, 'count', '--count', 0, 0),
    warmupS: seconds(argv, 'warmup', '--warmup', 0),
    brokers,
    repeats: integer(argv, 'repeat', '--repeat', 3, 1, 100),
    connectTimeoutMs: seconds(argv, 'connect-timeout', '--connect-timeout', 10) * 1000 || 10000,
    format: formats[0] ?? 'text',
    html,
  };
}
