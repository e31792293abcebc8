// The `user` option: a broker started as root drops to that user once its sockets, pid file and
// log file are open, with mosquitto 2.0's messages. Does nothing when not root.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { BrokerLogger } from '../broker/logger.js';
import { CliError } from './errors.js';

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
}

function parsePasswdLine(line: string): PasswdEntry | null {
  const fields = line.split(':');
  if (fields.length < 4) return null;
  const uid = Number(fields[2]);
  const gid = Number(fields[3]);
  return Number.isInteger(uid) && Number.isInteger(gid) ? { name: fields[0]!, uid, gid } : null;
}

/** getpwnam: through getent (NSS, LDAP...) when available, else /etc/passwd. */
export function lookupUser(name: string): PasswdEntry | null {
  const getent = spawnSync('getent', ['passwd', name], { encoding: 'utf8' });
  if (getent.error === undefined) return getent.status === 0 ? parsePasswdLine(getent.stdout.trim()) : null;
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const entry = parsePasswdLine(line);
      if (entry?.name === name) return entry;
    }
  } catch { /* no passwd file: no such user */ }
  return null;
}

/**
 * mosquitto.c drop_privileges: as root, switch to `user` (default "mosquitto"; a missing
 * "mosquitto" falls back to "nobody"); `user root` keeps root. Warns when still root.
 */
export function dropPrivileges(user: string | null, logger: BrokerLogger): void {
  if (typeof process.geteuid !== 'function' || process.geteuid() !== 0) return;
  const wanted = user ?? 'mosquitto';
  if (wanted !== 'root') {
    let entry = lookupUser(wanted);
    if (entry === null) {
      if (wanted !== 'mosquitto') throw new CliError(`Error: Unable to drop privileges to '${wanted}' because this user does not exist.`, 1);
      logger.log('error', `Warning: Unable to drop privileges to '${wanted}' because this user does not exist. Trying 'nobody' instead.`);
      entry = lookupUser('nobody');
      if (entry === null) throw new CliError("Error: Unable to drop privileges to 'nobody'.", 1);
    }
    try {
      // Present on POSIX Node, missing from @types/node.
      (process as unknown as { initgroups?: (user: string, group: number) => void }).initgroups?.(entry.name, entry.gid);
    } catch (error) {
      throw new CliError(`Error setting groups whilst dropping privileges: ${(error as Error).message}.`, 1);
    }
    try {
      process.setgid!(entry.gid);
    } catch (error) {
      throw new CliError(`Error setting gid whilst dropping privileges: ${(error as Error).message}.`, 1);
    }
    try {
      process.setuid!(entry.uid);
    } catch (error) {
      throw new CliError(`Error setting uid whilst dropping privileges: ${(error as Error).message}.`, 1);
    }
  }
  if (process.geteuid() === 0 || process.getegid!() === 0) {
    logger.log('warning', 'Warning: mqx should not be run as root/administrator.');
  }
}
