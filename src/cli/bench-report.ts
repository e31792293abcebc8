// Turns bench results into text: per-second lines, the summary table rows, verdict and warning
// lines, the JSON object and CSV rows. Pure string building; bench.ts decides where they go.

import type { BenchResult, BenchSample } from '../bench/types.js';
import type { CompareReport, CompareRow, CompareRun } from '../bench/compare.js';
import type { LatencySummary } from '../bench/latency.js';

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

function n(value: number): string {
  return integer.format(value);
}

function ms(value: number | null): string {
  if (value === null) return '-';
  return value >= 100 ? `${value.toFixed(0)} ms` : value >= 10 ? `${value.toFixed(1)} ms` : `${value.toFixed(3)} ms`;
}

/** One progress line per second. */
export function sampleLine(sample: BenchSample, mode: BenchResult['mode']): string {
  const t = `${String(sample.t).padStart(4)}s`;
  if (mode === 'conn') return `${t}  connected ${n(sample.connected)}  (${n(sample.sent_per_s)}/s)  CONNACK p99 ${ms(sample.p99_ms)}`;
  const parts = [t];
  if (mode !== 'sub') parts.push(`sent ${n(sample.sent_per_s)}/s`);
  if (mode !== 'pub') parts.push(`received ${n(sample.received_per_s)}/s`);
  if (mode !== 'sub') parts.push(`inflight ${n(sample.inflight)}`);
  parts.push(`p99 ${ms(sample.p99_ms)}`);
  return parts.join('  ');
}

function latencyLabel(result: BenchResult): string {
  switch (result.latency_kind) {
    case 'connack': return 'CONNACK latency';
    case 'puback': return 'PUBACK latency';
    case 'pubcomp': return 'PUBCOMP latency';
    default: return 'latency';
  }
}

function latencyRow(label: string, summary: LatencySummary): string[] {
  return [label, `p50 ${ms(summary.p50)}  p90 ${ms(summary.p90)}  p99 ${ms(summary.p99)}  p99.9 ${ms(summary.p999)}  max ${ms(summary.max)}`];
}

/** The rows of the final summary table (metric, value). */
export function summaryRows(result: BenchResult): string[][] {
  const rows: string[][] = [];
  const what = result.mode === 'scenario' ? `scenario ${result.scenario}` : result.mode;
  const shape = result.mode === 'conn' ? '' : result.mode === 'sub' ? `, QoS ${result.qos}` : `, QoS ${result.qos}, ${n(result.size)} B`;
  rows.push(['run', `${what} against ${result.target}, ${result.duration_s.toFixed(1)} s${shape}`]);
  if (result.mode === 'conn') {
    const c = result.connections;
    rows.push(['connections', `${n(c.succeeded)} of ${n(c.attempted)} (${n(c.failed)} failed), ${n(c.per_s)}/s`]);
  } else {
    rows.push(['clients', `${n(result.publishers)} publishers, ${n(result.subscribers)} subscribers`]);
    if (result.mode !== 'sub') rows.push(['sent', `${n(result.sent)} (${n(result.sent_per_s)}/s)${result.qos > 0 ? `, ${n(result.acked)} acknowledged` : ''}`]);
    if (result.mode !== 'pub') rows.push(['received', `${n(result.received)} (${n(result.received_per_s)}/s)${result.expected !== null ? ` of ${n(result.expected)} expected` : ''}`]);
    if (result.mode !== 'pub') rows.push(['lost / duplicates / out of order', `${n(result.lost)} / ${n(result.duplicates)} / ${n(result.out_of_order)}`]);
  }
  if (result.latency_kind !== null) {
    rows.push(latencyRow(latencyLabel(result), result.latency_ms));
    if (result.latency_kind === 'end-to-end' || result.latency_kind === 'puback' || result.latency_kind === 'pubcomp') {
      rows.push(latencyRow(`${latencyLabel(result)} (corrected)`, result.latency_corrected_ms));
    }
  }
  rows.push(['bench CPU', `${result.cpu_s.toFixed(2)} s (${result.cpu_percent.toFixed(0)}% of one core)`]);
  if (result.errors.length > 0) rows.push(['errors', result.errors.map((e) => `${e.reason} (${n(e.count)})`).join('; ')]);
  if (result.aborted !== null) rows.push(['ended early', result.aborted]);
  return rows;
}

/** Verdict and warning lines under the table (empty when there is nothing to say). */
export function verdictLines(result: BenchResult): string[] {
  const lines: string[] = [];
  if (result.mode !== 'conn' && result.mode !== 'pub' && result.lost > 0) {
    const base = result.expected ?? result.received + result.lost;
    const share = base > 0 ? ` (${((result.lost / base) * 100).toFixed(result.lost * 1000 < base ? 3 : 1)}%)` : '';
    const why = result.qos === 0
      ? 'QoS 0 allows the broker to drop messages under load'
      : `the broker dropped messages it had accepted at QoS ${result.qos} (a full client queue? see its max_queued_messages)`;
    lines.push(`Verdict: ${n(result.lost)} of ${n(base)} messages lost${share}: ${why}.`);
  }
  if (result.duplicates > 0 && result.qos === 2) lines.push(`Verdict: ${n(result.duplicates)} duplicates at QoS 2 (exactly once was broken).`);
  if (result.cpu_bound) {
    lines.push(`Warning: mqx bench itself used ${result.cpu_percent.toFixed(0)}% of a CPU core: it, not the broker, may have set the pace (use fewer clients, or run the bench on another machine).`);
  }
  return lines;
}

/** The documented final object: the BenchResult without the per-second samples. */
export function jsonSummary(result: BenchResult): Record<string, unknown> {
  const { samples: _samples, ...rest } = result;
  return rest;
}

export const CSV_COLUMNS = [
  'mode', 'scenario', 'target', 'clients', 'publishers', 'subscribers', 'qos', 'size', 'sent', 'acked', 'received', 'expected',
  'lost', 'duplicates', 'out_of_order', 'duration_s', 'sent_per_s', 'received_per_s', 'latency_kind',
  'p50_ms', 'p90_ms', 'p99_ms', 'p999_ms', 'max_ms', 'p99_corrected_ms', 'cpu_s', 'cpu_percent', 'errors', 'aborted',
] as const;

function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = String(value);
  return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvRow(result: BenchResult, extra: (string | number)[] = []): string {
  const values: unknown[] = [
    result.mode, result.scenario, result.target, result.clients, result.publishers, result.subscribers, result.qos, result.size,
    result.sent, result.acked, result.received, result.expected, result.lost, result.duplicates, result.out_of_order,
    result.duration_s, result.sent_per_s, result.received_per_s, result.latency_kind,
    result.latency_ms.p50, result.latency_ms.p90, result.latency_ms.p99, result.latency_ms.p999, result.latency_ms.max,
    result.latency_corrected_ms.p99, result.cpu_s, result.cpu_percent,
    result.errors.map((e) => `${e.reason} (${e.count})`).join('; '), result.aborted,
  ];
  return [...extra, ...values].map(csvCell).join(',');
}

export function csvHeader(extra: string[] = []): string {
  return [...extra, ...CSV_COLUMNS].join(',');
}

/** Compare: the table head and one row per broker. */
export function compareTable(rows: CompareRow[]): { head: string[]; rows: string[][] } {
  const head = ['broker', 'runs', 'received/s', 'ratio', 'p50', 'p99', 'p99 ratio', 'p99 corrected', 'lost', 'bench CPU'];
  const ratio = (value: number | null) => (value === null ? '-' : `${value.toFixed(2)}x`);
  return {
    head,
    rows: rows.map((row) => [
      row.broker, String(row.runs), n(row.received_per_s), ratio(row.received_ratio), ms(row.p50_ms), ms(row.p99_ms),
      ratio(row.p99_ratio), ms(row.p99_corrected_ms), n(row.lost), `${row.cpu_percent.toFixed(0)}%`,
    ]),
  };
}

export function compareRunLine(run: CompareRun): string {
  const r = run.result;
  return `run ${run.repeat} ${run.broker}: received ${n(r.received_per_s)}/s, p99 ${ms(r.latency_ms.p99)}, lost ${n(r.lost)}, bench CPU ${r.cpu_percent.toFixed(0)}%`;
}

export function compareJson(report: CompareReport): Record<string, unknown> {
  return {
    mode: 'compare',
    brokers: report.rows,
    runs: report.runs.map((run) => ({ broker: run.broker, repeat: run.repeat, ...jsonSummary(run.result) })),
    aborted: report.aborted,
  };
}
