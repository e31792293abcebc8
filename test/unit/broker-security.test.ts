// The broker's security hooks from password and ACL files: Mosquitto 2.0's CONNECT rules,
// per_listener_settings, acl_check_subscribe, and a bad reload keeping the old files.

import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeHash, hashPassword, loadAcl } from '../../src/auth/index.js';
import { parseConfigText, resolveConfig } from '../../src/config/index.js';
import type { BrokerConfig } from '../../src/config/index.js';
import { authenticateClient, authorizeClient, needsHooks } from '../../src/cli/broker-hooks.js';
import type { SecurityState } from '../../src/cli/broker-hooks.js';
import { listenerNames, loadSecurity, SecurityFiles } from '../../src/cli/broker-security.js';

const users = new Map([['alice', hashPassword('secret', 'sha512-pbkdf2', 2)]]);
const acl = loadAcl('topic read public/#\nuser alice\ntopic readwrite alice/#\ntopic deny alice/secret\npattern read clients/%c/#\n', 'acl').acl;

function state(overrides: Partial<SecurityState['global']> = {}, aclCheckSubscribe = false): SecurityState {
  return { perListener: false, global: { allowAnonymous: false, users, acl, ...overrides }, listeners: new Map(), aclCheckSubscribe };
}

const connect = (username?: string, password?: string, extra: Record<string, unknown> = {}) => ({
  clientId: 'c1', username, password: password === undefined ? undefined : Buffer.from(password), protocolVersion: 4 as const, remoteAddress: 'x', listener: '1883', ...extra,
});

test('authenticate: password checked, unknown users refused even with allow_anonymous, anonymous per allow_anonymous', () => {
  assert.equal(authenticateClient(state(), connect('alice', 'secret')), true);
  assert.equal(authenticateClient(state(), connect('alice', 'wrong')), false);
  assert.equal(authenticateClient(state(), connect('alice')), false);
  assert.equal(authenticateClient(state({ allowAnonymous: true }), connect('bob', 'x')), false);
  assert.equal(authenticateClient(state(), connect()), false);
  assert.equal(authenticateClient(state({ allowAnonymous: true }), connect()), true);
  // No password file: any username passes, as in Mosquitto.
  assert.equal(authenticateClient(state({ users: null }), connect('anyone', 'x')), true);
});

test('authenticate: a certificate identity skips the password file; no verified certificate is 0x86', () => {
  assert.equal(authenticateClient(state(), connect(undefined, undefined, { certificateUsername: 'carol' })), true);
  assert.equal(authenticateClient(state(), connect(undefined, undefined, { certificateUsername: null })), 0x86);
});

test('authorize: Mosquitto ACL semantics; SUBSCRIBE allowed unless acl_check_subscribe', () => {
  const alice = { clientId: 'c1', username: 'alice', protocolVersion: 4 as const };
  const anon = { clientId: 'c2', protocolVersion: 4 as const };
  assert.equal(authorizeClient(state(), alice, 'write', 'alice/x'), true);
  assert.equal(authorizeClient(state(), alice, 'read', 'alice/secret'), false);
  assert.equal(authorizeClient(state(), alice, 'read', 'public/x'), false, 'the anonymous block is not for users');
  assert.equal(authorizeClient(state(), anon, 'read', 'public/x'), true);
  assert.equal(authorizeClient(state(), anon, 'write', 'public/x'), false);
  assert.equal(authorizeClient(state(), anon, 'read', 'clients/c2/inbox'), true);
  assert.equal(authorizeClient(state(), alice, 'subscribe', '#'), true);
  assert.equal(authorizeClient(state({}, true), alice, 'subscribe', 'alice/secret'), false);
  assert.equal(authorizeClient(state({}, true), alice, 'subscribe', 'alice/#'), true);
  assert.equal(authorizeClient(state({ acl: null }), anon, 'write', 'anything'), true);
});

test('needsHooks: an open broker keeps the hook-free path', () => {
  assert.deepEqual(needsHooks(state({ allowAnonymous: true, users: null, acl: null })), { authenticate: false, authorize: false });
  assert.deepEqual(needsHooks(state()), { authenticate: true, authorize: true });
});

function configFrom(t: TestContext, text: string): { config: BrokerConfig; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'mqx-sec-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const body = text.replaceAll('DIR', dir);
  const result = resolveConfig(parseConfigText(body, join(dir, 'mosquitto.conf')));
  assert.deepEqual(result.errors, []);
  return { config: result.config, dir };
}

test('loadSecurity: errors name file:line; a bad reload keeps the old files', (t) => {
  const { config, dir } = configFrom(t, 'listener 1883\npassword_file DIR/passwd\nacl_file DIR/acl\n');
  writeFileSync(join(dir, 'passwd'), `alice:${encodeHash(hashPassword('secret', 'sha512-pbkdf2', 2))}\n`);
  writeFileSync(join(dir, 'acl'), 'user alice\ntopic alice/#\n');
  const first = loadSecurity(config);
  assert.deepEqual(first.errors, []);
  const files = new SecurityFiles(config, first.state!);
  writeFileSync(join(dir, 'acl'), 'user alice\ntopic alice/#\ntopic read bad/#/x\n');
  const bad = files.reload();
  assert.equal(bad.state, null);
  assert.match(bad.errors[0]!, new RegExp(`^${join(dir, 'acl')}:3: invalid topic filter`));
  const alice = { clientId: 'c', username: 'alice', protocolVersion: 4 as const };
  assert.equal(authorizeClient(files.current(), alice, 'write', 'alice/x'), true, 'old ACL still in force');
  writeFileSync(join(dir, 'acl'), 'user alice\ntopic read alice/#\n');
  assert.deepEqual(files.reload().errors, []);
  assert.equal(authorizeClient(files.current(), alice, 'write', 'alice/x'), false, 'new ACL in force');
  writeFileSync(join(dir, 'passwd'), 'alice:not-a-hash\n');
  assert.match(files.reload().errors[0]!, /passwd:1: Invalid password hash type for user alice/);
  rmSync(join(dir, 'passwd'));
  assert.match(files.reload().errors[0]!, /mosquitto\.conf:2: cannot read password file .*passwd: no such file/);
});

test('per_listener_settings: each listener has its own scope, found by listener name', (t) => {
  const { config } = configFrom(t, 'per_listener_settings true\nlistener 1883\nallow_anonymous true\nlistener 1884\nallow_anonymous false\nlistener 0 DIR/mqx.sock\nallow_anonymous true\n');
  const names = listenerNames(config.listeners);
  assert.equal(names[0], '1883');
  assert.equal(names[1], '1884');
  assert.match(names[2]!, /mqx\.sock$/);
  const loaded = loadSecurity(config);
  assert.equal(authenticateClient(loaded.state!, connect(undefined, undefined, { listener: '1883' })), true);
  assert.equal(authenticateClient(loaded.state!, connect(undefined, undefined, { listener: '1884' })), false);
});
