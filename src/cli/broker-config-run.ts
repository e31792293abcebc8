// `mqx broker -c FILE`: load and check everything a mosquitto.conf names (config, password and
// ACL files, TLS files), then run the broker with Mosquitto's start-up order, signals and pid file.

import { accessSync, constants, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { networkInterfaces } from 'node:os';
import type { Writable } from 'node:stream';
import type { Broker } from '../broker/broker.js';
import type { BrokerOptions, ListenerOptions } from '../broker/options.js';
import type { ListenerTlsOptions } from '../broker/transport/tls.js';
import { formatIssue, loadConfigFile, parseConfigText, resolveConfig, toBrokerOptions } from '../config/index.js';
import type { BrokerConfig, ConfigResult } from '../config/index.js';
import { BrokerLog } from './broker-log.js';
import { listenBroker } from './broker-listen.js';
import { authenticateClient, needsHooks, securityHooks } from './broker-hooks.js';
import { listenerNames, loadSecurity, SecurityFiles } from './broker-security.js';
import type { SecurityLoad } from './broker-security.js';
import { loadListenerTls, TlsFilesError } from './broker-tls-files.js';
import { daemonise, isDaemonChild, reportFailure, reportReady } from './daemon.js';
import { CliError } from './errors.js';
import { dropPrivileges } from './privileges.js';
import { mqxVersion } from './version.js';

export interface ConfigRunOptions {
  /** null: Mosquitto's default configuration (for -d without -c). */
  configFile: string | null;
  verbose: boolean;
  ports: number[];
  daemon: boolean;
}

export interface PreparedBroker {
  config: BrokerConfig;
  options: BrokerOptions;
  security: SecurityLoad;
  /** `file:line: warning` lines, for the log (or --test-config's output). */
  warnings: string[];
}

/**
 * Everything that can be checked without binding a socket, with every error collected:
 * the config (and include_dir), what the broker cannot apply, password and ACL files, TLS files.
 */
export function prepareBroker(file: string | null, verbose: boolean, ports: number[]): PreparedBroker {
  const loaded = file === null ? resolveConfig(parseConfigText('', 'default config'), { verbose, ports }) : loadConfigFile(file, { verbose, ports });
  const errors = loaded.errors.map(formatIssue);
  const warnings = loaded.warnings.map((issue) => formatIssue({ ...issue, message: `warning: ${issue.message}` }));
  const config = loaded.config;
  const mapping = toBrokerOptions(config, { interfaceAddresses });
  errors.push(...mapping.issues.map(formatIssue));
  const security = loadSecurity(config);
  errors.push(...security.errors);
  warnings.push(...security.warnings.map((line) => line.replace(/^([^:]+:\d+: )/, '$1warning: ')));
  const names = listenerNames(config.listeners);
  const tlsBySource = new Map<number, ListenerTlsOptions | null>();
  const listeners = (mapping.options.listeners ?? []).map((listener, index) => {
    const sourceIndex = mapping.listenerSources[index]!;
    const withName: ListenerOptions = { ...listener, name: names[sourceIndex] };
    if (!tlsBySource.has(sourceIndex)) {
      let tls: ListenerTlsOptions | null = null;
      try {
        tls = loadListenerTls(config.listeners[sourceIndex]!);
      } catch (error) {
        if (error instanceof TlsFilesError) errors.push(...error.problems);
        else throw error;
      }
      tlsBySource.set(sourceIndex, tls);
    }
    const tls = tlsBySource.get(sourceIndex);
    if (tls) withName.tls = tls;
    return withName;
  });
  if (errors.length > 0) throw new CliError(errors.join('\n'), 1);
  return { config, options: { ...mapping.options, listeners }, security, warnings };
}

/** os.networkInterfaces() for bind_interface; null when there is no such interface. */
function interfaceAddresses(name: string): Array<{ address: string; family: 'IPv4' | 'IPv6'; scopeid?: number }> | null {
  const entries = networkInterfaces()[name];
  if (entries === undefined) return null;
  return entries.map((entry) => ({ address: entry.address, family: entry.family, ...(entry.scopeid !== undefined ? { scopeid: entry.scopeid } : {}) }));
}

/** `--test-config`: every problem, exit 1; otherwise the warnings and a last line saying it is valid. */
export function testConfig(file: string, stdout: Writable, stderr: Writable): void {
  const prepared = prepareBroker(file, false, []);
  for (const warning of prepared.warnings) stderr.write(`${warning}\n`);
  stdout.write(`${file}: configuration OK (${prepared.config.listeners.length} listener${prepared.config.listeners.length === 1 ? '' : 's'})\n`);
}

/** The SIGUSR1 summary: one log line with the broker's state. */
export function stateSummary(broker: Broker): string {
  const m = broker.metrics;
  return `State: ${m.clientsConnected} clients connected (${m.sockets} sockets, ${m.clientsMaximum} at most), `
    + `${broker.sessions.size} sessions, ${broker.router.count} subscriptions, ${broker.retained.size} retained messages, `
    + `${m.publishReceived} messages received, ${m.publishSent} sent, ${m.dropped} dropped, up ${Math.floor((Date.now() - m.startedAt) / 1000)} s.`;
}

/** Runs the broker from a config until `stop` resolves; with -d returns once the daemon is up. */
export async function runBrokerFromConfig(run: ConfigRunOptions, stdout: Writable, stderr: Writable, stop: Promise<unknown>): Promise<void> {
  if (run.daemon && !isDaemonChild()) {
    // Check in the foreground first, so errors reach the terminal with the right exit status.
    prepareBroker(run.configFile, run.verbose, run.ports);
    await daemonise();
    return;
  }
  try {
    await serve(run, stdout, stderr, stop);
  } catch (error) {
    reportFailure(error instanceof Error ? error.message : String(error));
    throw error;
  }
}

async function serve(run: ConfigRunOptions, stdout: Writable, stderr: Writable, stop: Promise<unknown>): Promise<void> {
  const version = mqxVersion();
  const prepared = prepareBroker(run.configFile, run.verbose, run.ports);
  const { config } = prepared;
  const log = new BrokerLog(config, stdout, stderr);
  log.log('information', `mqx version ${version} starting`);
  log.log('information', run.configFile === null ? 'Using default config.' : `Config loaded from ${run.configFile}.`);
  for (const warning of prepared.warnings) log.log('warning', warning);
  if (config.local_only) {
    log.log('information', 'Starting in local only mode. Connections will only be possible from clients running on this machine.');
    log.log('information', 'Create a configuration file which defines a listener to allow remote access.');
  }
  const files = new SecurityFiles(config, prepared.security.state!);
  const wanted = needsHooks(files.current());
  const hooks = securityHooks(() => files.current());
  const options: BrokerOptions = {
    ...prepared.options,
    logger: log,
    version,
    ...(wanted.authenticate || prepared.options.listeners?.some((l) => l.tls?.use_identity_as_username || l.tls?.use_subject_as_username) ? { authenticate: hooks.authenticate } : {}),
    ...(wanted.authorize ? { authorize: hooks.authorize } : {}),
  };
  if (config.pid_file !== null) {
    try {
      writeFileSync(config.pid_file, `${process.pid}\n`);
    } catch (error) {
      log.close();
      throw new CliError(`Error: Unable to write pid file ${config.pid_file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`, 1);
    }
  }
  let broker: Broker | null = null;
  try {
    broker = await listenBroker(options, config.local_only);
    const running = broker;
    log.attachBroker((topic, payload) => running.publish(topic, payload));
    dropPrivileges(config.user, log);
    warnUnwritableStore(running, log);
  } catch (error) {
    await broker?.close();
    removePidFile(config.pid_file);
    log.close();
    throw error;
  }
  log.log('information', `mqx version ${version} running`);
  reportReady();
  if (isDaemonChild()) log.detachConsole();
  const running = broker;
  const onHup = () => {
    log.openFile();
    log.log('notice', 'Reloading config.');
    // The config file is read again for its security settings (allow_anonymous, password_file,
    // acl_file, ...); listeners and the rest need a restart, as they do in Mosquitto.
    const reread: ConfigResult | null = run.configFile === null ? null : loadConfigFile(run.configFile, { verbose: run.verbose, ports: run.ports });
    if (reread !== null && reread.errors.length > 0) {
      for (const error of reread.errors) log.log('error', `Error: reload refused, keeping the previous configuration: ${formatIssue(error)}`);
      return;
    }
    const reloaded = files.reload(reread?.config);
    if (reloaded.state === null) {
      for (const error of reloaded.errors) log.log('error', `Error: reload refused, keeping the previous password and ACL files: ${error}`);
      return;
    }
    for (const warning of reloaded.warnings) log.log('warning', warning);
    log.log('notice', reloaded.files.length > 0 ? `Reloaded ${reloaded.files.join(', ')}.` : 'No password or ACL file to reload.');
    const now = needsHooks(reloaded.state);
    running.setHooks({
      ...(now.authenticate && running.options.authenticate === undefined ? { authenticate: hooks.authenticate } : {}),
      ...(now.authorize && running.options.authorize === undefined ? { authorize: hooks.authorize } : {}),
    });
    // Mosquitto's mosquitto_security_apply_default: connected clients the new settings would
    // refuse (user deleted, password changed, anonymous no longer allowed) are disconnected.
    const state = reloaded.state;
    running.reauthenticate((info) => authenticateClient(state, info));
  };
  const onUsr1 = () => {
    log.log('notice', stateSummary(running));
    // As Mosquitto's SIGUSR1 writes its database: the persistence log is compacted now.
    running.persistence?.compact();
  };
  process.on('SIGHUP', onHup);
  process.on('SIGUSR1', onUsr1);
  try {
    await stop;
  } finally {
    process.off('SIGHUP', onHup);
    process.off('SIGUSR1', onUsr1);
    log.log('information', `mqx version ${version} terminating`);
    await running.close();
    removePidFile(config.pid_file);
    log.close();
  }
}

/** The store was opened before dropping privileges; compaction and the lock need the directory afterwards too. */
function warnUnwritableStore(broker: Broker, log: BrokerLog): void {
  if (broker.persistence === null) return;
  const dir = dirname(broker.persistence.path);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    log.log('warning', `Warning: this user cannot create files in ${dir}: compacting the persistence store and removing its lock file will fail; give the directory to the user the broker runs as.`);
  }
}

function removePidFile(path: string | null): void {
  if (path === null) return;
  try { unlinkSync(path); } catch { /* already gone, or no longer ours to remove after dropping privileges */ }
}
