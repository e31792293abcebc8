// The public face of src/config: parse a mosquitto.conf into one validated BrokerConfig.
// Re-exports only; each job lives in its own module.

export type * from './types.js';
export { parseConfig, parseConfigText, type ConfigSource } from './parse.js';
export { resolveConfig, globalDefaults, listenerDefaults, type ResolveOptions } from './defaults.js';
export { loadConfigFile, fileSource, formatIssue, ConfigError, type LoadOptions } from './load.js';
export { includeOrder, compareIncludeNames } from './include-order.js';
export { optionStatuses, type OptionStatus } from './options.js';
export { toBrokerOptions, type BrokerOptionsMapping } from './broker-options.js';
