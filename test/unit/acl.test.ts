// ACL parsing and evaluation with mosquitto 2.0's rules, acl_check_subscribe, lint and edits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadAcl, parseAclFile } from '../../src/auth/acl-file.js';
import { checkAccess, checkSubscribe } from '../../src/auth/acl.js';
import { lintAcl } from '../../src/auth/acl-lint.js';
import { addAclRule, removeAclRule } from '../../src/auth/acl-edit.js';
import { filterCovered, intersectFilters, topicMatches } from '../../src/auth/topic-filter.js';

const ACL = [
  '# anonymous section',
  'topic read public/#',
  'topic deny public/secret',
  '',
  'user admin',
  'topic readwrite #',
  'topic deny secret/#',
  'topic read $SYS/#',
  '',
  'user bob',
  'topic write bob/out',
  'topic read shared/+/status',
  '',
  'pattern readwrite clients/%c/#',
  'pattern read users/%u/#',
  'pattern deny clients/%c/locked',
].join('\n') + '\n';

const { acl, problems } = loadAcl(ACL, 'acl');
const anon = { clientId: 'anon1' };
const admin = { username: 'admin', clientId: 'a1' };
const bob = { username: 'bob', clientId: 'cid1' };

test('the file parses without problems', () => {
  assert.deepEqual(problems, []);
});

test('topic matching follows Mosquitto, including $ topics and # matching its parent', () => {
  assert.equal(topicMatches('a/#', 'a'), true);
  assert.equal(topicMatches('a/+', 'a/'), true);
  assert.equal(topicMatches('+/#', '$SYS/x'), false);
  assert.equal(topicMatches('#', '$SYS/x'), false);
  assert.equal(topicMatches('$SYS/#', '$SYS/x'), true);
  assert.equal(topicMatches('a/+/c', 'a/b/c/d'), false);
});

test('anonymous clients get only the lines before the first user line; deny goes first', () => {
  assert.equal(checkAccess(acl, anon, 'read', 'public/news').allowed, true);
  const denied = checkAccess(acl, anon, 'read', 'public/secret');
  assert.equal(denied.allowed, false);
  assert.equal(denied.rule?.line, 3);
  assert.equal(checkAccess(acl, anon, 'write', 'public/news').allowed, false);
});

test('a user gets its own block, never the anonymous one', () => {
  assert.equal(checkAccess(acl, bob, 'read', 'public/news').allowed, false);
  assert.equal(checkAccess(acl, bob, 'write', 'bob/out').allowed, true);
  const readOut = checkAccess(acl, bob, 'read', 'bob/out');
  assert.equal(readOut.allowed, false);
  assert.equal(readOut.rule?.line, 11);
});

test('deny lines are checked before the grants of their block, wherever written', () => {
  const decision = checkAccess(acl, admin, 'write', 'secret/x');
  assert.equal(decision.allowed, false);
  assert.equal(decision.rule?.line, 7);
  assert.equal(checkAccess(acl, admin, 'write', 'other').allowed, true);
});

test('# does not grant $SYS; writing $SYS and publishing to $share are refused by built-in rules', () => {
  assert.equal(checkAccess(acl, admin, 'read', '$SYS/broker/uptime').rule?.line, 8);
  assert.equal(checkAccess(acl, bob, 'read', '$SYS/broker/uptime').allowed, false);
  const sys = checkAccess(acl, admin, 'write', '$SYS/broker/x');
  assert.equal(sys.allowed, false);
  assert.equal(sys.rule, null);
  assert.equal(checkAccess(acl, admin, 'write', '$share/g/x').allowed, false);
});

test('patterns substitute %c and %u; %u patterns skip anonymous clients; pattern denies come first', () => {
  assert.equal(checkAccess(acl, bob, 'write', 'clients/cid1/t').allowed, true);
  assert.equal(checkAccess(acl, bob, 'write', 'clients/other/t').allowed, false);
  assert.equal(checkAccess(acl, bob, 'read', 'users/bob/inbox').allowed, true);
  assert.equal(checkAccess(acl, anon, 'read', 'users/anon1/x').allowed, false);
  assert.equal(checkAccess(acl, bob, 'write', 'clients/cid1/locked').rule?.line, 16);
  // A user's own grant wins over a pattern deny: the user block is checked first.
  assert.equal(checkAccess(acl, admin, 'write', 'clients/a1/locked').allowed, true);
});

test('a + or # in the client id or username denies once patterns are reached', () => {
  const sneaky = { username: 'bob', clientId: '#' };
  assert.equal(checkAccess(acl, sneaky, 'write', 'bob/out').allowed, true);
  const decision = checkAccess(acl, sneaky, 'write', 'clients/x/t');
  assert.equal(decision.allowed, false);
  assert.match(decision.reason, /contains \+ or #/);
});

test('a user with no block and no patterns is denied everything; SUBSCRIBE is always allowed', () => {
  const { acl: plain } = loadAcl('user a\ntopic read x\n');
  assert.equal(checkAccess(plain, { username: 'b', clientId: 'c' }, 'read', 'x').allowed, false);
  assert.equal(checkAccess(plain, { username: 'b', clientId: 'c' }, 'subscribe', '#').allowed, true);
});

test('filter algebra: intersection and exact coverage by a union of filters', () => {
  assert.equal(intersectFilters('a/#', '+/b'), 'a/b');
  assert.equal(intersectFilters('#', '$SYS/#'), null);
  assert.equal(intersectFilters('a/#', 'a'), 'a');
  assert.equal(intersectFilters('a/b', 'a/c'), null);
  assert.equal(filterCovered('a/+', ['a/#']), true);
  assert.equal(filterCovered('a/#', ['a/+']), false);
  assert.equal(filterCovered('a/#', ['a', 'a/+/#', 'a/+']), true);
  assert.equal(filterCovered('a/+', ['a/x', 'a/y']), false);
  assert.equal(filterCovered('#', ['+/#']), true);
});

test('acl_check_subscribe refuses a filter under which nothing can ever be read', () => {
  assert.equal(checkSubscribe(acl, bob, '#').allowed, true);
  assert.equal(checkSubscribe(acl, bob, 'bob/#').allowed, false);
  assert.equal(checkSubscribe(acl, bob, 'shared/x/status').allowed, true);
  assert.equal(checkSubscribe(acl, admin, 'secret/#').allowed, false);
  assert.equal(checkSubscribe(acl, admin, 'secret/#').rule?.line, 7);
  assert.equal(checkSubscribe(acl, admin, '$SYS/#').allowed, true);
  assert.equal(checkSubscribe(acl, anon, 'public/secret').allowed, false);
  assert.equal(checkSubscribe(acl, anon, 'public/+').allowed, true);
  assert.equal(checkSubscribe(acl, bob, '$share/g/users/bob/x').allowed, true);
  assert.equal(checkSubscribe(acl, bob, 'clients/cid1/locked').allowed, false);
});

test('parse errors are what Mosquitto refuses to start with, each with its line', () => {
  const parsed = parseAclFile('  # indented\ntopic\tread\tx\ntopic read a+\nuser\ntopic bogus x\ntopic ok\n', 'f');
  assert.deepEqual(parsed.problems.map((p) => [p.line, p.severity]), [[1, 'error'], [2, 'error'], [3, 'error'], [4, 'error'], [5, 'error']]);
  assert.deepEqual(parsed.rules.map((r) => [r.filter, r.access]), [['ok', 'readwrite']]);
});

test('lint finds unreachable and duplicate lines, missing filters and %c-less patterns', () => {
  const found = lintAcl([
    'topic read',
    'user u',
    'topic read a/b',
    'topic deny a/#',
    'topic write x',
    'topic write x',
    'pattern read p/q',
    'user empty',
  ].join('\n') + '\n');
  const byLine = new Map(found.map((p) => [p.line, p.message]));
  assert.match(byLine.get(1)!, /topic filter is missing/);
  assert.match(byLine.get(3)!, /unreachable.*line 4/);
  assert.match(byLine.get(6)!, /duplicate of line 5/);
  assert.match(byLine.get(7)!, /without %c or %u/);
  assert.match(byLine.get(8)!, /no topic lines/);
  assert.ok(found.every((p) => p.severity === 'warning'));
});

test('edits put rules where Mosquitto reads them and keep every other line', () => {
  const text = '# head\ntopic read a\n\nuser bob\n# bob stuff\ntopic read b\n\nuser carl\ntopic read c\n';
  const anonAdd = addAclRule(text, { kind: 'anonymous' }, 'write', 'a2');
  assert.equal(anonAdd.text, '# head\ntopic read a\ntopic write a2\n\nuser bob\n# bob stuff\ntopic read b\n\nuser carl\ntopic read c\n');
  const bobAdd = addAclRule(text, { kind: 'user', user: 'bob' }, 'deny', 'b/secret');
  assert.equal(bobAdd.line, 7);
  assert.match(bobAdd.text, /topic read b\ntopic deny b\/secret\n\nuser carl/);
  const newUser = addAclRule(text, { kind: 'user', user: 'dora' }, 'read', 'd/#');
  assert.ok(newUser.text.endsWith('topic read c\n\nuser dora\ntopic read d/#\n'));
  assert.equal(addAclRule(text, { kind: 'user', user: 'bob' }, 'read', 'b').existing?.line, 6);
  const removed = removeAclRule(text, { kind: 'user', user: 'carl' }, 'c');
  assert.equal(removed.text, '# head\ntopic read a\n\nuser bob\n# bob stuff\ntopic read b\n\nuser carl\n');
  assert.throws(() => removeAclRule(text, { kind: 'user', user: 'bob' }, 'zzz'), /no rule for 'zzz'/);
  assert.throws(() => addAclRule(text, { kind: 'pattern' }, 'read', 'a/#/b'), /invalid topic filter/);
});

test('lint with the password file warns about sections of users who can never connect', () => {
  const found = lintAcl('user ghost\ntopic read x\nuser real\ntopic read y\n', 'acl', { knownUsers: new Set(['real']) });
  assert.deepEqual(found.map((p) => [p.line, p.severity]), [[1, 'warning']]);
  assert.match(found[0].message, /user ghost has no valid entry in the password file/);
});

test('lint hints at comments that are not in the first column and capitalised keywords', () => {
  const found = lintAcl('user bob # the builder\ntopic read a/b # note\nTopic read x\n');
  const on = (line: number) => found.filter((p) => p.line === line).map((p) => p.message).join('\n');
  assert.match(on(1), /trailing comment becomes part of the name/);
  assert.match(on(2), /comment must start with '#' in the first column/);
  assert.match(on(3), /keywords are lower case/);
});
