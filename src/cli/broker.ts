// `mqx broker`: runs the broker like `mosquitto` 2.0 without a config file (local only mode,
// anonymous allowed), -p repeatable, -v for every log line. Stops cleanly on SIGINT/SIGTERM.

import type { Argv, CommandModule } from 'yargs';
import type { Writable } from 'node:stream';
import { createBroker } from '../broker/broker.js';
import type { BrokerLogger, LogType } from '../broker/logger.js';
import type { ListenerOptions } from '../broker/options.js';
import { CliError, UsageError } from './errors.js';
import { processOutput } from './output.js';
import { mqxVersion } from './version.js';

export interface BrokerRunOptions {
  /** Ports to listen on (loopback only, as Mosquitto 2.0 without a config). Default [1883]. */
  ports: number[];
  verbose: boolean;
}

function builder(yargs: Argv): Argv {
  return yargs
    .usage('Usage: mqx broker [-p port]... [-v]\n\n' +
      'Run an MQTT 3.1/3.1.1/5.0 broker. Without a configuration it listens on localhost only\n' +
      '(127.0.0.1 and ::1), port 1883, and allows anonymous clients, like Mosquitto 2.0.')
    .option('port', { alias: 'p', type: 'string', describe: 'port to listen on (repeatable; default 1883)' })
    .option('verbose', { alias: 'v', type: 'boolean', describe: 'log every connection, subscription and disconnection' })
    .option('config-file', { alias: 'c', type: 'string', describe: 'not supported yet (mosquitto.conf support comes with the config work)' })
    .option('daemon', { alias: 'd', type: 'boolean', describe: 'not supported yet' })
    .example('mqx broker', 'listen on localhost:1883')
    .example('mqx broker -p 1883 -p 1884 -v', 'two ports, log connections') as unknown as Argv;
}

function parsePort(value: string): number {
  const port = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`Error: Invalid port specified: ${value}`);
  return port;
}

/** argv -> options; throws UsageError for anything Mosquitto would refuse. */
export function brokerOptionsFromArgv(argv: Record<string, unknown>): BrokerRunOptions {
  if (argv.configFile !== undefined) {
    throw new UsageError('Error: -c (configuration file) is not supported by mqx broker yet; run without -c (local only mode).');
  }
  if (argv.daemon) throw new UsageError('Error: -d (daemon) is not supported by mqx broker yet; run it under a service manager.');
  const raw = argv.port === undefined ? [] : Array.isArray(argv.port) ? argv.port : [argv.port];
  const ports = raw.map((value) => parsePort(String(value)));
  if (ports.length > 10) throw new UsageError('Error: Only 10 ports can be specified on the command line.');
  return { ports: ports.length > 0 ? [...new Set(ports)] : [1883], verbose: argv.verbose === true };
}

/** Mosquitto's stderr log: `<epoch>: message`; without -v only errors, warnings and start-up lines. */
export function cliLogger(stream: Writable, verbose: boolean): BrokerLogger {
  const shown: ReadonlySet<LogType> = new Set<LogType>(verbose
    ? ['error', 'warning', 'notice', 'information', 'debug', 'subscribe', 'unsubscribe']
    : ['error', 'warning', 'information']);
  return {
    log(type, message) {
      if (shown.has(type)) stream.write(`${Math.floor(Date.now() / 1000)}: ${message}\n`);
    },
  };
}

/** Runs until `stop` resolves (the CLI passes a signal wait). */
export async function runBroker(options: BrokerRunOptions, stderr: Writable, stop: Promise<unknown>): Promise<void> {
  const version = mqxVersion();
  const logger = cliLogger(stderr, options.verbose);
  const listeners: ListenerOptions[] = [];
  for (const port of options.ports) listeners.push({ port, host: '127.0.0.1' }, { port, host: '::1' });
  logger.log('information', `mqx version ${version} starting`);
  logger.log('information', 'Using default config.');
  logger.log('information', 'Starting in local only mode. Connections will only be possible from clients running on this machine.');
  logger.log('information', 'Create a configuration file which defines a listener to allow remote access.');
  logger.log('information', 'For more details see https://mosquitto.org/documentation/authentication-methods/');
  const broker = await startListening(listeners, logger, version);
  logger.log('information', `mqx version ${version} running`);
  await stop;
  logger.log('information', `mqx version ${version} terminating`);
  await broker.close();
}

async function startListening(listeners: ListenerOptions[], logger: BrokerLogger, version: string) {
  try {
    const broker = createBroker({ listeners, logger, version });
    await broker.listen();
    return broker;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // No IPv6 loopback on this machine: listen on 127.0.0.1 only, as Mosquitto does.
    if (code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT') {
      const ipv4 = listeners.filter((listener) => listener.host !== '::1');
      try {
        const broker = createBroker({ listeners: ipv4, logger, version });
        await broker.listen();
        return broker;
      } catch (retryError) {
        throw listenError(retryError);
      }
    }
    throw listenError(error);
  }
}

function listenError(error: unknown): CliError {
  const err = error as NodeJS.ErrnoException & { port?: number };
  if (err.code === 'EADDRINUSE') return new CliError(`Error: Address already in use (port ${err.port ?? '?'}).`, 1);
  if (err.code === 'EACCES') return new CliError(`Error: Permission denied opening port ${err.port ?? '?'}.`, 1);
  return new CliError(`Error: ${err.message}`, 1);
}

function waitForSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

export const command: CommandModule = {
  command: 'broker',
  describe: 'run an MQTT broker (like mosquitto)',
  builder,
  handler: async (argv) => {
    const options = brokerOptionsFromArgv(argv as Record<string, unknown>);
    await runBroker(options, processOutput().stderr, waitForSignal());
  },
};
