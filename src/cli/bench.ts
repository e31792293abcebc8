// `mqx bench [conn|pub|sub|compare]`: flags -> a BenchPlan, runs it through src/bench, and shows
// progress, the summary table, verdicts, JSON / CSV / HTML. The only bench file that prints.

import { writeFile } from 'node:fs/promises';
import type { Argv, CommandModule } from 'yargs';
import { CliError } from './errors.js';
import { rethrowForCli } from './options.js';
import { processOutput, renderTable, startSpinner } from './output.js';
import type { Output, Spinner } from './output.js';
import { benchSettingsFromArgv, withBenchOptions } from './bench-options.js';
import type { BenchSettings } from './bench-options.js';
import {
  compareJson, compareRunLine, compareTable, csvHeader, csvRow, jsonSummary, sampleLine, summaryRows, verdictLines,
} from './bench-report.js';
import { renderHtmlReport } from './bench-html.js';
import { runBench } from '../bench/run.js';
import { parseBrokerSpec, runCompare } from '../bench/compare.js';
import type { CompareReport } from '../bench/compare.js';
import { ChildBrokerError, startBrokerCommand } from '../bench/child-broker.js';
import type { ChildBroker } from '../bench/child-broker.js';
import { makeOpener } from '../bench/open.js';
import { scenarioShape } from '../bench/scenarios.js';
import type { BenchPlan, BenchResult, BenchSample } from '../bench/types.js';

export interface BenchEnvironment {
  /** How to run `mqx` itself (node + bin/mqx): the default broker and `mqx` in --broker commands. */
  mqxProgram: string[];
  signal?: AbortSignal;
}

function builder(yargs: Argv): Argv {
  return withBenchOptions(yargs)
    .usage('Usage: mqx bench [conn|pub|sub|compare] [options]\n\n' +
      'Measure an MQTT broker: connection rate, message throughput, latency percentiles, losses.\n' +
      'With no mode, run a whole pub/sub scenario; with no -h, against an mqx broker it starts.')
    .positional('mode', { type: 'string', describe: 'conn, pub, sub, compare, or none for a pub/sub scenario' })
    .example('mqx bench', 'p2p scenario, 10 pairs, QoS 1, against a fresh mqx broker')
    .example('mqx bench -h localhost --scenario fan-in -c 100 -I 10', '100 publishers at 100 msg/s each, one subscriber')
    .example('mqx bench pub -h localhost -c 50 -I 0 -t bench/%i -q 1', '50 publishers as fast as PUBACKs allow')
    .example('mqx bench sub -h localhost -c 5 -t "bench/#" --duration 30', 'latency and losses of another bench pub')
    .example('mqx bench conn -h localhost -c 1000 -i 1', 'connection rate and CONNACK latency')
    .example('mqx bench compare --broker "mqx=mqx broker -p {port}" --broker "mosquitto=mosquitto -p {port}"', 'two brokers side by side') as unknown as Argv;
}

/** A spinner per set-up phase on a terminal; nothing otherwise. One spinner at a time, in order. */
class PhaseSpinner {
  private current: Spinner | null = null;
  private chain: Promise<void> = Promise.resolve();
  constructor(private readonly out: Output) {}

  show(text: string): void {
    // ora loops forever clearing lines on a terminal that reports 0 columns (seen under script(1)).
    const columns = (this.out.stderr as { columns?: number }).columns ?? 0;
    const wanted = text !== 'measuring' && columns > 0 && this.out.interactive;
    this.chain = this.chain.then(async () => {
      this.current?.stop();
      this.current = wanted ? await startSpinner(this.out, text) : null;
    });
  }

  /** Stops the spinner; await it before printing anything else. */
  stop(): Promise<void> {
    this.chain = this.chain.then(() => {
      this.current?.stop();
      this.current = null;
    });
    return this.chain;
  }
}

async function planFor(settings: BenchSettings, hosts: string[], port: number, target: string): Promise<BenchPlan> {
  const connection = { ...settings.connection, port };
  const open = await makeOpener(connection, hosts, settings.ifaddrs);
  const mode = settings.mode === 'compare' ? 'scenario' : settings.mode;
  let publishers = 0;
  let subscribers = 0;
  let pubTopic = settings.topic ?? 'mqx/bench';
  let subTopic = settings.topic ?? 'mqx/bench/#';
  if (mode === 'scenario') {
    const shape = scenarioShape(settings.scenario, settings.clients, settings.topic ?? 'mqx/bench');
    ({ publishers, subscribers, pubTopic, subTopic } = shape);
  } else if (mode === 'pub') {
    publishers = settings.clients;
  } else if (mode === 'sub') {
    subscribers = settings.clients;
  }
  return {
    mode, scenario: mode === 'scenario' ? settings.scenario : undefined, target, open,
    version: connection.protocolVersion, keepalive: connection.keepalive, clean: true,
    username: connection.username, password: connection.password,
    clientPrefix: settings.prefix, startNumber: settings.startNumber,
    publishers, subscribers, connections: settings.clients, pubTopic, subTopic,
    qos: connection.qos, retain: settings.retain, size: settings.size,
    publishIntervalMs: settings.publishIntervalMs, connectIntervalMs: settings.connectIntervalMs,
    inflight: settings.inflight, e2eWindow: settings.e2eWindow, limitPerPublisher: settings.limit, count: settings.count,
    durationS: settings.durationS, warmupS: settings.warmupS, connectTimeoutMs: settings.connectTimeoutMs,
    run: Math.floor(Math.random() * 0xfffff),
  };
}

/** `mqx` as the first word of a broker command means this mqx. */
function programResolver(env: BenchEnvironment): (args: string[]) => string[] {
  return (args) => (args[0] === 'mqx' ? [...env.mqxProgram, ...args.slice(1)] : args);
}

function progress(settings: BenchSettings, out: Output, mode: BenchResult['mode']) {
  return (sample: BenchSample) => {
    if (settings.format === 'json-lines') out.stdout.write(`${JSON.stringify({ type: 'sample', ...sample })}\n`);
    else if (settings.format === 'text') out.stdout.write(`${sampleLine(sample, mode)}\n`);
    else if (out.interactive) out.stderr.write(`${sampleLine(sample, mode)}\n`);
  };
}

/** Runs one mode (not compare) and prints its report; throws CliError for a non-zero exit. */
export async function runBenchCommand(settings: BenchSettings, out: Output, env: BenchEnvironment): Promise<void> {
  if (settings.mode === 'compare') return runCompareCommand(settings, out, env);
  const spinner = new PhaseSpinner(out);
  let child: ChildBroker | null = null;
  let result: BenchResult;
  try {
    let hosts = settings.hosts;
    let port = settings.connection.port;
    let target = `${hosts.join(',')}:${port}`;
    if (hosts.length === 0) {
      if (settings.mode !== 'scenario') hosts = [settings.connection.host];
      else {
        const spec = parseBrokerSpec(settings.brokers[0] ?? 'mqx=mqx broker -p {port}');
        spinner.show(`starting ${spec.name}`);
        child = await startBrokerCommand(spec.command, programResolver(env));
        hosts = ['127.0.0.1'];
        port = child.port;
        target = `${spec.name} (started on port ${port})`;
      }
      target = child ? target : `${hosts.join(',')}:${port}`;
    }
    const plan = await planFor(settings, hosts, port, target);
    result = await runBench(plan, { phase: (text) => spinner.show(text), sample: progress(settings, out, plan.mode), signal: env.signal });
  } catch (error) {
    if (error instanceof ChildBrokerError) throw new CliError(`Error: ${error.message}`, 1);
    rethrowForCli(error);
  } finally {
    await spinner.stop();
    await child?.stop();
  }
  await printResult(settings, out, result);
  if (settings.html !== undefined) await writeReport(settings.html, renderHtmlReport({ kind: 'run', result }));
  exitFor(result);
}

async function printResult(settings: BenchSettings, out: Output, result: BenchResult): Promise<void> {
  const verdicts = verdictLines(result);
  switch (settings.format) {
    case 'json':
      out.stdout.write(`${JSON.stringify(jsonSummary(result))}\n`);
      break;
    case 'json-lines':
      out.stdout.write(`${JSON.stringify({ type: 'summary', ...jsonSummary(result) })}\n`);
      break;
    case 'csv':
      out.stdout.write(`${csvHeader()}\n${csvRow(result)}\n`);
      break;
    default:
      out.stdout.write(await renderTable(out, ['metric', 'value'], summaryRows(result)));
      for (const line of verdicts) out.stdout.write(`${line}\n`);
      return;
  }
  for (const line of verdicts) out.stderr.write(`${line}\n`);
}

async function writeReport(path: string, html: string): Promise<void> {
  try {
    await writeFile(path, html);
  } catch (error) {
    throw new CliError(`Error: could not write ${path}: ${(error as Error).message}`, 1);
  }
}

/** Exit status: 1 when the run failed or connections failed, 2 when the broker broke QoS 1/2. */
function exitFor(result: BenchResult): void {
  if (result.aborted === 'interrupted') return;
  if (result.aborted !== null) throw new CliError(`Error: ${result.aborted}.`, 1);
  if (result.mode === 'conn' && result.connections.failed > 0) {
    throw new CliError(`Error: ${result.connections.failed} of ${result.connections.attempted} connections failed (${result.errors[0]?.reason ?? 'unknown'}).`, 1);
  }
  if (result.qos > 0 && (result.lost > 0 || (result.qos === 2 && result.duplicates > 0))) {
    throw new CliError(`Error: the broker lost or duplicated messages at QoS ${result.qos}.`, 2);
  }
}

async function runCompareCommand(settings: BenchSettings, out: Output, env: BenchEnvironment): Promise<void> {
  const brokers = settings.brokers.map(parseBrokerSpec);
  const spinner = new PhaseSpinner(out);
  const text = settings.format === 'text';
  let report: CompareReport;
  try {
    report = await runCompare(brokers, settings.repeats, (port, name) => planFor(settings, ['127.0.0.1'], port, name), {
      phase: (phase) => spinner.show(phase),
      sample: progress(settings, out, 'scenario'),
      runStarting: (broker, repeat, port) => { if (text) out.stdout.write(`run ${repeat} ${broker} (port ${port})\n`); },
      runDone: (run) => {
        void spinner.stop();
        if (text) out.stdout.write(`${compareRunLine(run)}\n`);
        else if (settings.format === 'json-lines') out.stdout.write(`${JSON.stringify({ type: 'run', broker: run.broker, repeat: run.repeat, ...jsonSummary(run.result) })}\n`);
      },
      signal: env.signal,
    }, programResolver(env));
  } catch (error) {
    rethrowForCli(error);
  } finally {
    await spinner.stop();
  }
  switch (settings.format) {
    case 'json':
    case 'json-lines':
      out.stdout.write(`${JSON.stringify({ type: 'summary', ...compareJson(report) })}\n`);
      break;
    case 'csv':
      out.stdout.write(`${csvHeader(['broker', 'repeat'])}\n`);
      for (const run of report.runs) out.stdout.write(`${csvRow(run.result, [run.broker, run.repeat])}\n`);
      break;
    default: {
      const table = compareTable(report.rows);
      out.stdout.write(await renderTable(out, table.head, table.rows));
      out.stdout.write(`Medians over ${settings.repeats} interleaved run${settings.repeats === 1 ? '' : 's'} per broker; ratios against ${report.rows[0]?.broker ?? 'the first broker'}.\n`);
    }
  }
  if (settings.html !== undefined) await writeReport(settings.html, renderHtmlReport({ kind: 'compare', report }));
  if (report.aborted !== null && report.aborted !== 'interrupted') throw new CliError(`Error: ${report.aborted}.`, 1);
}

export const command: CommandModule = {
  command: 'bench [mode]',
  describe: 'measure a broker: connections, throughput, latency, losses (like emqtt-bench)',
  builder,
  handler: async (argv) => {
    const args = argv as Record<string, unknown>;
    const settings = benchSettingsFromArgv(args, args.mode as string | undefined);
    const out = processOutput({ json: settings.format !== 'text' });
    const controller = new AbortController();
    const onSignal = () => controller.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      await runBenchCommand(settings, out, { mqxProgram: [process.execPath, process.argv[1]!], signal: controller.signal });
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
};
