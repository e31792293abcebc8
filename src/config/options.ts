// The one table of every option name mqx knows, with its status, and the lookup the parser
// uses (unknown names get a "did you mean"). Adding an option = one entry in an options-*.ts file.

import { generalOptions, type OptionSpec, type OptionStatus } from './options-general.js';
import { listenerOptions } from './options-listener.js';
import { bridgeOptions, refusedOptions, refusedPrefix } from './options-refused.js';
import { editDistance } from './syntax.js';

export type { OptionSpec, OptionStatus };

/** Every option name mqx recognises (include_dir is handled by the parser itself). */
export const optionTable: Readonly<Record<string, OptionSpec>> = {
  ...generalOptions,
  ...listenerOptions,
  ...refusedOptions,
  ...bridgeOptions,
};

/** The status of each option name as docs/mosquitto-options.md must list it. */
export function optionStatuses(): Map<string, OptionStatus> {
  const statuses = new Map<string, OptionStatus>(Object.entries(optionTable).map(([name, spec]) => [name, spec.status]));
  statuses.set('include_dir', 'supported');
  statuses.set('auth_opt_*', 'refused');
  statuses.set('plugin_opt_*', 'refused');
  return statuses;
}

export function lookupOption(name: string): OptionSpec | undefined {
  return Object.prototype.hasOwnProperty.call(optionTable, name) ? optionTable[name] : refusedPrefix(name);
}

/** The closest known option name, when one is close enough to be a likely typo. */
export function suggestOption(name: string): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const known of [...Object.keys(optionTable), 'include_dir']) {
    const distance = editDistance(name, known);
    if (distance < bestDistance) {
      best = known;
      bestDistance = distance;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 4)) ? best : undefined;
}
