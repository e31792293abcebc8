// The auth_fail_limit policy with an injected clock: sliding window, ban, doubling back-off,
// forgetting, bounded memory, and which part of a remote address failures count against.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AuthThrottle, MAX_BACKOFF_FACTOR, sourceKey } from '../../src/broker/auth-throttle.js';
import { guardAuthenticate } from '../../src/broker/auth-guard.js';
import { resolveOptions } from '../../src/broker/options.js';
import type { ConnectInfo } from '../../src/broker/hooks.js';

function clocked(settings: { limit: number; windowMs: number; banMs: number; maxEntries?: number }) {
  const clock = { now: 1_000_000 };
  const throttle = new AuthThrottle(settings, () => clock.now);
  return { clock, throttle };
}

test('the limit-th failure within the window bans the address; earlier ones do not', () => {
  const { throttle } = clocked({ limit: 3, windowMs: 60_000, banMs: 10_000 });
  assert.equal(throttle.failed('10.0.0.1'), null);
  assert.equal(throttle.failed('10.0.0.1'), null);
  assert.equal(throttle.banned('10.0.0.1'), false, 'below the limit the address still gets in');
  assert.deepEqual(throttle.failed('10.0.0.1'), { key: '10.0.0.1', failures: 3, ms: 10_000, strike: 1 });
  assert.equal(throttle.banned('10.0.0.1'), true);
  assert.equal(throttle.banned('10.0.0.2'), false, 'other addresses are not affected');
});

test('the window slides: failures spread wider than it never ban', () => {
  const { clock, throttle } = clocked({ limit: 3, windowMs: 10_000, banMs: 5_000 });
  for (let i = 0; i < 20; i++) {
    assert.equal(throttle.failed('10.0.0.1'), null, `failure ${i}`);
    clock.now += 5_001; // three failures always span more than 10 s
  }
  assert.equal(throttle.banned('10.0.0.1'), false);
  throttle.failed('10.0.0.1');
  clock.now += 4_000;
  assert.notEqual(throttle.failed('10.0.0.1'), null, 'the last three within 10 s');
});

test('a ban ends after its length; one ban is reported once, however many attempts follow', () => {
  const { clock, throttle } = clocked({ limit: 2, windowMs: 60_000, banMs: 10_000 });
  throttle.failed('a');
  assert.ok(throttle.failed('a'));
  for (let i = 0; i < 100; i++) assert.equal(throttle.failed('a'), null, 'failures during a ban start nothing');
  clock.now += 9_999;
  assert.equal(throttle.banned('a'), true);
  clock.now += 1;
  assert.equal(throttle.banned('a'), false);
  assert.equal(throttle.failed('a'), null, 'counting starts afresh after a ban');
});

test('a repeat offender gets doubled bans up to the cap; a quiet one is forgotten', () => {
  const { clock, throttle } = clocked({ limit: 1, windowMs: 1_000, banMs: 1_000 });
  const lengths: number[] = [];
  for (let i = 0; i < 9; i++) {
    const ban = throttle.failed('a')!;
    lengths.push(ban.ms);
    clock.now += ban.ms; // fails again as soon as the ban ends
  }
  assert.deepEqual(lengths, [1, 2, 4, 8, 16, 32, 64, 64, 64].map((factor) => factor * 1_000));
  assert.equal(MAX_BACKOFF_FACTOR, 64);
  // Quiet for a full ban length after the last ban ended: a clean slate.
  clock.now += 64_000;
  assert.equal(throttle.failed('a')!.ms, 1_000);
});

test('a flood of distinct addresses keeps at most maxEntries, forgetting the least recent first', () => {
  const { clock, throttle } = clocked({ limit: 3, windowMs: 60_000, banMs: 60_000, maxEntries: 100 });
  throttle.failed('keep');
  throttle.failed('keep');
  for (let i = 0; i < 10_000; i++) {
    throttle.failed(`10.1.${i >> 8}.${i & 0xff}`);
    if (i % 50 === 0) throttle.failed('keep'); // recently failing: stays remembered
    assert.ok(throttle.size <= 100);
  }
  assert.equal(throttle.banned('keep'), true);
  assert.equal(throttle.banned('10.1.0.0'), false, 'the oldest were forgotten');
  // Once their window has passed, entries drain as new failures come in.
  clock.now += 180_000;
  for (let i = 0; i < 60; i++) throttle.failed('late');
  assert.ok(throttle.size < 100, `expired entries are pruned (${throttle.size})`);
});

test('limit 0 never bans', () => {
  const { throttle } = clocked({ limit: 0, windowMs: 1_000, banMs: 1_000 });
  for (let i = 0; i < 1000; i++) assert.equal(throttle.failed('a'), null);
  assert.equal(throttle.size, 0);
});

test('sourceKey: the IP without the port, mapped IPv4 as IPv4, IPv6 by /64, no key without an IP', () => {
  assert.equal(sourceKey('127.0.0.1:51234'), '127.0.0.1');
  assert.equal(sourceKey('192.0.2.7'), '192.0.2.7');
  assert.equal(sourceKey('::ffff:192.0.2.7:1883'), '192.0.2.7');
  assert.equal(sourceKey('::1:40000'), '0:0:0:0::/64');
  assert.equal(sourceKey('::1'), '0:0:0:0::/64');
  assert.equal(sourceKey('2001:db8:1:2:aaaa::1:443'), '2001:db8:1:2::/64');
  assert.equal(sourceKey('2001:db8:1:2:bbbb:cccc:dddd:eeee:443'), '2001:db8:1:2::/64');
  assert.equal(sourceKey('[2001:db8::5]:1883'), '2001:db8:0:0::/64');
  assert.equal(sourceKey('fe80::1%eth0:1883'), 'fe80:0:0:0::/64');
  assert.equal(sourceKey('64:ff9b::192.0.2.1:80'), '64:ff9b:0:0::/64');
  assert.equal(sourceKey('/run/mqx.sock'), null);
  assert.equal(sourceKey('stream'), null);
  assert.equal(sourceKey('unknown:0'), null);
});

test('guardAuthenticate: refused verdicts count, a banned address skips the hook, off at limit 0, hook read at each call', async () => {
  let calls = 0;
  const lines: string[] = [];
  const logger = { log: (_type: string, line: string) => { lines.push(line); } };
  const clock = { now: 0 };
  const options = resolveOptions({
    auth_fail_limit: 2, auth_fail_window: 60, auth_fail_ban: 5,
    authenticate: (info) => { calls++; return info.password?.toString() === 'right'; },
  });
  const authenticate = guardAuthenticate(options, logger, () => clock.now)!;
  const info = (password: string, protocolVersion: 4 | 5 = 4, remoteAddress = '10.0.0.1:5000'): ConnectInfo => ({
    clientId: 'c', username: 'u', password: Buffer.from(password), protocolVersion, remoteAddress, listener: '1883',
  });
  assert.equal(authenticate(info('wrong')), false);
  assert.equal(authenticate(info('right')), true, 'a good login before the limit is accepted');
  assert.equal(authenticate(info('wrong', 4, '10.0.0.1:5001')), false);
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /^Address 10\.0\.0\.1 had 2 authentication failures within 60 s: refusing its connections for 5 s\.$/);
  const before = calls;
  assert.equal(authenticate(info('right')), 0x87, '3.1.1: not authorised');
  assert.equal(authenticate(info('right', 5)), 0x9f, '5.0: connection rate exceeded');
  assert.equal(calls, before, 'the hook (the password hash) is not run during a ban');
  assert.equal(authenticate(info('right', 4, '10.0.0.2:1')), true, 'another address gets in');
  assert.equal(authenticate(info('right', 4, '/tmp/mqx.sock')), true);
  clock.now = 5_000;
  assert.equal(authenticate(info('right')), true, 'after the ban');
  assert.equal(lines.length, 1);
  // An asynchronous hook's refusals count too.
  const asyncOptions = resolveOptions({ auth_fail_limit: 1, authenticate: async () => false });
  const asyncAuthenticate = guardAuthenticate(asyncOptions, logger, () => clock.now)!;
  assert.equal(await asyncAuthenticate(info('x')), false);
  assert.equal(asyncAuthenticate(info('x')), 0x87);
  // Off: every verdict is the hook's own, however many refusals.
  let offCalls = 0;
  const off = guardAuthenticate(resolveOptions({ auth_fail_limit: 0, authenticate: () => { offCalls++; return false; } }), logger);
  for (let i = 0; i < 5; i++) assert.equal(off(info('x')), false);
  assert.equal(offCalls, 5);
  // The hook is read at each call: one installed later (a reload) is used, none means accepted.
  const later = resolveOptions({ auth_fail_limit: 2 });
  const guarded = guardAuthenticate(later, logger);
  assert.equal(guarded(info('x')), true);
  later.authenticate = () => 0x86;
  assert.equal(guarded(info('x')), 0x86);
});
