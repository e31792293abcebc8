// Shared start of the side-by-side benchmark scripts: the load generator runs pinned to core 1
// (the brokers get core 0) with gc() exposed (runs collect the previous run's garbage first), a bad
// option is one line and exit status 2, and flags are read alike.

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Re-runs the calling script under `taskset -c 1` once (then exits with its status); in the pinned
 * run, returns parseArgs(argv) or prints its error and exits 2.
 */
export function pinnedOptions(scriptUrl, parseArgs) {
  if (process.env.MQX_BENCH_PINNED !== '1') {
    const result = spawnSync('taskset', ['-c', '1', process.execPath, '--expose-gc', fileURLToPath(scriptUrl), ...process.argv.slice(2)], {
      stdio: 'inherit', env: { ...process.env, MQX_BENCH_PINNED: '1' },
    });
    process.exit(result.status ?? 1);
  }
  try {
    return parseArgs(process.argv.slice(2));
  } catch (error) {
    console.error(`Error: ${error.message}`);
    process.exit(2);
  }
}

/** Walks argv: calls on(flag, value) for each flag, where value() takes the argument after it. */
export function eachFlag(argv, on) {
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    on(flag, () => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${flag} needs a value`);
      return next;
    });
  }
}
