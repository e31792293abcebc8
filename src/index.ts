// The library API: a list of re-exports, nothing else (other modules add their lines here).
// Must not run anything at import time.

export { createBroker, Broker } from './broker/broker.js';
export type { PublishOptions, BrokerStats } from './broker/broker.js';
export { resolveOptions, DEFAULT_OPTIONS } from './broker/options.js';
export type { BrokerOptions, ResolvedBrokerOptions, ListenerOptions } from './broker/options.js';
export type { BrokerLogger, LogType } from './broker/logger.js';
export type { ConnectInfo, ClientInfo, Access } from './broker/hooks.js';
export type { BoundAddress } from './broker/transport/transport.js';
export type { Message } from './broker/message.js';
export { MqttError, ReasonCode, reasonName } from './codec/index.js';

// mosquitto.conf: parse, resolve defaults, map to BrokerOptions.
export { parseConfig, parseConfigText, loadConfigFile, resolveConfig, toBrokerOptions, formatIssue, ConfigError } from './config/index.js';
export type { BrokerConfig } from './config/index.js';

// Mosquitto password and ACL files (pure functions, shared with `mqx passwd` and `mqx acl`).
export { hashPassword, verifyPassword, encodeHash, decodeHash, parsePasswordFile, serialisePasswordFile } from './auth/index.js';
export { parseAclFile, compileAcl, loadAcl, checkAccess, checkSubscribe } from './auth/index.js';
export type { PasswordHash, HashType, Acl, AclClient, AclAction, AclDecision } from './auth/index.js';
