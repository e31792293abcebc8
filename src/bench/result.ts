// Turns what a run counted into the BenchResult every output format is made from: rates,
// percentiles, losses, the bench's own CPU. Pure arithmetic over the run's counters.

import { distribution, summarize } from './latency.js';
import { addTotals } from './sequence.js';
import type { SequenceTotals } from './sequence.js';
import type { RunState } from './run.js';
import type { BenchResult } from './types.js';

/** Own CPU at or above this share of one core: the bench, not the broker, set the pace. */
export const CPU_BOUND_PERCENT = 90;

function round(value: number, digits = 0): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

function latencyKind(state: RunState): string | null {
  const { plan } = state;
  if (state.latency.count === 0) return null;
  if (plan.mode === 'conn') return 'connack';
  if (plan.mode === 'pub') return plan.qos === 2 ? 'pubcomp' : 'puback';
  return 'end-to-end';
}

export function buildResult(state: RunState, cpu: NodeJS.CpuUsage): BenchResult {
  const { plan } = state;
  const start = Number.isFinite(state.measureStartMs) ? state.measureStartMs : state.measuredEndMs;
  const durationMs = Math.max(1, state.measuredEndMs - start);
  // Deliveries that arrive during the drain still belong to the measured sends.
  const receiveSpanMs = Math.max(durationMs, state.lastReceiveMs - start);
  const totals: SequenceTotals = { unique: 0, duplicates: 0, reordered: 0, gaps: 0, publishers: 0 };
  for (const subscriber of state.subscribers) addTotals(totals, subscriber.tracker.totals());
  const sent = plan.mode === 'conn' ? 0 : state.totalSent();
  const received = state.totalReceived();
  const expected = state.expectedDeliveries();
  const lost = expected !== null ? Math.max(0, expected - totals.unique) : totals.gaps;
  let acked = 0;
  for (const publisher of state.publishers) acked += publisher.completed;
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  // CPU is counted from the measured start, or from the run's start when it never got there.
  const cpuSpanMs = Number.isFinite(state.measureStartMs) ? Math.max(durationMs, receiveSpanMs) : state.measuredEndMs - state.runStartMs;
  const cpuPercent = cpuSpanMs > 0 ? (cpuSeconds / (cpuSpanMs / 1000)) * 100 : 0;
  const connectSpan = Math.max(1, state.connectLastMs - state.connectFirstMs) / 1000;
  const failedConnects = state.connectAttempts - state.connectedCount;
  return {
    mode: plan.mode,
    scenario: plan.scenario ?? null,
    target: plan.target,
    clients: state.connectedCount,
    publishers: state.publishers.length,
    subscribers: state.subscribers.length,
    qos: plan.qos,
    size: plan.size,
    sent,
    acked,
    received,
    expected,
    lost,
    duplicates: totals.duplicates,
    out_of_order: totals.reordered,
    gaps: totals.gaps,
    duration_s: round(durationMs / 1000, 3),
    sent_per_s: round(sent / (durationMs / 1000)),
    received_per_s: round(received / (receiveSpanMs / 1000)),
    latency_kind: latencyKind(state),
    latency_ms: summarize(state.latency.raw),
    latency_corrected_ms: summarize(state.latency.corrected),
    cpu_s: round(cpuSeconds, 3),
    cpu_percent: round(cpuPercent, 1),
    cpu_bound: cpuPercent >= CPU_BOUND_PERCENT && cpuSpanMs >= 500,
    connections: {
      attempted: state.connectAttempts,
      succeeded: state.connectedCount,
      failed: failedConnects,
      per_s: state.connectedCount > 0 ? round(state.connectedCount / connectSpan) : 0,
    },
    errors: state.errors.list(),
    aborted: state.aborted,
    samples: state.samples,
    distribution: distribution(state.latency.raw),
  };
}
