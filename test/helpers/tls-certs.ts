// Test certificates made with openssl in a temp dir: a CA, a server certificate for 127.0.0.1
// and localhost, client certificates signed by the CA, and one from an untrusted CA.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCertificates {
  dir: string;
  /** Paths. */
  caCert: string;
  serverCert: string;
  serverKey: string;
  /** A second server key that does not match serverCert (for the mismatch error). */
  otherKey: string;
  clientCert: string;
  clientKey: string;
  /** Signed by a CA the server does not trust. */
  strangerCert: string;
  strangerKey: string;
  /** The client certificate's subject as `openssl x509 -nameopt RFC2253` prints it. */
  clientSubject: string;
  read(path: string): Buffer;
  remove(): void;
}

function openssl(dir: string, args: string[]): string {
  return execFileSync('openssl', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function signed(dir: string, name: string, subject: string, ca: string, extensions: string): void {
  openssl(dir, ['req', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject]);
  writeFileSync(join(dir, `${name}.ext`), extensions);
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial',
    '-days', '2', '-out', `${name}.crt`, '-extfile', `${name}.ext`]);
}

/** Generates everything (a few hundred ms of openssl). Call remove() in t.after. */
export function makeCertificates(clientCommonName = 'alice'): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'mqx-certs-'));
  for (const ca of ['ca', 'stranger-ca']) {
    openssl(dir, ['req', '-x509', ...EC, '-keyout', `${ca}.key`, '-out', `${ca}.crt`, '-days', '2', '-subj', `/CN=mqx test ${ca}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  }
  signed(dir, 'server', '/CN=localhost', 'ca', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  signed(dir, 'client', `/C=GB/O=mqx tests/CN=${clientCommonName}`, 'ca', 'extendedKeyUsage=clientAuth\n');
  signed(dir, 'stranger', '/CN=mallory', 'stranger-ca', 'extendedKeyUsage=clientAuth\n');
  openssl(dir, ['genpkey', '-algorithm', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', 'other.key']);
  const clientSubject = openssl(dir, ['x509', '-in', 'client.crt', '-noout', '-subject', '-nameopt', 'RFC2253']).trim().replace(/^subject=\s*/, '');
  const path = (file: string) => join(dir, file);
  return {
    dir,
    caCert: path('ca.crt'),
    serverCert: path('server.crt'),
    serverKey: path('server.key'),
    otherKey: path('other.key'),
    clientCert: path('client.crt'),
    clientKey: path('client.key'),
    strangerCert: path('stranger.crt'),
    strangerKey: path('stranger.key'),
    clientSubject,
    read: (file) => readFileSync(file),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
