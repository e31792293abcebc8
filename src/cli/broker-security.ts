// Reads the password and ACL files a BrokerConfig names into the SecurityState the broker's
// hooks evaluate, at start-up and on SIGHUP. Only reading and reporting; the rules are in broker-hooks.

import { AuthFileError, loadAclFile, loadPasswordFile } from '../auth/index.js';
import type { Acl, PasswordHash } from '../auth/index.js';
import type { BrokerConfig, ListenerConfig, Origin } from '../config/index.js';
import type { SecurityScope, SecurityState } from './broker-hooks.js';

export interface SecurityLoad {
  /** Null when any file has an error: a broker must not start (or reload) with it. */
  state: SecurityState | null;
  /** One line each, `file:line: what is wrong`. */
  errors: string[];
  /** Problems Mosquitto lives with (a user listed twice): logged as warnings. */
  warnings: string[];
  /** The files read, for the reload log line. */
  files: string[];
}

/**
 * The name each listener gives its streams (StreamInfo.listener): its port, or its socket
 * path; the bind address is added only when two listeners share a port.
 */
export function listenerNames(listeners: readonly ListenerConfig[]): string[] {
  return listeners.map((listener) => {
    if (listener.unix_socket_path !== null) return listener.unix_socket_path;
    const shared = listeners.filter((other) => other.unix_socket_path === null && other.port === listener.port).length > 1;
    return shared ? `${listener.port}/${listener.bind_address ?? '*'}` : String(listener.port);
  });
}

function where(origin: Origin | undefined): string {
  return origin === undefined ? '' : `${origin.file}:${origin.line}: `;
}

/** Reads each file once per load even when several listeners share it. */
class FileCache {
  readonly passwords = new Map<string, ReadonlyMap<string, PasswordHash> | null>();
  readonly acls = new Map<string, Acl | null>();
  readonly errors: string[] = [];
  readonly warnings: string[] = [];

  password(path: string, origin: Origin | undefined): ReadonlyMap<string, PasswordHash> | null {
    if (this.passwords.has(path)) return this.passwords.get(path)!;
    let users: ReadonlyMap<string, PasswordHash> | null = null;
    try {
      const parsed = loadPasswordFile(path);
      for (const problem of parsed.problems) {
        const line = `${path}:${problem.line}: ${problem.message}`;
        (problem.severity === 'error' ? this.errors : this.warnings).push(line);
      }
      if (!parsed.problems.some((problem) => problem.severity === 'error')) users = parsed.users;
    } catch (error) {
      this.errors.push(`${where(origin)}${error instanceof AuthFileError ? error.message : String(error)}`);
    }
    this.passwords.set(path, users);
    return users;
  }

  acl(path: string, origin: Origin | undefined): Acl | null {
    if (this.acls.has(path)) return this.acls.get(path)!;
    let acl: Acl | null = null;
    try {
      const loaded = loadAclFile(path);
      for (const problem of loaded.problems) {
        const line = `${problem.file}:${problem.line}: ${problem.message}`;
        (problem.severity === 'error' ? this.errors : this.warnings).push(line);
      }
      if (!loaded.problems.some((problem) => problem.severity === 'error')) acl = loaded.acl;
    } catch (error) {
      this.errors.push(`${where(origin)}${error instanceof AuthFileError ? error.message : String(error)}`);
    }
    this.acls.set(path, acl);
    return acl;
  }
}

function scope(cache: FileCache, security: BrokerConfig['security'], origins: Record<string, Origin>): SecurityScope {
  return {
    allowAnonymous: security.allow_anonymous,
    users: security.password_file === null ? null : cache.password(security.password_file, origins.password_file),
    acl: security.acl_file === null ? null : cache.acl(security.acl_file, origins.acl_file),
  };
}

/** Reads every password and ACL file the configuration names. Never throws for bad files. */
export function loadSecurity(config: BrokerConfig): SecurityLoad {
  const cache = new FileCache();
  const global = scope(cache, config.security, config.origins);
  const names = listenerNames(config.listeners);
  const listeners = new Map<string, SecurityScope>();
  if (config.per_listener_settings) {
    config.listeners.forEach((listener, index) => {
      listeners.set(names[index]!, scope(cache, listener.security, { ...config.origins, ...listener.origins }));
    });
  }
  const files = [...cache.passwords.keys(), ...cache.acls.keys()];
  if (cache.errors.length > 0) return { state: null, errors: cache.errors, warnings: cache.warnings, files };
  return {
    state: { perListener: config.per_listener_settings, global, listeners, aclCheckSubscribe: config.acl_check_subscribe },
    errors: [],
    warnings: cache.warnings,
    files,
  };
}

/**
 * The live security state: start-up loads it, reload() swaps it in only when every file is
 * good, so a bad edit leaves the running broker on its old files (as the caller logs why).
 */
export class SecurityFiles {
  private state: SecurityState;

  constructor(private config: BrokerConfig, initial: SecurityState) {
    this.state = initial;
  }

  current(): SecurityState {
    return this.state;
  }

  /** Reads the files again; with `config` (the config file read again) its security settings apply. */
  reload(config: BrokerConfig = this.config): SecurityLoad {
    const loaded = loadSecurity(config);
    if (loaded.state !== null) {
      this.state = loaded.state;
      this.config = config;
    }
    return loaded;
  }
}
