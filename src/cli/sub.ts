// `mqx sub`: a drop-in for mosquitto_sub 2.0. Turns flags into SubOptions (mosquitto's messages
// and exit statuses), subscribes, and prints each message through src/client/format; never reconnects.

import type { Argv, CommandModule } from 'yargs';
import type { MqttClient } from 'mqtt';
import { CliError, UsageError } from './errors.js';
import { applyDefaultOptionsFile, atoi, checkTopicArgument, connectionOptionsFromArgv, rethrowForCli, withConnectionOptions } from './options.js';
import type { ConnectionOptions } from './options.js';
import { palette, processOutput, startSpinner, type Output } from './output.js';
import { FormatError, formatSettings, type FormatSettings } from '../client/format.js';
import { isValidMqttString, isValidTopicFilter } from '../client/topics.js';
import { ClientError } from '../client/errors.js';

export interface SubOptions {
  connection: ConnectionOptions;
  /** -t (and the -L topic): subscribed together in one SUBSCRIBE. */
  topics: string[];
  /** -T: messages on matching topics are not printed. */
  filterOut: string[];
  /** -U: unsubscribed right after subscribing. */
  unsubscribe: string[];
  format: FormatSettings;
  /** -C: exit after this many messages (0: never). */
  count: number;
  /** -W: seconds before giving up with "Timed out", exit 27 (0: never). */
  timeout: number;
  /** -R: do not print retained messages (and ask an MQTT 5 broker not to send them). */
  noRetained: boolean;
  /** --retained-only: print retained messages, stop at the first live one. */
  retainedOnly: boolean;
  /** --remove-retained: clear each retained message received. */
  removeRetained: boolean;
  /** -E: exit once the SUBACK arrives. */
  exitAfterSubscribe: boolean;
  /** --random-filter: print this many messages out of 1000 (1000: all). */
  randomFilter: number;
  /** --retain-as-published (MQTT 5 subscription option). */
  retainAsPublished: boolean;
  /** --json: one JSON object per line instead of mosquitto's output. */
  json: boolean;
}

const GROUP_SUBSCRIBE = 'Subscribe:';
const GROUP_OUTPUT = 'Output:';
const TIMEOUT_EXIT = 27;
/** mosquitto_sub's exit(-1) when -W or a signal ends it before the CONNACK. */
const ABORT_EXIT = 255;

/** Every flag sub accepts (also used to read the default-options file). */
function subFlags(yargs: Argv): Argv {
  return withConnectionOptions(yargs)
    .usage('Usage: mqx sub {-t topic ... | -L URL} [options]\n\n' +
      'Subscribe to topics and print every message received (mosquitto_sub compatible).\n' +
      'The -F format reference is in `man mqx-sub`.')
    .option('topic', { alias: 't', type: 'string', group: GROUP_SUBSCRIBE, describe: 'topic filter to subscribe to; repeatable' })
    .option('filter-out', { alias: 'T', type: 'string', group: GROUP_SUBSCRIBE, describe: 'do not print topics matching this filter; repeatable' })
    .option('unsubscribe', { alias: 'U', type: 'string', group: GROUP_SUBSCRIBE, describe: 'unsubscribe from this filter after subscribing; repeatable' })
    .option('C', { type: 'string', group: GROUP_SUBSCRIBE, describe: 'exit after this many messages' })
    .option('W', { type: 'string', group: GROUP_SUBSCRIBE, describe: 'exit after this many seconds ("Timed out", exit 27)' })
    .option('E', { type: 'boolean', group: GROUP_SUBSCRIBE, describe: 'exit once the subscriptions are acknowledged' })
    .option('R', { type: 'boolean', group: GROUP_SUBSCRIBE, describe: 'do not print retained (stale) messages' })
    .option('retained-only', { type: 'boolean', group: GROUP_SUBSCRIBE, describe: 'print only retained messages; exit at the first live one' })
    .option('remove-retained', { type: 'boolean', group: GROUP_SUBSCRIBE, describe: 'clear every retained message received' })
    .option('retain-as-published', { type: 'boolean', group: GROUP_SUBSCRIBE, describe: 'MQTT 5: keep the retain flag as published' })
    .option('random-filter', { type: 'string', group: GROUP_SUBSCRIBE, describe: 'print only this percentage (0.1-100) of messages' })
    .option('verbose', { alias: 'v', type: 'boolean', group: GROUP_OUTPUT, describe: 'print "topic payload"' })
    .option('F', { type: 'string', group: GROUP_OUTPUT, describe: 'output format: %t topic, %p payload, %j JSON, ... (man mqx-sub)' })
    .option('N', { type: 'boolean', group: GROUP_OUTPUT, describe: 'no newline after each message' })
    .option('pretty', { type: 'boolean', group: GROUP_OUTPUT, describe: 'indent %j and %J JSON' })
    .option('json', { type: 'boolean', group: GROUP_OUTPUT, describe: 'mqx: one JSON object per line (topic, payload, qos, retain, properties, received_at)' }) as unknown as Argv;
}

function builder(yargs: Argv): Argv {
  return subFlags(yargs)
    .example('mqx sub -t "sensors/#" -v', 'print topic and payload of every sensor message')
    .example('mqx sub -t status -C 1 -W 5', 'wait up to 5 s for one message')
    .example("mqx sub -t '#' -F '%I %t %x'", 'time, topic and hex payload')
    .example('mqx sub -t "#" --json | jq .payload', 'JSON lines for jq')
    .example("mqx sub -t '#' --retained-only --remove-retained", 'clear every retained message') as unknown as Argv;
}

/** Every value a repeatable flag was given, in order. */
function all(value: unknown): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

function last(value: unknown): string | undefined {
  const list = all(value);
  return list.length > 0 ? list[list.length - 1] : undefined;
}

function flag(value: unknown): boolean {
  return (Array.isArray(value) ? value : [value]).some((item) => item === true);
}

/** A value flag given without its value: mosquitto's "-C argument given but no count specified." */
function valueOf(argv: Record<string, unknown>, key: string, message: string): string | undefined {
  const value = last(argv[key]);
  if (value === '') throw new UsageError(`Error: ${message}`);
  return value;
}

function checkFilter(topic: string, argument: string, kind: string): void {
  if (!isValidMqttString(topic)) throw new UsageError(`Error: Malformed UTF-8 in ${argument} argument.`);
  if (!isValidTopicFilter(topic)) throw new UsageError(`Error: Invalid ${kind} topic '${topic}', are all '+' and '#' wildcards correct?`);
}

/** Validates sub's flags on top of the shared ones; throws UsageError with mosquitto's text. */
export function subOptionsFromArgv(argv: Record<string, unknown>): SubOptions {
  const connection = connectionOptionsFromArgv(argv, 'sub');
  const topics: string[] = [];
  if (connection.urlTopic !== undefined) topics.push(connection.urlTopic);
  for (const topic of all(argv.topic)) {
    if (topic === '') throw new UsageError('Error: -t argument given but no topic specified.');
    checkTopicArgument(topic, 'sub', '-t');
    topics.push(topic);
  }
  const filterOut = all(argv['filter-out']);
  for (const filter of filterOut) {
    if (filter === '') throw new UsageError('Error: -T argument given but no topic filter specified.');
    checkFilter(filter, '-T', 'filter');
  }
  const unsubscribe = all(argv.unsubscribe);
  for (const filter of unsubscribe) {
    if (filter === '') throw new UsageError('Error: -U argument given but no unsubscribe topic specified.');
    checkFilter(filter, '-U', 'unsubscribe');
  }

  let count = 0;
  const countText = valueOf(argv, 'C', '-C argument given but no count specified.');
  if (countText !== undefined) {
    count = atoi(countText);
    if (count < 1) throw new UsageError(`Error: Invalid message count "${count}".`);
  }
  let timeout = 0;
  const timeoutText = valueOf(argv, 'W', '-W argument given but no timeout specified.');
  if (timeoutText !== undefined) {
    timeout = atoi(timeoutText);
    if (timeout < 1) throw new UsageError(`Error: Invalid timeout "${timeout}".`);
  }
  let randomFilter = 1000;
  const chanceText = valueOf(argv, 'random-filter', '--random-filter argument given but no chance specified.');
  if (chanceText !== undefined) {
    const chance = Number.parseFloat(chanceText); // atof: NaN means 0
    // Per mille. mosquitto 2.0.11 compares the same number against 10000 and so prints a tenth
    // of what it promises (--random-filter 100 prints ~10%); mqx keeps the documented percentage.
    randomFilter = Math.trunc(10 * (Number.isNaN(chance) ? 0 : chance));
    if (randomFilter > 1000 || randomFilter < 1) throw new UsageError('Error: --random-filter chance must be between 0.1-100.0');
  }
  const formatText = valueOf(argv, 'F', '-F argument given but no format specified.');
  let format: FormatSettings;
  try {
    format = formatSettings({ format: formatText, verbose: flag(argv.verbose), eol: !flag(argv.N), pretty: flag(argv.pretty) });
  } catch (error) {
    if (error instanceof FormatError) throw new UsageError(error.message);
    throw error;
  }

  if (topics.length === 0) throw new UsageError('Error: You must specify a topic to subscribe to.');
  const noRetained = flag(argv.R);
  const retainedOnly = flag(argv['retained-only']);
  if (noRetained && retainedOnly) throw new UsageError("Error: Combining '-R' and '--retained-only' makes no sense.");
  const json = flag(argv.json);
  if (json && (formatText !== undefined || format.verbose || !format.eol || format.pretty)) {
    throw new UsageError('Error: --json cannot be combined with -F, -v, -N or --pretty.');
  }

  return {
    connection, topics, filterOut, unsubscribe, format, count, timeout, noRetained, retainedOnly,
    removeRetained: flag(argv['remove-retained']), exitAfterSubscribe: flag(argv.E), randomFilter,
    retainAsPublished: flag(argv['retain-as-published']), json,
  };
}

/** Why the subscription ended: normally, -W, a signal, a closed stdout, or a lost connection. */
type Ending = { kind: 'done' } | { kind: 'timeout' } | { kind: 'pipe' } | { kind: 'lost'; error: CliError };

interface SubackPacket { cmd: string; messageId?: number; granted?: number[] }
interface PublishPacket { qos: 0 | 1 | 2; retain: boolean; messageId?: number; properties?: Record<string, unknown> }

/** Connects, subscribes and prints messages until -C, -W, -E, --retained-only or a signal ends it. */
export async function runSub(opts: SubOptions, out: Output): Promise<void> {
  const { connection } = opts;
  const [{ connectClient }, { BatchWriter, TraceOrderedSink }, { formatMessage }, { jsonLine }, { topicMatchesFilter }, { toMqttProperties }] = await Promise.all([
    import('../client/connect.js'), import('../client/format-writer.js'), import('../client/format.js'),
    import('../client/json-message.js'), import('../codec/topics.js'), import('../client/properties.js'),
  ]);
  const say = (text: string) => { if (!connection.quiet) out.stderr.write(`${text}\n`); };
  const colours = await palette(out);
  const settings: FormatSettings = out.colour ? { ...opts.format, paintTopic: colours.topic } : opts.format;
  // -d writes packet traces straight to stdout, so messages must not wait in a batch behind them.
  const sink = connection.debug ? new TraceOrderedSink(out.stdout) : new BatchWriter(out.stdout);

  let processing = true;
  let received = 0;
  let pendingRemovals = 0;
  let ending: Ending | undefined;
  let resolveEnded!: (ending: Ending) => void;
  const ended = new Promise<Ending>((resolve) => { resolveEnded = resolve; });
  // mosquitto waits for the PUBACK of the last --remove-retained publish before disconnecting.
  const settle = () => { if (ending && pendingRemovals === 0) resolveEnded(ending); };
  const finish = (why: Ending) => {
    processing = false;
    if (ending === undefined || why.kind === 'lost') ending = why;
    settle();
  };

  /** Listeners go on before CONNECT: a persistent session's queued messages come with the CONNACK. */
  const listen = (client: MqttClient) => {
    client.on('message', (topic: string, payload: Buffer, packet: PublishPacket) => {
      if (!processing) return;
      if (opts.retainedOnly && !packet.retain) { finish({ kind: 'done' }); return; }
      if (packet.retain && opts.noRetained) return;
      for (const filter of opts.filterOut) if (topicMatchesFilter(filter, topic)) return;
      if (opts.removeRetained && packet.retain) {
        pendingRemovals++;
        client.publish(topic, Buffer.alloc(0), { qos: 1, retain: true }, () => { pendingRemovals--; settle(); });
      }
      // As in mosquitto, --random-filter skips printing but the message still counts for -C.
      if (opts.randomFilter >= 1000 || Math.floor(Math.random() * 1000) < opts.randomFilter) {
        const message = { topic, payload, qos: packet.qos, retain: packet.retain, mid: packet.messageId ?? 0, properties: packet.properties };
        if (sink instanceof TraceOrderedSink && packet.qos > 0) sink.holdUntilAcknowledged(message.mid);
        if (opts.json) sink.text(jsonLine(message, new Date()));
        else formatMessage(settings, message, sink, say);
      }
      if (opts.count > 0 && ++received === opts.count) finish({ kind: 'done' });
    });
    client.on('packetreceive', (packet) => {
      const suback = packet as unknown as SubackPacket;
      if (suback.cmd !== 'suback') return;
      const granted = suback.granted ?? [];
      if (connection.debug && !connection.quiet) sink.text(`Subscribed (mid: ${suback.messageId}): ${granted.join(', ')}\n`);
      if (!granted.some((code) => code < 128)) {
        say('All subscription requests were denied.');
        finish({ kind: 'done' });
      }
      if (opts.exitAfterSubscribe) finish({ kind: 'done' });
    });
    if (sink instanceof TraceOrderedSink) {
      client.on('packetsend', (packet) => {
        const ack = packet as unknown as { cmd: string; messageId?: number };
        if (ack.cmd === 'puback' || ack.cmd === 'pubcomp') sink.acknowledged(ack.messageId);
      });
    }
  };

  // -W counts from the connection attempt, as mosquitto_sub's alarm() does. Its handler, like
  // SIGINT's and SIGTERM's, exits at once with status 255 and no message while no CONNACK has come.
  const attempt = new AbortController();
  const abortConnect = () => attempt.abort(new CliError('', ABORT_EXIT));
  let onTimeout = abortConnect;
  let onSignal = abortConnect;
  let timer: NodeJS.Timeout | undefined;
  const signalled = () => onSignal();
  process.on('SIGINT', signalled);
  process.on('SIGTERM', signalled);
  const stopListening = () => { if (timer) clearTimeout(timer); process.off('SIGINT', signalled); process.off('SIGTERM', signalled); };

  const where = connection.transport === 'unix' ? connection.unixPath! : `${connection.host}:${connection.port}`;
  const spinner = await startSpinner(out, `Connecting to ${where}`);
  let session;
  try {
    session = await connectClient(connection, {
      stdout: out.stdout,
      signal: attempt.signal,
      onClient: (client) => {
        listen(client);
        // Started here, not before MQTT.js has loaded: mosquitto_sub's alarm starts at its connect.
        if (opts.timeout > 0) timer = setTimeout(() => onTimeout(), opts.timeout * 1000);
      },
    });
  } catch (error) {
    stopListening();
    if (error instanceof CliError) throw error;
    // mosquitto_sub reports a refused CONNECT with the one "Connection error:" line; the shared
    // client layer follows mosquitto_pub, which adds the libmosquitto error after it.
    if (error instanceof ClientError && error.message.startsWith('Connection error:')) {
      throw new CliError(error.message.split('\n')[0]!, error.exitCode);
    }
    rethrowForCli(error);
  } finally {
    spinner.stop();
  }
  const { client } = session;
  const v5 = connection.protocolVersion === 5;

  void session.closed.then((error) => { if (error) finish({ kind: 'lost', error: new CliError(error.message, error.exitCode) }); });
  // A second Ctrl-C (or TERM) while the first is still disconnecting drops the connection at once.
  onSignal = () => { if (ending) client.end(true); else finish({ kind: 'done' }); };
  onTimeout = () => finish({ kind: 'timeout' });
  const onStdoutError = () => finish({ kind: 'pipe' });
  out.stdout.on('error', onStdoutError);

  const subscribeOptions: Record<string, unknown> = { qos: connection.qos };
  if (v5) {
    if (opts.noRetained) subscribeOptions.rh = 2;
    if (opts.retainAsPublished) subscribeOptions.rap = true;
    const properties = toMqttProperties(connection.properties.subscribe);
    if (properties) subscribeOptions.properties = properties;
  }
  client.subscribe(opts.topics, subscribeOptions as never, () => {});
  const unsubscribeProperties = v5 ? toMqttProperties(connection.properties.unsubscribe) : undefined;
  for (const filter of opts.unsubscribe) {
    client.unsubscribe(filter, unsubscribeProperties ? { properties: unsubscribeProperties } : {}, () => {});
  }

  const why = await ended;
  stopListening();
  if (why.kind !== 'pipe') await sink.drain();
  out.stdout.off('error', onStdoutError);
  if (why.kind === 'lost') throw why.error;
  await session.disconnect();
  if (why.kind === 'timeout') throw new CliError(connection.quiet ? '' : 'Timed out', TIMEOUT_EXIT);
  // A closed stdout: mosquitto_sub dies of SIGPIPE, which a shell reports as 141.
  if (why.kind === 'pipe') throw new CliError('', 141);
}

/**
 * mosquitto_sub reads ~/.config/mosquitto_sub; mqx sub reads the same format from mqx_sub. The
 * command line wins, except that -t, -T and -U from both places add up, as in mosquitto_sub.
 */
async function withDefaultOptionsFile(argv: Record<string, unknown>): Promise<Record<string, unknown>> {
  const merged = await applyDefaultOptionsFile(argv, 'mqx_sub', subFlags);
  if (merged === argv) return argv;
  const fromFile = await applyDefaultOptionsFile({}, 'mqx_sub', subFlags);
  for (const key of ['topic', 'filter-out', 'unsubscribe']) {
    if (argv[key] !== undefined && fromFile[key] !== undefined) merged[key] = [...all(fromFile[key]), ...all(argv[key])];
  }
  return merged;
}

export const command: CommandModule = {
  command: 'sub',
  describe: 'subscribe and print messages (drop-in for mosquitto_sub)',
  builder,
  handler: async (argv) => {
    const opts = subOptionsFromArgv(await withDefaultOptionsFile(argv as Record<string, unknown>));
    await runSub(opts, processOutput({ json: opts.json }));
  },
};
