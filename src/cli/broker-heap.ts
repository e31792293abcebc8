// V8 heap settings for the `mqx broker` process (not for the library: an embedding application
// owns its own heap). Measured in bench/broker-bench.mjs, idle scenario: see README "Benchmarks".

import { setFlagsFromString } from 'node:v8';

/**
 * V8 grows the young generation up to 16 MiB per semi-space under allocation pressure (a burst of
 * connections is enough) and never gives it back while the broker is idle: 3 KiB of every idle
 * connection's share at 10,000 connections. Keeping it at its initial size costs some QoS 0
 * flood throughput and nothing else measurable. These flags only steer the garbage collector's
 * sizing decisions at run time. Node flags given on the command line (node --semi-space-... or
 * --max-semi-space-size) win: then nothing is changed.
 */
export const BROKER_HEAP_FLAGS = ['--semi-space-growth-factor=1'];

export function tuneHeapForBroker(execArgv: readonly string[] = process.execArgv): void {
  if (execArgv.some((flag) => /semi[-_]space|optimize[-_]for[-_]size/.test(flag))) return;
  for (const flag of BROKER_HEAP_FLAGS) setFlagsFromString(flag);
}
