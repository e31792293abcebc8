// Mosquitto password files as text: parse into entries and per-line problems, and edit them
// without losing anything. Pure (no file IO): a malformed line is reported, never dropped.

import { decodeHash, encodeHash, hashPassword } from './passwords.js';
import type { HashType, PasswordHash } from './passwords.js';

export interface PasswordLine {
  /** 1-based line number in the text this was parsed from (0 for lines added since). */
  lineNumber: number;
  /** The line exactly as written, without its newline. */
  raw: string;
  kind: 'blank' | 'comment' | 'entry' | 'malformed';
  /** For entries (and malformed lines that still name a user). */
  username?: string;
  /** The stored hash, when it decodes as mosquitto 2.0 would accept it. */
  hash?: PasswordHash;
}

export interface PasswordProblem {
  line: number;
  severity: 'error' | 'warning';
  message: string;
}

export interface PasswordFile {
  lines: PasswordLine[];
  /** Whether the text ended with a newline (kept as found). */
  finalNewline: boolean;
}

export interface ParsedPasswordFile {
  file: PasswordFile;
  /** What mosquitto 2.0 would load: user -> hash (for a repeated user, the last valid line). */
  users: Map<string, PasswordHash>;
  problems: PasswordProblem[];
}

/** C's isspace, which `misc__trimblanks` trims. */
const trimBlanks = (text: string): string => text.replace(/^[ \t\n\v\f\r]+|[ \t\n\v\f\r]+$/g, '');

/** C's strtok: the non-empty pieces between runs of the separator. */
const strtok = (text: string, separator: string): string[] => text.split(separator).filter((piece) => piece.length > 0);

/** Validity rules mosquitto_passwd applies to a new username; null when acceptable. */
export function usernameProblem(username: string): string | null {
  if (Buffer.byteLength(username) > 65535) return 'Username must be less than 65536 characters long.';
  // iscntrl: C0 controls and DEL.
  if (/[\u0000-\u001f\u007f]/.test(username)) return 'Username must not contain control characters.';
  if (username.includes(':')) return "Username must not contain the ':' character.";
  if (username.length === 0) return 'Username must not be empty.';
  return null;
}

/**
 * Parses a password file with the broker's rules (`pwfile__parse` + `unpwd__decode_passwords`):
 * `#` in the first column is a comment; a line without `:` is ignored; the user is the text
 * before the first `:` and the hash the next `:`-separated field, both trimmed; an entry whose
 * hash does not decode is removed. mqx reports each of these with its line number.
 */
export function parsePasswordFile(text: string): ParsedPasswordFile {
  const finalNewline = text.endsWith('\n');
  const rawLines = text.length === 0 ? [] : (finalNewline ? text.slice(0, -1) : text).split('\n');
  const lines: PasswordLine[] = [];
  const problems: PasswordProblem[] = [];
  const users = new Map<string, PasswordHash>();
  const seen = new Map<string, number>();
  rawLines.forEach((raw, index) => {
    const lineNumber = index + 1;
    if (raw.startsWith('#')) { lines.push({ lineNumber, raw, kind: 'comment' }); return; }
    if (trimBlanks(raw) === '') { lines.push({ lineNumber, raw, kind: 'blank' }); return; }
    if (!raw.includes(':')) {
      lines.push({ lineNumber, raw, kind: 'malformed' });
      problems.push({ line: lineNumber, severity: 'error', message: "no ':' between user and password hash; Mosquitto ignores this line" });
      return;
    }
    const [first, second] = strtok(raw, ':');
    const username = trimBlanks(first ?? '');
    if (username === '') {
      lines.push({ lineNumber, raw, kind: 'malformed' });
      problems.push({ line: lineNumber, severity: 'error', message: 'empty user name' });
      return;
    }
    const encoded = trimBlanks(second ?? '');
    if (encoded === '') {
      lines.push({ lineNumber, raw, kind: 'malformed', username });
      problems.push({ line: lineNumber, severity: 'error', message: `user ${username} has no password hash; Mosquitto removes this entry` });
      return;
    }
    const decoded = decodeHash(encoded);
    if (!decoded.ok) {
      lines.push({ lineNumber, raw, kind: 'malformed', username });
      const hint = decoded.reason === 'Invalid password hash type' ? ' (a plain-text password? convert the file with `mqx passwd -U FILE`)' : '';
      problems.push({ line: lineNumber, severity: 'error', message: `${decoded.reason} for user ${username}; Mosquitto removes this entry${hint}` });
      return;
    }
    lines.push({ lineNumber, raw, kind: 'entry', username, hash: decoded.hash });
    const earlier = seen.get(username);
    if (earlier !== undefined) {
      problems.push({ line: lineNumber, severity: 'warning', message: `user ${username} is also on line ${earlier}; this later line is the one Mosquitto uses` });
    }
    seen.set(username, lineNumber);
    users.set(username, decoded.hash);
  });
  return { file: { lines, finalNewline }, users, problems };
}

/** The file as text again: untouched lines byte for byte, a newline after every line. */
export function serialisePasswordFile(file: PasswordFile): string {
  if (file.lines.length === 0) return '';
  return file.lines.map((line) => line.raw).join('\n') + '\n';
}

/** Whether the user has at least one line (valid or not) in the file. */
export function hasUser(file: PasswordFile, username: string): boolean {
  return file.lines.some((line) => line.username === username);
}

/** The users with a valid entry, in file order, without repeats. */
export function listUsers(file: PasswordFile): string[] {
  return [...new Set(file.lines.filter((line) => line.kind === 'entry').map((line) => line.username!))];
}

function entryLine(username: string, hash: PasswordHash): PasswordLine {
  return { lineNumber: 0, raw: `${username}:${encodeHash(hash)}`, kind: 'entry', username, hash };
}

/**
 * Sets a user's password as `mosquitto_passwd` does: every line for that user is replaced
 * by the new hash; a new user is appended. Returns whether the user already existed.
 */
export function setPassword(file: PasswordFile, username: string, password: string, type?: HashType, iterations?: number): { file: PasswordFile; existed: boolean } {
  const hash = hashPassword(password, type, iterations);
  let existed = false;
  const lines = file.lines.map((line) => {
    if (line.username !== username) return line;
    existed = true;
    return entryLine(username, hash);
  });
  if (!existed) lines.push(entryLine(username, hash));
  return { file: { ...file, lines }, existed };
}

/** Removes every line for the user; `removed` is false when there was none. */
export function deleteUser(file: PasswordFile, username: string): { file: PasswordFile; removed: boolean } {
  const lines = file.lines.filter((line) => line.username !== username);
  return { file: { ...file, lines }, removed: lines.length !== file.lines.length };
}

/**
 * `-U`: hashes the plain-text passwords of a file. Unlike mosquitto_passwd, lines that already
 * hold a valid hash are left alone (hashing a hash would lock the user out), and comments and
 * malformed lines are kept. Returns the users converted.
 */
export function hashPlainPasswords(file: PasswordFile, type?: HashType, iterations?: number): { file: PasswordFile; converted: string[] } {
  const converted: string[] = [];
  const lines = file.lines.map((line) => {
    if (line.kind !== 'malformed' || line.username === undefined) return line;
    const plain = trimBlanks(strtok(line.raw, ':')[1] ?? '');
    // Only plain text: a damaged $6$/$7$ hash is kept for a person to look at, not hashed.
    if (plain === '' || /^\$+[67]\$/.test(plain)) return line;
    converted.push(line.username);
    return entryLine(line.username, hashPassword(plain, type, iterations));
  });
  return { file: { ...file, lines }, converted };
}

/** A password file holding one user (`-c`). */
export function newPasswordFile(username: string, password: string, type?: HashType, iterations?: number): PasswordFile {
  return { lines: [entryLine(username, hashPassword(password, type, iterations))], finalNewline: true };
}
