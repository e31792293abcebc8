// The parser's running state while it walks the lines (current file, line, listener, open
// bridge section) and the helpers option handlers use to record values and issues. No I/O.

import type {
  ConfigIssue, GlobalSettings, ListenerSettings, Origin, ParsedConfig, ParsedListener, SecurityOptions,
} from './types.js';
import { readString, type Read } from './syntax.js';

export function newListener(origin: Origin | null): ParsedListener {
  return { origin, port: null, bind_address: null, unix_socket_path: null, settings: {}, security: {}, set: new Map() };
}

export function newParsedConfig(): ParsedConfig {
  return {
    files: [],
    global: {},
    security: {},
    per_listener_settings: false,
    local_only: true,
    listeners: [],
    default_listener: newListener(null),
    log_dest: null,
    log_file: null,
    log_type: null,
    set: new Map(),
  };
}

export function formatOrigin(origin: Origin): string {
  return `${origin.file}:${origin.line}`;
}

export class ParseContext {
  readonly parsed: ParsedConfig = newParsedConfig();
  readonly errors: ConfigIssue[] = [];
  readonly warnings: ConfigIssue[] = [];
  file = '';
  line = 0;
  /** 0 for the main file, 1 inside an include_dir file (Mosquitto processes include_dir only at 0). */
  level = 0;
  /** Options before the first `listener` of each file go to the default listener, as in conf.c. */
  listener: ParsedListener = this.parsed.default_listener;
  /** The `connection` section being skipped in this file, if any. */
  bridge: string | null = null;
  /** First security option seen: per_listener_settings must come before it (conf.c). */
  securityTouched: Origin | null = null;

  here(): Origin {
    return { file: this.file, line: this.line };
  }

  error(message: string): void {
    this.errors.push({ ...this.here(), message });
  }

  warn(message: string): void {
    this.warnings.push({ ...this.here(), message });
  }

  /** The value of a reader, or undefined after recording its message as an error. */
  take<T>(read: Read<T>): T | undefined {
    if (read.ok) return read.value;
    this.error(read.message);
    return undefined;
  }

  setGlobal<K extends keyof GlobalSettings>(key: K, value: GlobalSettings[K] | undefined, name: string = key): void {
    if (value === undefined) return;
    this.parsed.global[key] = value;
    this.parsed.set.set(name, this.here());
  }

  /** String options may appear once: Mosquitto stops with "Duplicate ... value". */
  setGlobalString(key: keyof GlobalSettings & string, rest: string, name: string = key): void {
    const previous = this.parsed.set.get(name);
    if (this.parsed.global[key] !== undefined && previous) {
      this.error(`duplicate ${name} (already set at ${formatOrigin(previous)})`);
      return;
    }
    this.setGlobal(key, this.take(readString(name, rest)) as GlobalSettings[typeof key] | undefined, name);
  }

  setListener<K extends keyof ListenerSettings>(key: K, value: ListenerSettings[K] | undefined, name: string = key): void {
    if (value === undefined) return;
    this.listener.settings[key] = value;
    this.listener.set.set(name, this.here());
  }

  setListenerString(key: keyof ListenerSettings & string, rest: string, name: string = key): void {
    const previous = this.listener.set.get(name);
    if (this.listener.settings[key] !== undefined && previous) {
      this.error(`duplicate ${name} for this listener (already set at ${formatOrigin(previous)})`);
      return;
    }
    this.setListener(key, this.take(readString(name, rest)) as ListenerSettings[typeof key] | undefined, name);
  }

  /**
   * Where a security option goes: the current listener with per_listener_settings, the global
   * set otherwise (conf__set_cur_security_options). Marks security as touched either way.
   */
  securityTarget(): { values: Partial<SecurityOptions>; set: Map<string, Origin> } {
    this.securityTouched ??= this.here();
    return this.parsed.per_listener_settings
      ? { values: this.listener.security, set: this.listener.set }
      : { values: this.parsed.security, set: this.parsed.set };
  }

  setSecurity<K extends keyof SecurityOptions>(key: K, value: SecurityOptions[K] | undefined): void {
    const target = this.securityTarget();
    if (value === undefined) return;
    target.values[key] = value;
    target.set.set(key, this.here());
  }

  setSecurityString(key: 'password_file' | 'acl_file' | 'auto_id_prefix', rest: string): void {
    const target = this.securityTarget();
    const previous = target.set.get(key);
    if (target.values[key] !== undefined && previous) {
      this.error(`duplicate ${key} (already set at ${formatOrigin(previous)})`);
      return;
    }
    const value = this.take(readString(key, rest));
    if (value === undefined) return;
    target.values[key] = value;
    target.set.set(key, this.here());
  }
}
