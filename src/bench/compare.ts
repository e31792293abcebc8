// `mqx bench compare`: the same plan against several broker commands, each started fresh on a
// free port, interleaved over repeats (A B, B A, ...), summarised as medians and ratios.

import { startBrokerCommand } from './child-broker.js';
import type { ChildBroker } from './child-broker.js';
import type { RunHooks } from './run.js';
import { runBench } from './run.js';
import type { BenchPlan, BenchResult } from './types.js';

export interface CompareBroker {
  name: string;
  /** Command line with {port}. */
  command: string;
}

export interface CompareRun {
  broker: string;
  repeat: number;
  result: BenchResult;
}

/** One broker's medians over the repeats; ratios are against the first broker. */
export interface CompareRow {
  broker: string;
  runs: number;
  received_per_s: number;
  sent_per_s: number;
  p50_ms: number | null;
  p99_ms: number | null;
  p99_corrected_ms: number | null;
  lost: number;
  cpu_percent: number;
  received_ratio: number | null;
  p99_ratio: number | null;
}

export interface CompareReport {
  runs: CompareRun[];
  rows: CompareRow[];
  /** First failure (a broker that would not start or died), or null. */
  aborted: string | null;
}

export interface CompareHooks extends RunHooks {
  /** A run starts / ended: for progress lines. */
  runStarting?(broker: string, repeat: number, port: number): void;
  runDone?(run: CompareRun): void;
}

/** Parses "name=command {port}" (the name may be omitted: the program's name is used). */
export function parseBrokerSpec(spec: string): CompareBroker {
  const equals = spec.indexOf('=');
  const space = spec.indexOf(' ');
  if (equals > 0 && (space < 0 || equals < space)) return { name: spec.slice(0, equals), command: spec.slice(equals + 1).trim() };
  const program = spec.trim().split(/\s+/)[0] ?? spec;
  return { name: program.split('/').pop() ?? program, command: spec.trim() };
}

export function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function round(value: number | null, digits: number): number | null {
  if (value === null) return null;
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

export function summarizeRuns(brokers: CompareBroker[], runs: CompareRun[]): CompareRow[] {
  const rows = brokers.map((broker) => {
    const mine = runs.filter((run) => run.broker === broker.name).map((run) => run.result);
    const numbers = (pick: (result: BenchResult) => number | null) => mine.map(pick).filter((value): value is number => value !== null);
    return {
      broker: broker.name,
      runs: mine.length,
      received_per_s: Math.round(median(numbers((r) => r.received_per_s)) ?? 0),
      sent_per_s: Math.round(median(numbers((r) => r.sent_per_s)) ?? 0),
      p50_ms: round(median(numbers((r) => r.latency_ms.p50)), 3),
      p99_ms: round(median(numbers((r) => r.latency_ms.p99)), 3),
      p99_corrected_ms: round(median(numbers((r) => r.latency_corrected_ms.p99)), 3),
      lost: mine.reduce((sum, r) => sum + r.lost, 0),
      cpu_percent: round(median(numbers((r) => r.cpu_percent)), 1) ?? 0,
      received_ratio: null as number | null,
      p99_ratio: null as number | null,
    };
  });
  const base = rows[0];
  for (const row of rows) {
    if (!base) break;
    row.received_ratio = base.received_per_s > 0 ? round(row.received_per_s / base.received_per_s, 2) : null;
    row.p99_ratio = base.p99_ms && row.p99_ms !== null ? round(row.p99_ms / base.p99_ms, 2) : null;
  }
  return rows;
}

/**
 * Runs `makePlan(port)` against every broker, `repeats` times, rotating the order each round so
 * no broker always runs first (warm caches, thermal state). Stops at the first failure and
 * returns what was measured so far.
 */
export async function runCompare(
  brokers: CompareBroker[], repeats: number, makePlan: (port: number, broker: string) => Promise<BenchPlan>,
  hooks: CompareHooks = {}, resolveProgram?: (args: string[]) => string[],
): Promise<CompareReport> {
  const runs: CompareRun[] = [];
  let aborted: string | null = null;
  outer:
  for (let repeat = 1; repeat <= repeats; repeat++) {
    for (let k = 0; k < brokers.length; k++) {
      if (hooks.signal?.aborted) { aborted = 'interrupted'; break outer; }
      const broker = brokers[(k + repeat - 1) % brokers.length]!;
      let child: ChildBroker;
      try {
        hooks.phase?.(`starting ${broker.name}`);
        child = await startBrokerCommand(broker.command, resolveProgram);
      } catch (error) {
        aborted = `${broker.name}: ${(error as Error).message}`;
        break outer;
      }
      try {
        hooks.runStarting?.(broker.name, repeat, child.port);
        const result = await runBench(await makePlan(child.port, broker.name), hooks);
        const run = { broker: broker.name, repeat, result };
        runs.push(run);
        hooks.runDone?.(run);
        if (result.aborted !== null) {
          aborted = `${broker.name}: ${result.aborted}`;
          break outer;
        }
      } finally {
        await child.stop();
      }
    }
  }
  return { runs, rows: summarizeRuns(brokers, runs), aborted };
}
