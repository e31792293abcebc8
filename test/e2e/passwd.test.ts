// mqx passwd against Debian's mosquitto_passwd and mosquitto 2.0: same messages and exit
// statuses, files readable both ways, and nothing lost when a file has bad lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { havePeers, peerPath, startMosquitto } from '../helpers/peers.js';
import { mqxBin, run, runMqx } from '../helpers/process.js';
import type { RunResult } from '../helpers/process.js';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'mqx-passwd-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const mosquittoPasswd = (args: string[], cwd: string, input?: string): Promise<RunResult> =>
  run(peerPath('mosquitto_passwd')!, args, { cwd, input });

const SEED = 'u:$7$101$pKigwjtjgQ4aO0K7$9APsG8CoSZKswwzUzhhI9JJ7H6VY6+YTCkwfYEhvuX61Licq4MOU/lVbGbWClxS3x5JC+ms4tTa/rjeYUh3PXg==\n';

test('errors, warnings and exit statuses match mosquitto_passwd', async (t) => {
  if (!havePeers(t, 'mosquitto_passwd')) return;
  const cases: { args: string[]; input?: string; compareStdout?: boolean }[] = [
    { args: ['-c', '-D', 'pw', 'u'] },
    { args: ['-c', '-U', 'pw'] },
    { args: ['-D', '-U', 'pw'] },
    { args: ['-b', '-D', 'pw', 'u'] },
    { args: ['-H', 'md5', 'pw', 'u'] },
    { args: ['-I', '0', 'pw', 'u'] },
    { args: ['-c', 'pw'] },
    { args: ['-c', '-b', 'pw', 'u'] },
    { args: ['-D', 'pw'] },
    { args: ['-U'] },
    { args: ['-U', 'pw', 'extra'] },
    { args: ['-D', 'pw', 'nobody'] },
    { args: ['-b', 'pw', 'a:b', 'x'] },
    { args: ['-b', 'missing', 'u', 'p'] },
    { args: ['pw'] },
    { args: [] },
    { args: ['pw', 'u'], input: 'one\ntwo\n', compareStdout: true },
    { args: ['pw', 'u'], input: '', compareStdout: true },
    { args: ['-c', 'pw', 'u'], input: '\n', compareStdout: true },
  ];
  // Independent cases, each in its own pair of directories: run a few at a time.
  let next = 0;
  await Promise.all(Array.from({ length: 4 }, async () => { while (next < cases.length) {
    const { args, input, compareStdout } = cases[next++];
    const theirs = tempDir(t);
    const ours = tempDir(t);
    writeFileSync(join(theirs, 'pw'), SEED);
    writeFileSync(join(ours, 'pw'), SEED);
    const expected = await mosquittoPasswd(args, theirs, input);
    const actual = await runMqx(['passwd', ...args], { cwd: ours, input });
    const label = `mqx passwd ${args.join(' ')}`;
    assert.equal(actual.code, expected.code, `${label}: exit status`);
    assert.equal(actual.stderr, expected.stderr, `${label}: stderr`);
    if (compareStdout) assert.equal(actual.stdout.toString(), expected.stdout.toString(), `${label}: stdout`);
    else if (expected.stdout.length > 0) assert.match(actual.stdout.toString(), /Usage: mqx passwd/, `${label}: usage`);
    assert.equal(readFileSync(join(ours, 'pw'), 'utf8'), readFileSync(join(theirs, 'pw'), 'utf8'), `${label}: file unchanged`);
  } }));
});

test('files written by mosquitto_passwd ($6$, $7$, -I, -D, -U) verify in mqx', async (t) => {
  if (!havePeers(t, 'mosquitto_passwd')) return;
  const dir = tempDir(t);
  const file = join(dir, 'pw');
  const steps = [
    ['-c', '-b', '-H', 'sha512', file, 'alice', 'pw-alice'],
    ['-b', file, 'bob', 'pw-bob'],
    ['-b', '-I', '7', file, 'carol', 'pw-carol'],
    ['-b', file, 'dave', 'pw-dave'],
    ['-D', file, 'dave'],
  ];
  for (const args of steps) assert.equal((await mosquittoPasswd(args, dir)).code, 0, args.join(' '));
  const plain = join(dir, 'plain');
  writeFileSync(plain, 'erin:pw-erin\n');
  assert.equal((await mosquittoPasswd(['-U', plain], dir)).code, 0);
  appendFileSync(file, readFileSync(plain, 'utf8'));
  const text = readFileSync(file, 'utf8');
  assert.match(text, /^alice:\$6\$/m);
  assert.match(text, /^carol:\$7\$7\$/m);

  for (const user of ['alice', 'bob', 'carol', 'erin']) {
    const right = await runMqx(['passwd', 'verify', user, `pw-${user}`, '--file', file]);
    assert.equal(right.code, 0, `${user}: ${right.stderr}`);
    assert.match(right.stdout.toString(), /matches/);
    const wrong = await runMqx(['passwd', 'verify', user, 'nope', '--file', file]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /mismatch/);
  }
  const deleted = await runMqx(['passwd', 'verify', 'dave', 'pw-dave'], { env: { MQX_PASSWORD_FILE: file } });
  assert.equal(deleted.code, 1);
  assert.match(deleted.stderr, /unknown user/);
  const listed = await runMqx(['passwd', 'list', '--file', file]);
  assert.equal(listed.stdout.toString(), 'alice\nbob\ncarol\nerin\n');
});

test('files written by mqx passwd are accepted by mosquitto 2.0 and by mosquitto_passwd', async (t) => {
  if (!havePeers(t, 'mosquitto', 'mosquitto_pub', 'mosquitto_passwd')) return;
  const dir = tempDir(t);
  const file = join(dir, 'pw');
  const steps: { args: string[]; input?: string }[] = [
    { args: ['passwd', '-c', '-b', file, 'alice', 'pw-alice'] },
    { args: ['passwd', '-H', 'sha512', '-b', file, 'bob', 'pw-bob'] },
    { args: ['passwd', 'add', 'carol', '--file', file], input: 'pw-carol\n' },
    { args: ['passwd', '-I', '7', file, 'dave'], input: 'pw-dave\npw-dave\n' },
  ];
  for (const { args, input } of steps) {
    const result = await runMqx(args, { input });
    assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
  }
  appendFileSync(file, 'erin:pw-erin\n');
  assert.equal((await runMqx(['passwd', '-U', file])).code, 0);
  assert.match(readFileSync(file, 'utf8'), /^bob:\$6\$/m);
  assert.match(readFileSync(file, 'utf8'), /^dave:\$7\$7\$/m);

  const broker = await startMosquitto(`password_file ${file}\n`, { anonymous: false });
  t.after(() => broker.stop());
  const pub = (user: string, password: string) =>
    run(peerPath('mosquitto_pub')!, ['-p', String(broker.port), '-u', user, '-P', password, '-t', 't', '-m', 'x'], { timeoutMs: 10000 });
  for (const user of ['alice', 'bob', 'carol', 'dave', 'erin']) {
    const good = await pub(user, `pw-${user}`);
    assert.equal(good.code, 0, `${user} with the right password: ${good.stderr}`);
    const bad = await pub(user, 'wrong');
    assert.notEqual(bad.code, 0, `${user} with a wrong password was accepted`);
    assert.match(bad.stderr, /not authori[sz]ed/i);
  }
  assert.doesNotMatch(broker.log(), /removing entry|Invalid password/);
  // mosquitto_passwd edits an mqx file without complaint.
  const removed = await mosquittoPasswd(['-D', file, 'bob'], dir);
  assert.equal(removed.code, 0, removed.stderr);
});

test('a malformed line is reported with its number and kept; the mode survives; no temp file is left', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'pw');
  writeFileSync(file, '# staff\njunk line\nold:plaintext\n');
  chmodSync(file, 0o640);
  const result = await runMqx(['passwd', '-b', file, 'new', 'pw-new']);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /pw:2: no ':'/);
  assert.match(result.stderr, /pw:3: Invalid password hash type for user old/);
  assert.ok(readFileSync(file, 'utf8').startsWith('# staff\njunk line\nold:plaintext\nnew:$7$101$'));
  assert.equal(statSync(file).mode & 0o777, 0o640);
  assert.deepEqual(readdirSync(dir), ['pw']);
  const verify = await runMqx(['passwd', 'verify', 'new', 'pw-new', '--file', file]);
  assert.equal(verify.code, 0);
});

test('a new password file is private, and add/delete/list report what they did', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'pw');
  const added = await runMqx(['passwd', 'add', 'zoe', 'pw-zoe', '--file', file]);
  assert.equal(added.code, 0, added.stderr);
  assert.match(added.stdout.toString(), /Added user zoe to /);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const updated = await runMqx(['passwd', 'add', 'zoe', 'pw-2', '--file', file]);
  assert.match(updated.stdout.toString(), /Updated the password of user zoe/);
  const json = JSON.parse((await runMqx(['passwd', 'list', '--json', '--file', file])).stdout.toString()) as { users: { user: string; hash: string }[] };
  assert.deepEqual(json.users.map((u) => [u.user, u.hash]), [['zoe', 'sha512-pbkdf2']]);
  const deleted = await runMqx(['passwd', 'delete', 'zoe', '--file', file]);
  assert.equal(deleted.code, 0);
  const again = await runMqx(['passwd', 'delete', 'zoe', '--file', file]);
  assert.equal(again.code, 1);
  assert.equal(again.stderr, 'Warning: User zoe not found in password file.\n');
  const empty = await runMqx(['passwd', 'add', 'x', '--file', file], { input: '\n' });
  assert.equal(empty.code, 1);
  assert.match(empty.stderr, /Error: Empty password\./);
});

// Drives mqx passwd through a pseudo-terminal (Python's pty), typing each password only once
// its prompt has appeared: what a person at a terminal does.
const PTY_DRIVER = `
import os, pty, sys, time, select
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
out = b''
def pump(until, count=1, timeout=10):
    global out
    end = time.time() + timeout
    while (until is None or out.count(until) < count) and time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                chunk = os.read(fd, 1024)
            except OSError:
                return
            if not chunk:
                return
            out += chunk
        elif until is None:
            return
for index, answer in enumerate(os.environ['ANSWERS'].split(',')):
    pump(b'assword: ', index + 1)
    os.write(fd, answer.encode() + b'\\r')
    out += b'|'
_, status = os.waitpid(pid, 0)
pump(None, 0, 1)
sys.stdout.write(out.decode())
sys.exit(os.waitstatus_to_exitcode(status))
`;

test('on a terminal the password is prompted twice and never echoed', async (t) => {
  if (!existsSync('/usr/bin/python3')) { t.skip('python3 is needed to drive a pseudo-terminal'); return; }
  const dir = tempDir(t);
  const file = join(dir, 'pw');
  const typed = await run('/usr/bin/python3', ['-c', PTY_DRIVER, process.execPath, mqxBin, 'passwd', '-c', file, 'alice'], { env: { ANSWERS: 'hunter2,hunter2' } });
  assert.equal(typed.code, 0, typed.stdout.toString());
  const screen = typed.stdout.toString();
  assert.match(screen, /Password: \|.*Reenter password: \|/s);
  assert.doesNotMatch(screen, /hunter2/);
  assert.equal((await runMqx(['passwd', 'verify', 'alice', 'hunter2', '--file', file])).code, 0);
  const mismatch = await run('/usr/bin/python3', ['-c', PTY_DRIVER, process.execPath, mqxBin, 'passwd', file, 'alice'], { env: { ANSWERS: 'one,two' } });
  assert.equal(mismatch.code, 2);
  assert.match(mismatch.stdout.toString(), /Error: Passwords do not match\./);
});
