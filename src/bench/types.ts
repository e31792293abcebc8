// The typed description of one benchmark run (BenchPlan) and what it measured (BenchResult).
// Plain data only: flags are parsed in src/cli/bench*.ts, runs happen in run.ts.

import type { Duplex } from 'node:stream';
import type { ProtocolVersion } from '../codec/index.js';
import type { DistributionPoint, LatencySummary } from './latency.js';

export type BenchMode = 'conn' | 'pub' | 'sub' | 'scenario';
export type ScenarioName = 'fan-in' | 'fan-out' | 'p2p';

/** Opens the stream for the connection with this sequence number (host and --ifaddr rotate). */
export type OpenStream = (connectionIndex: number) => Duplex;

export interface BenchPlan {
  mode: BenchMode;
  scenario?: ScenarioName;
  /** Shown in reports: host:port, or the broker command's name. */
  target: string;
  open: OpenStream;
  version: ProtocolVersion;
  keepalive: number;
  clean: boolean;
  username?: string;
  password?: string;
  /** Client ids are `${prefix}_${role}_${n}`. */
  clientPrefix: string;
  /** First client sequence number (%i), emqtt-bench's -n. */
  startNumber: number;
  publishers: number;
  subscribers: number;
  /** conn mode: connections to open. */
  connections: number;
  /** Publish topic template (%i %c %u %rand_N). */
  pubTopic: string;
  /** Subscription filter template. */
  subTopic: string;
  qos: 0 | 1 | 2;
  retain: boolean;
  size: number;
  /** Milliseconds between two publishes of one publisher; 0 = as fast as flow control allows. */
  publishIntervalMs: number;
  /** Milliseconds between two connection attempts (-i). */
  connectIntervalMs: number;
  /** QoS 1/2 messages in flight per publisher. */
  inflight: number;
  /** Scenario at full speed: deliveries on their way per subscriber before publishers wait; 0 = no limit. */
  e2eWindow: number;
  /** Messages per publisher in the measured phase (-L); Infinity = no limit. */
  limitPerPublisher: number;
  /** Messages in total (--count): publishers split it; sub mode stops after receiving it. */
  count: number;
  /** Seconds of measurement (0 = until the limits or an abort). */
  durationS: number;
  /** Seconds of unmeasured load first. */
  warmupS: number;
  connectTimeoutMs: number;
  /** Run id carried in every payload (20 bits used). */
  run: number;
}

/** One per-second progress line. */
export interface BenchSample {
  /** Seconds since the measured phase started. */
  t: number;
  sent: number;
  received: number;
  sent_per_s: number;
  received_per_s: number;
  inflight: number;
  /** Raw latency p99 so far in ms; null before the first measurement. */
  p99_ms: number | null;
  connected: number;
}

export interface BenchError {
  reason: string;
  count: number;
}

export interface BenchResult {
  mode: BenchMode;
  scenario: ScenarioName | null;
  target: string;
  clients: number;
  publishers: number;
  subscribers: number;
  qos: 0 | 1 | 2;
  size: number;
  sent: number;
  /** QoS 1/2 publishes the broker acknowledged (PUBACK/PUBCOMP). */
  acked: number;
  /** Deliveries counted by the subscribers (duplicates included). */
  received: number;
  /** Deliveries that should have happened: sent x matching subscribers (scenario), else null. */
  expected: number | null;
  lost: number;
  duplicates: number;
  out_of_order: number;
  /** Holes in the sequence numbers seen (sub mode, where the expected count is unknown). */
  gaps: number;
  duration_s: number;
  sent_per_s: number;
  received_per_s: number;
  /** What latency_ms measures: end-to-end, puback, pubcomp, connack, or null. */
  latency_kind: string | null;
  latency_ms: LatencySummary;
  latency_corrected_ms: LatencySummary;
  /** The bench process's own CPU time during the measured phase, and as % of one core. */
  cpu_s: number;
  cpu_percent: number;
  cpu_bound: boolean;
  connections: { attempted: number; succeeded: number; failed: number; per_s: number };
  errors: BenchError[];
  /** Why the run ended early (broker died, refused connections, interrupted), or null. */
  aborted: string | null;
  samples: BenchSample[];
  distribution: DistributionPoint[];
}
