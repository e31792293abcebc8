// Latency histograms (hdr-histogram-js, microsecond resolution): raw (actual send time) and
// corrected for coordinated omission (intended send time at a fixed rate). No clocks of its own.

import * as hdr from 'hdr-histogram-js';
import type { Histogram } from 'hdr-histogram-js';

/** Percentiles in milliseconds; null when nothing was measured. */
export interface LatencySummary {
  p50: number | null;
  p90: number | null;
  p99: number | null;
  p999: number | null;
  max: number | null;
  mean: number | null;
  count: number;
}

/** One point of the latency distribution, for charts: percentile and value in ms. */
export interface DistributionPoint {
  percentile: number;
  ms: number;
}

const HOUR_US = 3_600_000_000;

function newHistogram(): Histogram {
  // 3 significant digits up to one hour; clamping above keeps a stalled broker from throwing.
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: HOUR_US, numberOfSignificantValueDigits: 3, useWebAssembly: false });
}

function clampUs(ms: number): number {
  const us = Math.round(ms * 1000);
  return us < 1 ? 1 : us > HOUR_US ? HOUR_US : us;
}

export class LatencyRecorder {
  readonly raw = newHistogram();
  private readonly correctedHistogram: Histogram;

  /**
   * `withSchedule` false (full speed: every message is sent when it is due) makes corrected the
   * same histogram as raw, which halves the recording cost per message.
   */
  constructor(private readonly withSchedule = true) {
    this.correctedHistogram = withSchedule ? newHistogram() : this.raw;
  }

  get corrected(): Histogram {
    return this.correctedHistogram;
  }

  /** Records one message: `receivedMs - sentMs` raw, `receivedMs - intendedMs` corrected. */
  record(receivedMs: number, sentMs: number, intendedMs: number): void {
    this.raw.recordValue(clampUs(receivedMs - sentMs));
    if (this.withSchedule) this.correctedHistogram.recordValue(clampUs(receivedMs - intendedMs));
  }

  /** Records a round trip with no schedule (CONNACK, PUBACK): raw and corrected are equal. */
  recordRoundTrip(ms: number): void {
    const us = clampUs(ms);
    this.raw.recordValue(us);
    if (this.withSchedule) this.correctedHistogram.recordValue(us);
  }

  get count(): number {
    return this.raw.totalCount;
  }

  /** The raw p99 so far in ms (for per-second lines), null before the first sample. */
  p99SoFar(): number | null {
    return this.raw.totalCount === 0 ? null : this.raw.getValueAtPercentile(99) / 1000;
  }

  /** Adds another recorder's samples (several subscribers into one summary). */
  add(other: LatencyRecorder): void {
    this.raw.add(other.raw);
    if (this.withSchedule) this.correctedHistogram.add(other.corrected);
  }
}

export function summarize(histogram: Histogram): LatencySummary {
  if (histogram.totalCount === 0) return { p50: null, p90: null, p99: null, p999: null, max: null, mean: null, count: 0 };
  const ms = (us: number) => Math.round(us) / 1000;
  return {
    p50: ms(histogram.getValueAtPercentile(50)),
    p90: ms(histogram.getValueAtPercentile(90)),
    p99: ms(histogram.getValueAtPercentile(99)),
    p999: ms(histogram.getValueAtPercentile(99.9)),
    max: ms(histogram.maxValue),
    mean: Math.round(histogram.mean) / 1000,
    count: histogram.totalCount,
  };
}

/** The latency distribution at log-spaced percentiles (50, 75, 90, 99, ... 99.999, 100). */
export function distribution(histogram: Histogram): DistributionPoint[] {
  if (histogram.totalCount === 0) return [];
  const percentiles = [0, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 99.999, 100];
  return percentiles.map((percentile) => ({
    percentile,
    ms: (percentile === 100 ? histogram.maxValue : histogram.getValueAtPercentile(percentile)) / 1000,
  }));
}
