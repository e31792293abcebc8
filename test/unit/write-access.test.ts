// Mosquitto's fixed rule for client writes to `$` topics (security.c acl__check_dollar), as
// observed on mosquitto 2.0.11, and the ACL hook after it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dollarWriteRefused, mayWrite } from '../../src/broker/write-access.js';
import type { ClientInfo } from '../../src/broker/hooks.js';
import { checkAccess, loadAcl } from '../../src/auth/index.js';

const REFUSED = ['$SYS', '$SYS/x', '$SYSTEM/a', '$SYSx', '$SYS/broker/connection/b/other', '$SYS/broker/connection/b/state/x', '$share/g/t', '$sharedx/a', '$share'];
const LEFT_TO_THE_ACL = ['$SYS/broker/connection/b/state', '$SYS/broker/connection//state', '$other/x', '$', 'a/$SYS/x', 'tenant/$SYS/x', 'SYS', 'x'];

test('$SYS and $share prefixes are refused for writing; other topics are left to the ACL', () => {
  for (const topic of REFUSED) assert.equal(dollarWriteRefused(topic), true, topic);
  for (const topic of LEFT_TO_THE_ACL) assert.equal(dollarWriteRefused(topic), false, topic);
});

test('the broker applies the same built-in rule as the ACL evaluator behind `mqx acl check` (src/auth)', () => {
  // The broker may not import src/auth (DESIGN.md), so the rule lives in both: they must agree.
  const { acl } = loadAcl('topic write #\n');
  for (const topic of [...REFUSED, ...LEFT_TO_THE_ACL]) {
    const decision = checkAccess(acl, { username: null, clientId: 'c' }, 'write', topic);
    assert.equal(decision.rule === null && decision.reason.includes('built-in rule'), dollarWriteRefused(topic), topic);
  }
});

test('mayWrite: the $ rule first, then the hook; no hook allows the rest', () => {
  const client: ClientInfo = { clientId: 'c', username: 'u', protocolVersion: 4 };
  const asked: string[] = [];
  const hook = (who: ClientInfo, access: string, topic: string) => { asked.push(`${who.username} ${access} ${topic}`); return topic !== 'no'; };
  assert.equal(mayWrite(undefined, client, 'a/b'), true);
  assert.equal(mayWrite(undefined, client, '$SYS/x'), false);
  assert.equal(mayWrite(hook, client, 'yes'), true);
  assert.equal(mayWrite(hook, client, 'no'), false);
  assert.equal(mayWrite(hook, client, '$share/g/t'), false);
  assert.equal(mayWrite(hook, client, '$SYS/broker/connection/b/state'), true);
  assert.deepEqual(asked, ['u write yes', 'u write no', 'u write $SYS/broker/connection/b/state']);
});
