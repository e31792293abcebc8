// mqx acl as a user runs it: edits that mosquitto loads, list, lint, check output and errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { havePeers, startMosquitto } from '../helpers/peers.js';
import { runMqx } from '../helpers/process.js';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'mqx-acl-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('acl add builds a file section by section that mosquitto loads; remove and list follow it', async (t) => {
  const dir = tempDir(t);
  const env = { MQX_ACL_FILE: join(dir, 'acl') };
  const adds = [
    ['--user', 'bob', 'write', 'sensors/bob/#'],
    ['--anonymous', 'read', 'public/#'],
    ['--pattern', 'readwrite', 'clients/%c/#'],
    ['--user', 'bob', 'deny', 'sensors/bob/secret'],
    ['--user', 'alice', 'readwrite', '#'],
  ];
  for (const args of adds) {
    const result = await runMqx(['acl', 'add', ...args], { env });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout.toString(), /^Added .*acl:\d+: /);
  }
  assert.equal(readFileSync(env.MQX_ACL_FILE, 'utf8'), [
    'topic read public/#', '', 'user bob', 'topic write sensors/bob/#', 'topic deny sensors/bob/secret',
    'pattern readwrite clients/%c/#', '', 'user alice', 'topic readwrite #', '',
  ].join('\n'));
  const again = await runMqx(['acl', 'add', '--user', 'bob', 'write', 'sensors/bob/#'], { env });
  assert.match(again.stdout.toString(), /^Already there: .*acl:4: topic write sensors\/bob\/#/);

  const listed = (await runMqx(['acl', 'list'], { env })).stdout.toString();
  assert.match(listed, /5 rules \(anonymous 1, 2 users, patterns 1\)/);
  assert.match(listed, /user bob\n +4 +write +sensors\/bob\/#\n +5 +deny +sensors\/bob\/secret\n/);

  if (havePeers(t, 'mosquitto')) {
    const broker = await startMosquitto(`acl_file ${env.MQX_ACL_FILE}\n`);
    await broker.stop();
  }

  const removed = await runMqx(['acl', 'remove', '--user', 'bob', 'deny', 'sensors/bob/secret'], { env });
  assert.equal(removed.code, 0, removed.stderr);
  assert.match(removed.stdout.toString(), /Removed .*acl:5: topic deny sensors\/bob\/secret/);
  const missing = await runMqx(['acl', 'remove', '--user', 'bob', 'nothing/here'], { env });
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr, "Error: no rule for 'nothing/here' in the user bob section.\n");
});

test('acl lint reports errors and warnings with line numbers; exit 1 only with errors', async (t) => {
  const dir = tempDir(t);
  const bad = join(dir, 'bad');
  writeFileSync(bad, 'topic read public/#\n  # indented comment\nuser bob\ntopic read a/#/b\ntopic read x\ntopic deny #\n');
  const linted = await runMqx(['acl', 'lint', '--file', bad]);
  assert.equal(linted.code, 1, linted.stderr);
  const text = linted.stdout.toString();
  assert.match(text, /bad:2: error: unknown keyword '#'/);
  assert.match(text, /bad:4: error: invalid topic filter 'a\/#\/b'/);
  assert.match(text, /bad:5: warning: unreachable \(user bob\): every topic it matches is decided first by line 6/);
  assert.match(text, /bad: 2 errors, 1 warning \(Mosquitto refuses to start with this file\)\n$/);
  const json = JSON.parse((await runMqx(['acl', 'lint', '--json', '--file', bad])).stdout.toString()) as { errors: number; problems: { line: number }[] };
  assert.equal(json.errors, 2);
  assert.deepEqual(json.problems.map((p) => p.line), [2, 4, 5]);
  const example = '/usr/share/doc/mosquitto/examples/aclfile.example';
  if (existsSync(example)) {
    const clean = await runMqx(['acl', 'lint', '--file', example]);
    assert.equal(clean.code, 0, `${clean.stdout.toString()}${clean.stderr}`);
    assert.match(clean.stdout.toString(), /no problems found/);
  }
});

test('acl check prints the deciding line, explains, answers subscribe both ways, and fails clearly', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'acl');
  writeFileSync(file, 'user bob\ntopic readwrite bob/#\ntopic deny bob/secret\n\npattern read users/%u/#\n');
  const [allowed, denied, explained, sub, strictSub, json, noFile, usage] = await Promise.all([
    runMqx(['acl', 'check', 'bob', 'write', 'bob/x', '--file', file]),
    runMqx(['acl', 'check', 'bob', 'read', 'bob/secret', '--file', file]),
    runMqx(['acl', 'check', 'bob', 'read', 'users/bob/inbox', '-i', 'c1', '--explain', '--file', file]),
    runMqx(['acl', 'check', 'bob', 'subscribe', 'other/#', '--file', file]),
    runMqx(['acl', 'check', 'bob', 'subscribe', 'other/#', '--acl-check-subscribe', '--file', file]),
    runMqx(['acl', 'check', '--anonymous', 'write', 'bob/x', '--json', '--file', file]),
    runMqx(['acl', 'check', 'bob', 'read', 'x', '--file', join(dir, 'none')]),
    runMqx(['acl', 'add', 'read', 'x', '--file', file]),
  ]);
  assert.equal(allowed.code, 0, allowed.stderr);
  assert.equal(allowed.stdout.toString(), `allow: user 'bob' (client id 'bob' by default; --client-id to change) may write 'bob/x'\n  ${file}:2: topic readwrite bob/#\n  write granted to user 'bob'\n`);
  assert.equal(denied.code, 1);
  assert.match(denied.stdout.toString(), /^deny: .* may not read 'bob\/secret'\n  .*acl:3: topic deny bob\/secret\n  denied by a deny line/);
  assert.equal(explained.code, 0);
  assert.match(explained.stdout.toString(), /\n +3 +topic +deny +bob\/secret\n +2 +topic +readwrite +bob\/#\n +=> +5 +pattern +read +users\/%u\/# +\(as users\/bob\/#\)\n/);
  assert.equal(sub.code, 0);
  assert.match(sub.stdout.toString(), /Mosquitto accepts every SUBSCRIBE/);
  assert.match(sub.stdout.toString(), /with acl_check_subscribe true \(mqx\), the SUBSCRIBE would be refused: user 'bob' can read no topic matching 'other\/#'/);
  assert.equal(strictSub.code, 1);
  assert.match(strictSub.stdout.toString(), /^deny: .* may not subscribe 'other\/#'/);
  const decision = JSON.parse(json.stdout.toString()) as { allowed: boolean; rule: unknown; reason: string };
  assert.equal(json.code, 1);
  assert.deepEqual([decision.allowed, decision.rule], [false, null]);
  assert.match(decision.reason, /no line grants write on this topic to anonymous clients/);
  assert.equal(noFile.code, 1);
  assert.equal(noFile.stderr, `Error: cannot read ACL file ${join(dir, 'none')}: no such file.\n`);
  assert.equal(usage.code, 1);
  assert.match(usage.stderr, /^Error: say whose rule it is with exactly one of --user NAME, --anonymous or --pattern\.\nRun 'mqx acl --help' for usage\.\n$/);
});
