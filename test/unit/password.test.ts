// Password hashes and password files: Mosquitto's formats, parse rules, edits that keep lines.
import { test } from 'node:test';
import { chmodSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../../src/auth/file-io.js';
import assert from 'node:assert/strict';
import {
  authenticate, decodeHash, encodeHash, hashPassword, verifyPassword,
} from '../../src/auth/passwords.js';
import {
  deleteUser, hashPlainPasswords, listUsers, parsePasswordFile, serialisePasswordFile, setPassword, usernameProblem,
} from '../../src/auth/password-file.js';

// From Mosquitto's own examples/pwfile.example (password for roger is "password").
const EXAMPLE = 'roger:$6$clQ4Ocu312S0qWgl$Cv2wUxgEN73c6C6jlBkswqR4AkHsvDLWvtEXZZ8NpsBLgP1WAo/qA+WXcmEN/mjDNgdUwcxRAveqNMs2xUVQYA==';

test('a $6$ line from mosquitto_passwd verifies, and a wrong password does not', () => {
  const { users, problems } = parsePasswordFile(`${EXAMPLE}\n`);
  assert.deepEqual(problems, []);
  const roger = users.get('roger');
  assert.ok(roger);
  assert.equal(roger.type, 'sha512');
  assert.equal(verifyPassword(roger, 'password'), true);
  assert.equal(verifyPassword(roger, 'Password'), false);
});

test('$7$ hashes round-trip with the salt and iteration count they were made with', () => {
  const made = hashPassword('s3cret', 'sha512-pbkdf2', 5);
  const encoded = encodeHash(made);
  assert.match(encoded, /^\$7\$5\$[A-Za-z0-9+/]{16}\$[A-Za-z0-9+/]{86}==$/);
  const decoded = decodeHash(encoded);
  assert.ok(decoded.ok);
  assert.equal(decoded.hash.iterations, 5);
  assert.equal(verifyPassword(decoded.hash, 's3cret'), true);
  assert.equal(verifyPassword(decoded.hash, 's3cret '), false);
});

test('decodeHash rejects what unpwd__decode_passwords removes', () => {
  assert.deepEqual(decodeHash('plaintext'), { ok: false, reason: 'Invalid password hash type' });
  assert.deepEqual(decodeHash('$7$0$AAAAAAAAAAAAAAAA$x'), { ok: false, reason: 'Invalid hash iterations' });
  assert.deepEqual(decodeHash('$6$AAAA$x'), { ok: false, reason: 'Unable to decode password salt' });
  assert.deepEqual(decodeHash('$6$AAAAAAAAAAAAAAAA$AAAA'), { ok: false, reason: 'Unable to decode password' });
  assert.deepEqual(decodeHash('$6$AAAAAAAAAAAAAAAA'), { ok: false, reason: 'Invalid password hash' });
});

test('the auth decision: no username defers, unknown user refused, hash must match', () => {
  const { users } = parsePasswordFile(`${EXAMPLE}\n`);
  assert.equal(authenticate(users, undefined, undefined).result, 'anonymous');
  assert.equal(authenticate(users, 'nobody', 'password').result, 'refused');
  assert.equal(authenticate(users, 'roger', undefined).result, 'refused');
  assert.equal(authenticate(users, 'roger', 'nope').result, 'refused');
  assert.equal(authenticate(users, 'roger', Buffer.from('password')).result, 'accepted');
});

test('malformed lines are reported with their line numbers and kept when rewriting', () => {
  const text = `# users\n${EXAMPLE}\njunk without colon\nalice:plain\nbob:\n\n`;
  const parsed = parsePasswordFile(text);
  assert.deepEqual(parsed.problems.map((p) => p.line), [3, 4, 5]);
  assert.match(parsed.problems[1].message, /Invalid password hash type for user alice/);
  assert.deepEqual([...parsed.users.keys()], ['roger']);
  const { file, existed } = setPassword(parsed.file, 'carol', 'pw', 'sha512-pbkdf2', 2);
  assert.equal(existed, false);
  const out = serialisePasswordFile(file);
  assert.ok(out.startsWith(`# users\n${EXAMPLE}\njunk without colon\nalice:plain\nbob:\n\n`));
  assert.match(out, /\ncarol:\$7\$2\$/);
});

test('a repeated user: the later valid line is the one used, and it is reported', () => {
  const a = `u:${encodeHash(hashPassword('first', 'sha512'))}`;
  const b = `u:${encodeHash(hashPassword('second', 'sha512'))}`;
  const parsed = parsePasswordFile(`${a}\n${b}\n`);
  assert.equal(verifyPassword(parsed.users.get('u')!, 'second'), true);
  assert.match(parsed.problems[0].message, /also on line 1/);
});

test('setPassword replaces every line of the user; deleteUser removes them', () => {
  const parsed = parsePasswordFile(`${EXAMPLE}\nx:y\n${EXAMPLE}\n`);
  const updated = setPassword(parsed.file, 'roger', 'new', 'sha512');
  assert.equal(updated.existed, true);
  const again = parsePasswordFile(serialisePasswordFile(updated.file));
  assert.equal(verifyPassword(again.users.get('roger')!, 'new'), true);
  assert.deepEqual(listUsers(again.file), ['roger']);
  const deleted = deleteUser(again.file, 'roger');
  assert.equal(deleted.removed, true);
  assert.equal(serialisePasswordFile(deleted.file), 'x:y\n');
  assert.equal(deleteUser(deleted.file, 'roger').removed, false);
});

test('-U hashes plain-text lines and leaves valid hashes alone', () => {
  const parsed = parsePasswordFile(`${EXAMPLE}\nalice: plain pw \nbroken:$7$0$AAAAAAAAAAAAAAAA$x\n`);
  const { file, converted } = hashPlainPasswords(parsed.file, 'sha512-pbkdf2', 3);
  assert.deepEqual(converted, ['alice']);
  const again = parsePasswordFile(serialisePasswordFile(file));
  assert.equal(verifyPassword(again.users.get('alice')!, 'plain pw'), true);
  assert.equal(verifyPassword(again.users.get('roger')!, 'password'), true);
  assert.ok(serialisePasswordFile(file).endsWith('broken:$7$0$AAAAAAAAAAAAAAAA$x\n'));
});

test('user names follow mosquitto_passwd rules', () => {
  assert.equal(usernameProblem('ok user'), null);
  assert.match(usernameProblem('a:b')!, /':' character/);
  assert.match(usernameProblem('a\tb')!, /control characters/);
});

test('writes go through a symlink and keep the target file mode', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mqx-pw-unit-'));
  try {
    const target = join(dir, 'real');
    writeFileSync(target, 'a:b\n');
    chmodSync(target, 0o640);
    symlinkSync(target, join(dir, 'link'));
    writeFileAtomic(join(dir, 'link'), 'c:d\n', 'password file');
    assert.equal(lstatSync(join(dir, 'link')).isSymbolicLink(), true);
    assert.equal(readFileSync(target, 'utf8'), 'c:d\n');
    assert.equal(statSync(target).mode & 0o777, 0o640);
    assert.deepEqual(readdirSync(dir).sort(), ['link', 'real']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
