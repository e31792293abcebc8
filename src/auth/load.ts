// Reads a password file or an ACL file from disk into the pure parsed forms, for the broker
// (start-up and SIGHUP) and the CLI. The only job here is "read, then parse"; no policy.

import { readTextFile } from './file-io.js';
import { parsePasswordFile } from './password-file.js';
import type { ParsedPasswordFile } from './password-file.js';
import { loadAcl } from './acl-file.js';
import type { Acl, AclProblem } from './acl-file.js';

/** Throws AuthFileError when the file cannot be read; line problems are in `problems`. */
export function loadPasswordFile(path: string): ParsedPasswordFile {
  return parsePasswordFile(readTextFile(path, 'password file')!);
}

/**
 * Throws AuthFileError when the file cannot be read. Problems with severity 'error' are lines
 * Mosquitto refuses to start with; a broker must not use the ACL when there are any.
 */
export function loadAclFile(path: string): { acl: Acl; problems: AclProblem[] } {
  return loadAcl(readTextFile(path, 'ACL file')!, path);
}
