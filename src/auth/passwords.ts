// Mosquitto password hashes: `$6$` (SHA-512) and `$7$` (PBKDF2-SHA512), creating, decoding
// exactly as mosquitto 2.0 does, and checking in constant time. Pure; never logs a password.

import { createHash, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

export type HashType = 'sha512' | 'sha512-pbkdf2';

/** mosquitto_passwd's defaults (`SALT_LEN`, `PW_DEFAULT_ITERATIONS`, SHA-512 output). */
export const SALT_LENGTH = 12;
export const HASH_LENGTH = 64;
export const DEFAULT_ITERATIONS = 101;
export const DEFAULT_HASH_TYPE: HashType = 'sha512-pbkdf2';

export interface PasswordHash {
  type: HashType;
  /** PBKDF2 iterations; 0 for plain SHA-512. */
  iterations: number;
  salt: Buffer;
  hash: Buffer;
}

/** The digest Mosquitto stores for `password` with `salt`. */
export function digest(password: string | Buffer, salt: Buffer, type: HashType, iterations: number): Buffer {
  const bytes = typeof password === 'string' ? Buffer.from(password, 'utf8') : password;
  if (type === 'sha512') return createHash('sha512').update(bytes).update(salt).digest();
  return pbkdf2Sync(bytes, salt, iterations, HASH_LENGTH, 'sha512');
}

/** A new hash with a random 12-byte salt, as `mosquitto_passwd` writes it. */
export function hashPassword(password: string, type: HashType = DEFAULT_HASH_TYPE, iterations = DEFAULT_ITERATIONS, salt: Buffer = randomBytes(SALT_LENGTH)): PasswordHash {
  if (type === 'sha512-pbkdf2' && !(Number.isInteger(iterations) && iterations > 0)) {
    throw new RangeError('Number of iterations must be > 0.');
  }
  return { type, iterations: type === 'sha512' ? 0 : iterations, salt, hash: digest(password, salt, type, iterations) };
}

/** The text after `user:` in a password file: `$6$salt$hash` or `$7$iterations$salt$hash`. */
export function encodeHash(entry: PasswordHash): string {
  const salt = entry.salt.toString('base64');
  const hash = entry.hash.toString('base64');
  return entry.type === 'sha512' ? `$6$${salt}$${hash}` : `$7$${entry.iterations}$${salt}$${hash}`;
}

/** C's atoi: optional blanks and sign, then leading digits; 0 when there are none. */
function atoi(text: string): number {
  const match = /^[ \t\n\v\f\r]*([+-]?\d+)/.exec(text);
  return match ? Number.parseInt(match[1], 10) : 0;
}

/** Strict standard base64 (what OpenSSL's decoder accepts from mosquitto_passwd's output). */
function decodeBase64(text: string): Buffer | null {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return null;
  return Buffer.from(text, 'base64');
}

export type DecodeResult = { ok: true; hash: PasswordHash } | { ok: false; reason: string };

/**
 * Decodes a stored hash the way `unpwd__decode_passwords` does: fields split on runs of `$`,
 * type 6 or 7, iterations >= 1 for 7, a salt of exactly 12 bytes and a hash of exactly 64.
 * The reasons are Mosquitto's own log messages (without the user name).
 */
export function decodeHash(encoded: string): DecodeResult {
  const fields = encoded.split('$').filter((field) => field.length > 0);
  if (fields.length === 0) return { ok: false, reason: 'Invalid password hash' };
  let type: HashType;
  if (fields[0] === '6') type = 'sha512';
  else if (fields[0] === '7') type = 'sha512-pbkdf2';
  else return { ok: false, reason: 'Invalid password hash type' };
  let next = 1;
  let iterations = 0;
  if (type === 'sha512-pbkdf2') {
    if (fields[next] === undefined) return { ok: false, reason: 'Invalid password hash' };
    iterations = atoi(fields[next++]);
    if (iterations < 1) return { ok: false, reason: 'Invalid hash iterations' };
  }
  if (fields[next] === undefined) return { ok: false, reason: 'Invalid password hash' };
  const salt = decodeBase64(fields[next++]);
  if (!salt || salt.length !== SALT_LENGTH) return { ok: false, reason: 'Unable to decode password salt' };
  if (fields[next] === undefined) return { ok: false, reason: 'Invalid password hash' };
  const hash = decodeBase64(fields[next]);
  if (!hash || hash.length !== HASH_LENGTH) return { ok: false, reason: 'Unable to decode password' };
  return { ok: true, hash: { type, iterations, salt, hash } };
}

/** True when `password` produces the stored hash; the comparison takes constant time. */
export function verifyPassword(stored: PasswordHash, password: string | Buffer): boolean {
  const candidate = digest(password, stored.salt, stored.type, stored.iterations);
  return candidate.length === stored.hash.length && timingSafeEqual(candidate, stored.hash);
}

/** A hash no password matches in practice, checked for unknown users. */
const DUMMY: PasswordHash = { type: 'sha512-pbkdf2', iterations: DEFAULT_ITERATIONS, salt: Buffer.alloc(SALT_LENGTH), hash: Buffer.alloc(HASH_LENGTH) };

export type AuthDecision =
  | { result: 'accepted'; reason: string }
  | { result: 'refused'; reason: string }
  | { result: 'anonymous'; reason: string };

/**
 * The broker's password check (mosquitto 2.0 `mosquitto_unpwd_check_default`): no username
 * defers to allow_anonymous ('anonymous'); a username missing from the file is refused even
 * when anonymous clients are allowed; otherwise the password must match.
 */
export function authenticate(users: ReadonlyMap<string, PasswordHash>, username: string | undefined | null, password: string | Buffer | undefined | null): AuthDecision {
  if (username === undefined || username === null) return { result: 'anonymous', reason: 'no username: allow_anonymous decides' };
  const stored = users.get(username);
  // Mosquitto reads the password as a C string: it ends at the first NUL byte.
  const bytes = password === undefined || password === null ? null : typeof password === 'string' ? Buffer.from(password, 'utf8') : password;
  const secret = bytes === null ? null : bytes.subarray(0, bytes.indexOf(0) < 0 ? bytes.length : bytes.indexOf(0));
  if (!stored) {
    // Spend the same work as a real check, so timing does not tell which users exist.
    verifyPassword(DUMMY, secret ?? Buffer.alloc(0));
    return { result: 'refused', reason: 'unknown user' };
  }
  if (secret === null) return { result: 'refused', reason: 'no password given' };
  return verifyPassword(stored, secret)
    ? { result: 'accepted', reason: 'password matches' }
    : { result: 'refused', reason: 'wrong password' };
}
