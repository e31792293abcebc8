// `mqx pub`: a drop-in for mosquitto_pub 2.0. Turns flags into PubOptions (with mosquitto's
// messages and exit statuses) and runs the publish; printing happens only through `out`.

import { readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Argv, CommandModule } from 'yargs';
import { UsageError, CliError } from './errors.js';
import { applyDefaultOptionsFile, atoi, checkTopicArgument, connectionOptionsFromArgv, rethrowForCli, withConnectionOptions } from './options.js';
import type { ConnectionOptions } from './options.js';
import { processOutput, startSpinner, type Output } from './output.js';

/** Where the payload comes from: exactly one per run, as in mosquitto_pub. */
export type MessageSource =
  | { kind: 'message'; payload: Buffer }
  | { kind: 'file'; path: string }
  | { kind: 'stdin-file' }
  | { kind: 'stdin-line' }
  | { kind: 'null' };

export interface PubOptions {
  connection: ConnectionOptions;
  topic: string;
  source: MessageSource;
  retain: boolean;
  /** Publishes of the same payload (--repeat), not used with -l. */
  repeat: number;
  /** Seconds between repeats, counted from the previous delivery (--repeat-delay). */
  repeatDelay: number;
  /** Unacknowledged QoS 1/2 messages at once (-M). */
  maxInflight: number;
}

const MAX_PAYLOAD = 268435455;
const GROUP_PUBLISH = 'Publish:';

/**
 * yargs renders the whole --help text after starting every command handler, only to keep it for
 * a later failure message; main.ts never shows it, and it costs ~80 ms of string-width per run.
 */
function builder(yargs: Argv): Argv {
  return pubOptions(yargs);
}

/** Every flag of mqx pub (also used to read the default-options file). */
function pubOptions(yargs: Argv): Argv {
  return withConnectionOptions(yargs)
    .usage('Usage: mqx pub {-t topic | -L URL} {-m message | -f file | -s | -l | -n} [options]\n\n' +
      'Publish one message, a file, stdin, or one message per stdin line, then exit (mosquitto_pub compatible).')
    .option('topic', { alias: 't', type: 'string', group: GROUP_PUBLISH, describe: 'topic to publish to' })
    .option('message', { alias: 'm', type: 'string', group: GROUP_PUBLISH, describe: 'message payload' })
    .option('file', { alias: 'f', type: 'string', group: GROUP_PUBLISH, describe: 'send the contents of a file as the message' })
    .option('stdin-file', { alias: 's', type: 'boolean', group: GROUP_PUBLISH, describe: 'send all of stdin as one message' })
    .option('stdin-line', { alias: 'l', type: 'boolean', group: GROUP_PUBLISH, describe: 'send each line of stdin as a message' })
    .option('null-message', { alias: 'n', type: 'boolean', group: GROUP_PUBLISH, describe: 'send a zero-length message' })
    .option('retain', { alias: 'r', type: 'boolean', group: GROUP_PUBLISH, describe: 'retain the message' })
    .option('repeat', { type: 'string', group: GROUP_PUBLISH, describe: 'publish the message N times (-m, -f, -s, -n)' })
    .option('repeat-delay', { type: 'string', group: GROUP_PUBLISH, describe: 'seconds to wait between repeats (default 0)' })
    .option('M', { type: 'string', group: GROUP_PUBLISH, describe: 'maximum QoS 1/2 messages in flight (default 20)' })
    .example('mqx pub -t sensors/temp -m 21.5', 'publish one message to localhost')
    .example('mqx pub -h broker -q 1 -r -t status -m online', 'a retained QoS 1 message')
    .example('tail -f log | mqx pub -t logs -l', 'one message per line')
    .example('mqx pub -V 5 -D publish content-type text/plain -t t -m hi', 'an MQTT 5 property') as unknown as Argv;
}

/** How many times a flag was given (yargs turns repeats into arrays). */
function count(value: unknown): number {
  if (value === undefined || value === false) return 0;
  return Array.isArray(value) ? value.filter((item) => item !== false).length : 1;
}

function lastString(value: unknown): string | undefined {
  const item = Array.isArray(value) ? value[value.length - 1] : value;
  return item === undefined ? undefined : String(item);
}

/** Validates pub's own flags on top of the shared ones; throws UsageError with mosquitto's text. */
export function pubOptionsFromArgv(argv: Record<string, unknown>): PubOptions {
  const connection = connectionOptionsFromArgv(argv, 'pub');

  const modes = count(argv.message) + count(argv.file) + count(argv['stdin-file']) + count(argv['stdin-line']) + count(argv['null-message']);
  if (modes > 1) throw new UsageError('Error: Only one type of message can be sent at once.');

  let topic = connection.urlTopic;
  const topicText = lastString(argv.topic);
  if (topic === undefined && topicText !== undefined) {
    if (topicText === '') throw new UsageError('Error: -t argument given but no topic specified.');
    checkTopicArgument(topicText, 'pub', '-t');
    topic = topicText;
  }

  let source: MessageSource | undefined;
  const message = lastString(argv.message);
  const file = lastString(argv.file);
  if (message !== undefined) {
    const payload = Buffer.from(message, 'utf8');
    if (payload.length > MAX_PAYLOAD) throw new UsageError(`Error: Message length must be less than ${MAX_PAYLOAD} bytes.`);
    source = { kind: 'message', payload };
  } else if (file !== undefined) {
    if (file === '') throw new UsageError('Error: -f argument given but no file specified.');
    source = { kind: 'file', path: file };
  } else if (count(argv['stdin-file'])) source = { kind: 'stdin-file' };
  else if (count(argv['stdin-line'])) source = { kind: 'stdin-line' };
  else if (count(argv['null-message'])) source = { kind: 'null' };

  let repeat = 1;
  const repeatText = lastString(argv.repeat);
  if (repeatText !== undefined) {
    repeat = atoi(repeatText);
    if (repeat < 1) throw new UsageError('Error: --repeat argument must be >0.');
  }
  let repeatDelay = 0;
  const delayText = lastString(argv['repeat-delay']);
  if (delayText !== undefined) {
    repeatDelay = Number.parseFloat(delayText);
    if (Number.isNaN(repeatDelay)) repeatDelay = 0; // atof
    if (repeatDelay < 0) throw new UsageError('Error: --repeat-delay argument must be >=0.0.');
  }
  let maxInflight = 20;
  const inflightText = lastString(argv.M);
  if (inflightText !== undefined) {
    maxInflight = atoi(inflightText);
    if (maxInflight < 1) throw new UsageError('Error: Maximum inflight messages must be greater than 0.');
  }

  if (topic === undefined || source === undefined) throw new UsageError('Error: Both topic and message must be supplied.');

  return { connection, topic, source, retain: count(argv.retain) > 0, repeat, repeatDelay, maxInflight };
}

async function loadFile(path: string, quiet: boolean): Promise<Buffer> {
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (error) {
    const problem = (error as { code?: string }).code === 'EISDIR' ? `Error: "${path}" is a directory.` : `Error: Unable to open file "${path}".`;
    throw new CliError(quiet ? '' : `${problem}\nError loading input file "${path}".`, 1);
  }
  if (data.length > MAX_PAYLOAD) {
    throw new CliError(quiet ? '' : `Error: File must be less than ${MAX_PAYLOAD} bytes.\nError loading input file "${path}".`, 1);
  }
  return data;
}

const sleep = (seconds: number) => new Promise<void>((resolve) => setTimeout(resolve, seconds * 1000));

/** Connects, publishes as PubOptions say, disconnects. Throws CliError with mosquitto's exit status. */
export async function runPub(opts: PubOptions, out: Output, stdin: Readable = process.stdin): Promise<void> {
  const { connection } = opts;
  // Like mosquitto_pub, read -f and -s input before connecting: a bad file never touches the broker.
  let payload: Buffer | undefined;
  if (opts.source.kind === 'message') payload = opts.source.payload;
  else if (opts.source.kind === 'null') payload = Buffer.alloc(0);
  else if (opts.source.kind === 'file') payload = await loadFile(opts.source.path, connection.quiet);
  else if (opts.source.kind === 'stdin-file') {
    const { readAll } = await import('../client/input.js');
    payload = await readAll(stdin);
    if (payload.length === 0) throw new CliError(connection.quiet ? '' : 'Error: Zero length input.\nError loading input from stdin.', 1);
  }

  const [{ connectClient }, { Publisher }, { toMqttProperties }] = await Promise.all([
    import('../client/connect.js'), import('../client/publisher.js'), import('../client/properties.js'),
  ]);
  const where = connection.transport === 'unix' ? connection.unixPath! : `${connection.host}:${connection.port}`;
  // ora 9 loops forever clearing "Infinity" lines on a terminal that reports 0 columns (script(1),
  // some docker exec -t sessions), so only spin where the width is known.
  const columns = (out.stderr as { columns?: number }).columns ?? 0;
  const spinner = columns > 0 ? await startSpinner(out, `Connecting to ${where}`) : { stop() {} };
  let session;
  try {
    session = await connectClient(connection, { stdout: out.stdout });
  } catch (error) {
    rethrowForCli(error);
  } finally {
    spinner.stop();
  }

  const properties = connection.protocolVersion === 5 ? toMqttProperties(connection.properties.publish) : undefined;
  const publisher = new Publisher(session, { topic: opts.topic, qos: connection.qos, retain: opts.retain, properties }, {
    maxInflight: opts.maxInflight,
    warn: (text) => { if (!connection.quiet) out.stderr.write(`${text}\n`); },
  });
  try {
    if (payload !== undefined) {
      for (let sent = 0; sent < opts.repeat; sent++) {
        if (sent > 0 && opts.repeatDelay > 0) await sleep(opts.repeatDelay);
        await publisher.send(payload);
        // --repeat-delay counts from the previous delivery, so wait for it when repeating.
        if (opts.repeat > 1) await publisher.drain();
      }
    } else {
      const { readLines } = await import('../client/input.js');
      for await (const line of readLines(stdin)) await publisher.send(line);
    }
    await publisher.drain();
  } catch (error) {
    session.client.end(true);
    if (error instanceof CliError) throw error;
    rethrowForCli(error);
  }
  await session.disconnect();
}

export const command: CommandModule = {
  command: 'pub',
  describe: 'publish messages (drop-in for mosquitto_pub)',
  builder,
  handler: async (argv) => {
    // mosquitto_pub reads ~/.config/mosquitto_pub; mqx pub reads the same format from mqx_pub.
    const merged = await applyDefaultOptionsFile(argv as Record<string, unknown>, 'mqx_pub', pubOptions);
    const opts = pubOptionsFromArgv(merged);
    await runPub(opts, processOutput());
  },
};
