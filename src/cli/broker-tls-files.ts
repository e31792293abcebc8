// Reads a listener's TLS files (certfile, keyfile, cafile, capath, crlfile, dhparamfile) into the
// PEM contents the TLS transport takes, and checks key against certificate before binding.

import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { checkTlsOptions } from '../broker/transport/tls.js';
import type { ListenerTlsOptions } from '../broker/transport/tls.js';
import type { ListenerConfig, Origin } from '../config/index.js';

/** Thrown with every problem of one listener's TLS files, each `file:line: what is wrong`. */
export class TlsFilesError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'TlsFilesError';
  }
}

const REASONS: Record<string, string> = { ENOENT: 'no such file', EACCES: 'permission denied', EISDIR: 'is a directory', ENOTDIR: 'not a directory' };

function reason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  return (code && REASONS[code]) ?? (error instanceof Error ? error.message : String(error));
}

/** capath holds PEM files (`*.pem`, `*.crt`) and their `openssl rehash` links (`0a1b2c3d.0`). */
const CA_FILE = /(\.pem|\.crt|^[0-9a-f]{8}\.r?[0-9]+)$/;

/** The listener's TLS options, or null for a plain listener. Throws TlsFilesError. */
export function loadListenerTls(listener: ListenerConfig): ListenerTlsOptions | null {
  if (listener.certfile === null || listener.keyfile === null) return null;
  const problems: string[] = [];
  const at = (name: string): string => {
    const origin: Origin | null = listener.origins[name] ?? listener.origin;
    return origin ? `${origin.file}:${origin.line}: ` : '';
  };
  const read = (name: string, path: string): Buffer | null => {
    try {
      return readFileSync(path);
    } catch (error) {
      problems.push(`${at(name)}cannot read ${name} ${path}: ${reason(error)}`);
      return null;
    }
  };
  const cert = read('certfile', listener.certfile);
  const key = read('keyfile', listener.keyfile);
  const ca: Buffer[] = [];
  if (listener.cafile !== null) {
    const pem = read('cafile', listener.cafile);
    if (pem) ca.push(pem);
  }
  if (listener.capath !== null) {
    try {
      const names = readdirSync(listener.capath).filter((name) => CA_FILE.test(name)).sort();
      if (names.length === 0) problems.push(`${at('capath')}capath ${listener.capath} holds no .pem or .crt files`);
      for (const name of names) {
        const pem = read('capath', join(listener.capath, name));
        if (pem) ca.push(pem);
      }
    } catch (error) {
      problems.push(`${at('capath')}cannot read capath ${listener.capath}: ${reason(error)}`);
    }
  }
  const crl = listener.crlfile === null ? null : read('crlfile', listener.crlfile);
  const dhparam = listener.dhparamfile === null ? null : read('dhparamfile', listener.dhparamfile);
  if (problems.length > 0 || cert === null || key === null) throw new TlsFilesError(problems);
  const tls: ListenerTlsOptions = {
    cert,
    key,
    require_certificate: listener.require_certificate,
    use_identity_as_username: listener.use_identity_as_username,
    use_subject_as_username: listener.use_subject_as_username,
  };
  if (ca.length > 0) tls.ca = ca;
  if (crl !== null) tls.crl = [crl];
  if (dhparam !== null) tls.dhparam = dhparam;
  if (listener.tls_version !== null) tls.tls_version = listener.tls_version;
  if (listener.ciphers !== null) tls.ciphers = listener.ciphers;
  if (listener.ciphers_tls13 !== null) tls.ciphers_tls13 = listener.ciphers_tls13;
  try {
    checkTlsOptions(tls);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (/key values mismatch/i.test(message)) {
      throw new TlsFilesError([`${at('keyfile')}keyfile ${listener.keyfile} does not match certfile ${listener.certfile}`]);
    }
    if (/cipher/i.test(message)) throw new TlsFilesError([`${at(listener.origins.ciphers ? 'ciphers' : 'ciphers_tls1.3')}no usable cipher in the list: ${message}`]);
    throw new TlsFilesError([`${at('certfile')}cannot use certfile ${listener.certfile} / keyfile ${listener.keyfile}: ${message}`]);
  }
  return tls;
}
