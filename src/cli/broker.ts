// `mqx broker`: runs the broker like `mosquitto` 2.0: without a config file in local only mode,
// with -c from a mosquitto.conf (broker-config-run.ts), -d, --test-config. Stops on SIGINT/SIGTERM.

import type { Argv, CommandModule } from 'yargs';
import type { Writable } from 'node:stream';
import { tuneHeapForBroker } from './broker-heap.js';
import type { BrokerLogger, LogType } from '../broker/logger.js';
import type { ListenerOptions } from '../broker/options.js';
import { runBrokerFromConfig, testConfig } from './broker-config-run.js';
import { listenBroker } from './broker-listen.js';
import { UsageError } from './errors.js';
import { processOutput } from './output.js';
import { mqxVersion } from './version.js';

export interface BrokerRunOptions {
  /** Ports to listen on (loopback only, as Mosquitto 2.0 without a config). Default [1883]. */
  ports: number[];
  verbose: boolean;
  /** -c: a mosquitto.conf to run instead of the default configuration. */
  configFile?: string;
  daemon?: boolean;
  testConfig?: boolean;
  /** --persistence DIR: the store directory (as `persistence true` + `persistence_location DIR`). */
  persistenceDir?: string;
}

function builder(yargs: Argv): Argv {
  return yargs
    .usage('Usage: mqx broker [-c config_file] [-d] [-p port]... [-v]\n       mqx broker --test-config -c config_file\n\n' +
      'Run an MQTT 3.1/3.1.1/5.0 broker. Without a configuration it listens on localhost only\n' +
      '(127.0.0.1 and ::1), port 1883, and allows anonymous clients, like Mosquitto 2.0.')
    .option('port', { alias: 'p', type: 'string', describe: 'port to listen on (repeatable; default 1883)' })
    .option('verbose', { alias: 'v', type: 'boolean', describe: 'log every type (log_type all): subscriptions and the debug trace of every packet besides the default connection lines' })
    .option('persistence', { type: 'string', describe: 'keep retained messages, persistent sessions and queued/in-flight messages in this directory; what is acknowledged is on disk first (without -c)' })
    .option('config-file', { alias: 'c', type: 'string', describe: 'load a mosquitto.conf (Mosquitto 2.0 syntax, include_dir included)' })
    .option('daemon', { alias: 'd', type: 'boolean', describe: 'run in the background; returns once the listeners are bound (writes pid_file)' })
    .option('test-config', { type: 'boolean', describe: 'check the -c file (and the password, ACL and TLS files it names), print every error, exit 0 or 1' })
    .example('mqx broker', 'listen on localhost:1883')
    .example('mqx broker -c /etc/mosquitto/mosquitto.conf -d', 'run a Mosquitto configuration in the background')
    .example('mqx broker --test-config -c mosquitto.conf', 'check a configuration without starting')
    .example('mqx broker -p 1883 -p 1884 -v', 'two ports, log everything (packet trace included)') as unknown as Argv;
}

function parsePort(value: string): number {
  const port = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`Error: Invalid port specified: ${value}`);
  return port;
}

/** argv -> options; throws UsageError for anything Mosquitto would refuse. */
export function brokerOptionsFromArgv(argv: Record<string, unknown>): BrokerRunOptions {
  const configFile = argv.configFile === undefined ? undefined : String(Array.isArray(argv.configFile) ? argv.configFile.at(-1) : argv.configFile);
  if (configFile === '') throw new UsageError('Error: -c argument given, but no config file specified.');
  if (argv.testConfig && configFile === undefined) throw new UsageError('Error: --test-config needs -c config_file.');
  const raw = argv.port === undefined ? [] : Array.isArray(argv.port) ? argv.port : [argv.port];
  const ports = raw.map((value) => parsePort(String(value)));
  if (ports.length > 10) throw new UsageError('Error: Only 10 ports can be specified on the command line.');
  const explicitPorts = ports.length > 0 ? [...new Set(ports)] : [];
  const persistence = argv.persistence === undefined ? undefined : String(Array.isArray(argv.persistence) ? argv.persistence.at(-1) : argv.persistence);
  if (persistence === '') throw new UsageError('Error: --persistence needs a directory.');
  if (persistence !== undefined && configFile !== undefined) throw new UsageError('Error: --persistence cannot be used with -c: set persistence true and persistence_location in the config file.');
  return {
    ...(persistence !== undefined ? { persistenceDir: persistence } : {}),
    ports: explicitPorts.length > 0 ? explicitPorts : [1883],
    verbose: argv.verbose === true,
    ...(configFile !== undefined ? { configFile } : {}),
    daemon: argv.daemon === true,
    testConfig: argv.testConfig === true,
  };
}

/**
 * Mosquitto's stderr log without a config file: `<epoch>: message`, its default log types
 * (error, warning, notice, information: start-up and one line per connection and disconnection),
 * and with -v every type (log_type all: the debug packet trace and subscribe/unsubscribe lines).
 */
export function cliLogger(stream: Writable, verbose: boolean): BrokerLogger {
  const shown: ReadonlySet<LogType> = new Set<LogType>(verbose
    ? ['error', 'warning', 'notice', 'information', 'debug', 'subscribe', 'unsubscribe']
    : ['error', 'warning', 'notice', 'information']);
  return {
    log(type, message) {
      if (shown.has(type)) stream.write(`${Math.floor(Date.now() / 1000)}: ${message}\n`);
    },
    enabled: (type) => shown.has(type),
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
  const persistence = options.persistenceDir === undefined ? {} : { persistence: true, persistence_location: options.persistenceDir };
  const broker = await listenBroker({ listeners, logger, version, ...persistence }, true);
  logger.log('information', `mqx version ${version} running`);
  const onUsr1 = () => { broker.persistence?.compact(); };
  process.on('SIGUSR1', onUsr1);
  try {
    await stop;
  } finally {
    process.off('SIGUSR1', onUsr1);
  }
  logger.log('information', `mqx version ${version} terminating`);
  await broker.close();
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
    const output = processOutput();
    if (options.testConfig) { testConfig(options.configFile!, output.stdout, output.stderr); return; }
    tuneHeapForBroker();
    if (options.configFile !== undefined || options.daemon) {
      // -p with -c is ignored when the file has listeners, as in Mosquitto (the config layer warns).
      const ports = (argv as Record<string, unknown>).port === undefined ? [] : options.ports;
      await runBrokerFromConfig({ configFile: options.configFile ?? null, verbose: options.verbose, ports, daemon: options.daemon === true }, output.stdout, output.stderr, waitForSignal());
      return;
    }
    await runBroker(options, output.stderr, waitForSignal());
  },
};
