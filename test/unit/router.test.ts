// The subscription trie without a broker: wildcards, $ topics, merging, no-local, shared groups.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Router } from '../../src/broker/router.js';
import type { Delivery, SubscriptionOptions } from '../../src/broker/router.js';
import { isValidTopicFilter, topicMatchesFilter } from '../../src/codec/topics.js';

function opts(qos: 0 | 1 | 2 = 0, extra: Partial<SubscriptionOptions> = {}): SubscriptionOptions {
  return { qos, noLocal: false, retainAsPublished: false, retainHandling: 0, ...extra };
}

/** Deliveries as plain sorted data, so tests do not depend on the router's order. */
function view(deliveries: readonly Delivery[]): Array<Omit<Delivery, 'subscriptionIds'> & { subscriptionIds: number[] }> {
  return deliveries
    .map((d) => ({ ...d, subscriptionIds: [...d.subscriptionIds].sort((a, b) => a - b) }))
    .sort((a, b) => (a.clientId + (a.sharedGroup ?? '')).localeCompare(b.clientId + (b.sharedGroup ?? '')));
}

function clients(deliveries: readonly Delivery[]): string[] {
  return deliveries.map((d) => d.clientId).sort();
}

test('exact, + and # subscriptions match as the spec says [MQTT-4.7.1-2] [MQTT-4.7.1-3]', () => {
  const router = new Router();
  router.add('exact', 'a/b', opts());
  router.add('plus', 'a/+', opts());
  router.add('hash', 'a/#', opts());
  router.add('all', '#', opts());
  router.add('plusplus', '+/+', opts());
  assert.deepEqual(clients(router.match('a/b')), ['all', 'exact', 'hash', 'plus', 'plusplus']);
  assert.deepEqual(clients(router.match('a')), ['all', 'hash']); // "a/#" matches "a"
  assert.deepEqual(clients(router.match('a/b/c')), ['all', 'hash']);
  assert.deepEqual(clients(router.match('/')), ['all', 'plusplus']);
  assert.deepEqual(clients(router.match('x/y')), ['all', 'plusplus']);
});

test('empty levels are levels: a//b, a/, /a', () => {
  const router = new Router();
  router.add('c1', 'a//b', opts());
  router.add('c2', 'a/+/b', opts());
  router.add('c3', 'a/', opts());
  router.add('c4', '/+', opts());
  assert.deepEqual(clients(router.match('a//b')), ['c1', 'c2']);
  assert.deepEqual(clients(router.match('a/b')), []);
  assert.deepEqual(clients(router.match('a/')), ['c3']);
  assert.deepEqual(clients(router.match('/a')), ['c4']);
  assert.deepEqual(clients(router.match('/')), ['c4']);
});

test('[MQTT-4.7.2-1] $ topics are not matched by a leading wildcard, but by $SYS/#', () => {
  const router = new Router();
  router.add('hash', '#', opts());
  router.add('plus', '+/broker/uptime', opts());
  router.add('sys', '$SYS/#', opts());
  router.add('sysplus', '$SYS/+/uptime', opts());
  assert.deepEqual(clients(router.match('$SYS/broker/uptime')), ['sys', 'sysplus']);
  assert.deepEqual(clients(router.match('$SYS')), ['sys']);
  assert.deepEqual(clients(router.match('x/broker/uptime')), ['hash', 'plus']);
  // Only the first level is special: a $ deeper down is a normal character.
  assert.deepEqual(clients(router.match('a/$b')), ['hash']);
});

test('[MQTT-3.3.4-2] [MQTT-3.8.4-3] overlapping subscriptions merge into one delivery: max QoS, any RAP, all ids', () => {
  const router = new Router();
  router.add('c', 'a/+', opts(0, { subscriptionId: 1 }));
  router.add('c', 'a/#', opts(2, { subscriptionId: 7 }));
  router.add('c', '#', opts(1, { retainAsPublished: true }));
  router.add('d', 'a/b', opts(1));
  assert.deepEqual(view(router.match('a/b')), [
    { clientId: 'c', qos: 2, retainAsPublished: true, subscriptionIds: [1, 7], sharedGroup: null },
    { clientId: 'd', qos: 1, retainAsPublished: false, subscriptionIds: [], sharedGroup: null },
  ]);
  assert.deepEqual(view(router.match('a/b/c')), [
    { clientId: 'c', qos: 2, retainAsPublished: true, subscriptionIds: [7], sharedGroup: null },
  ]);
});

test('[MQTT-3.8.4-3] subscribing again to the same filter replaces its options; add reports whether it is new', () => {
  const router = new Router();
  assert.equal(router.add('c', 'a/b', opts(0, { subscriptionId: 3 })), true);
  assert.equal(router.match('a/b')[0]!.qos, 0);
  assert.equal(router.add('c', 'a/b', opts(2)), false);
  assert.deepEqual(view(router.match('a/b')), [
    { clientId: 'c', qos: 2, retainAsPublished: false, subscriptionIds: [], sharedGroup: null },
  ]);
  assert.equal(router.count, 1);
  assert.deepEqual(router.subscriptionsOf('c'), [{ filter: 'a/b', options: opts(2) }]);
});

test('[MQTT-3.10.4-1] remove deletes only that exact filter; unknown filters return false (UNSUBACK 0x11)', () => {
  const router = new Router();
  router.add('c', 'a/+', opts());
  router.add('c', 'a/b', opts());
  assert.equal(router.remove('c', 'a/#'), false);
  assert.equal(router.remove('other', 'a/b'), false);
  assert.equal(router.remove('c', 'a/b'), true);
  assert.equal(router.remove('c', 'a/b'), false);
  assert.deepEqual(clients(router.match('a/b')), ['c']);
  assert.equal(router.remove('c', 'a/+'), true);
  assert.deepEqual(clients(router.match('a/b')), []);
  assert.equal(router.count, 0);
  assert.deepEqual(router.subscriptionsOf('c'), []);
});

test('removeAll drops every subscription of a client, shared ones included', () => {
  const router = new Router();
  router.add('c', 'a/#', opts());
  router.add('c', '$share/g/a/b', opts());
  router.add('d', 'a/b', opts());
  assert.equal(router.count, 3);
  router.removeAll('c');
  assert.equal(router.count, 1);
  assert.deepEqual(view(router.match('a/b')).map((d) => d.clientId), ['d']);
  router.removeAll('nobody');
  assert.equal(router.count, 1);
});

test('[MQTT-3.8.3-3] no-local: the publisher\'s own no-local subscriptions are skipped before merging', () => {
  const router = new Router();
  router.add('pub', 'a/#', opts(2, { noLocal: true, subscriptionId: 9 }));
  router.add('pub', 'a/b', opts(1, { subscriptionId: 4 }));
  router.add('other', 'a/#', opts(0, { noLocal: true }));
  // The publisher still gets its delivery through a/b at QoS 1 with only id 4.
  assert.deepEqual(view(router.match('a/b', 'pub')), [
    { clientId: 'other', qos: 0, retainAsPublished: false, subscriptionIds: [], sharedGroup: null },
    { clientId: 'pub', qos: 1, retainAsPublished: false, subscriptionIds: [4], sharedGroup: null },
  ]);
  // Only the no-local subscription matches: nothing for the publisher.
  assert.deepEqual(clients(router.match('a/c', 'pub')), ['other']);
  // Another publisher: everything merged as usual.
  assert.deepEqual(view(router.match('a/b', 'someone')).find((d) => d.clientId === 'pub'),
    { clientId: 'pub', qos: 2, retainAsPublished: false, subscriptionIds: [4, 9], sharedGroup: null });
  assert.deepEqual(clients(router.match('a/b')), ['other', 'pub']);
});

test('[MQTT-4.8.2-3] a shared group delivers each message to one member, in strict round robin', () => {
  const router = new Router();
  router.add('m1', '$share/g/a/+', opts(1));
  router.add('m2', '$share/g/a/+', opts(1));
  router.add('m3', '$share/g/a/+', opts(1));
  const seen: string[] = [];
  for (let i = 0; i < 6; i++) {
    const deliveries = router.match('a/b');
    assert.equal(deliveries.length, 1);
    assert.equal(deliveries[0]!.sharedGroup, 'g');
    seen.push(deliveries[0]!.clientId);
  }
  assert.deepEqual(seen, ['m1', 'm2', 'm3', 'm1', 'm2', 'm3']);
});

test('peek lists what match would, with every shared member, and moves no round robin', () => {
  const router = new Router();
  router.add('m1', '$share/g/a/+', opts(1));
  router.add('m2', '$share/g/a/+', opts(1));
  router.add('plain', 'a/#', opts(0));
  router.add('pub', 'a/b', opts(2, { noLocal: true }));
  assert.deepEqual(clients(router.peek('a/b', 'pub')), ['m1', 'm2', 'plain']);
  assert.deepEqual(clients(router.peek('a/b')), ['m1', 'm2', 'plain', 'pub']);
  assert.deepEqual(router.peek('x'), []);
  // The cursor did not move: match still starts with the first member.
  assert.deepEqual(clients(router.match('a/b', 'pub')), ['m1', 'plain']);
  assert.deepEqual(clients(router.match('a/b', 'pub')), ['m2', 'plain']);
});

test('shared groups skip offline members; with none online they still deliver in turn', () => {
  const router = new Router();
  for (const id of ['m1', 'm2', 'm3']) router.add(id, '$share/g/t', opts(1));
  router.setOnline('m2', false);
  const next = () => router.match('t')[0]!.clientId;
  assert.deepEqual([next(), next(), next(), next()], ['m1', 'm3', 'm1', 'm3']);
  router.setOnline('m1', false);
  router.setOnline('m3', false);
  // Nobody online: the round robin goes on through the offline members (their sessions queue).
  const offline = [next(), next(), next()].sort();
  assert.deepEqual(offline, ['m1', 'm2', 'm3']);
  router.setOnline('m2', true);
  assert.deepEqual([next(), next()], ['m2', 'm2']);
});

test('several groups and non-shared subscriptions each get their own delivery; $queue is a group', () => {
  const router = new Router();
  router.add('a1', '$share/ga/s/#', opts(0));
  router.add('b1', '$share/gb/s/x', opts(2, { subscriptionId: 5 }));
  router.add('q1', '$queue/s/x', opts(1));
  router.add('a1', 's/x', opts(1)); // the same client, non-shared: a separate entry
  assert.deepEqual(view(router.match('s/x')), [
    { clientId: 'a1', qos: 1, retainAsPublished: false, subscriptionIds: [], sharedGroup: null },
    { clientId: 'a1', qos: 0, retainAsPublished: false, subscriptionIds: [], sharedGroup: 'ga' },
    { clientId: 'b1', qos: 2, retainAsPublished: false, subscriptionIds: [5], sharedGroup: 'gb' },
    { clientId: 'q1', qos: 1, retainAsPublished: false, subscriptionIds: [], sharedGroup: '$queue' },
  ]);
  // The same group name with another filter is another shared subscription.
  router.add('a2', '$share/ga/s/x', opts(0));
  assert.equal(router.match('s/x').filter((d) => d.sharedGroup === 'ga').length, 2);
});

test('removing a shared member keeps the round robin going with the others', () => {
  const router = new Router();
  for (const id of ['m1', 'm2', 'm3']) router.add(id, '$share/g/t', opts());
  assert.equal(router.match('t')[0]!.clientId, 'm1');
  assert.equal(router.match('t')[0]!.clientId, 'm2');
  router.remove('m1', '$share/g/t');
  assert.equal(router.match('t')[0]!.clientId, 'm3');
  assert.equal(router.match('t')[0]!.clientId, 'm2');
  router.remove('m2', '$share/g/t');
  router.remove('m3', '$share/g/t');
  assert.deepEqual(router.match('t'), []);
  assert.equal(router.count, 0);
});

test('nextSharedMember: the next online member other than the leaving one, or null', () => {
  const router = new Router();
  for (const id of ['m1', 'm2', 'm3']) router.add(id, '$share/g/a/#', opts(1));
  router.setOnline('m1', false);
  assert.equal(router.nextSharedMember('g', 'a/#', 'm1'), 'm2');
  assert.equal(router.nextSharedMember('g', 'a/#', 'm1'), 'm3');
  router.setOnline('m3', false);
  assert.equal(router.nextSharedMember('g', 'a/#', 'm2'), null);
  assert.equal(router.nextSharedMember('other', 'a/#', 'm1'), null);
  assert.equal(router.nextSharedMember('g', 'a/b', 'm1'), null);
});

test('subscriptionsOf lists filters as subscribed, with copies of the options', () => {
  const router = new Router();
  router.add('c', '$share/g/x', opts(1));
  router.add('c', 'y/#', opts(2, { subscriptionId: 2, retainHandling: 1 }));
  const list = router.subscriptionsOf('c').sort((a, b) => a.filter.localeCompare(b.filter));
  assert.deepEqual(list, [
    { filter: '$share/g/x', options: opts(1) },
    { filter: 'y/#', options: opts(2, { subscriptionId: 2, retainHandling: 1 }) },
  ]);
  list[0]!.options.qos = 0;
  assert.equal(router.subscriptionsOf('c').find((s) => s.filter === '$share/g/x')!.options.qos, 1);
});

test('a malformed shared filter is refused with an exception, not stored', () => {
  const router = new Router();
  assert.throws(() => router.add('c', '$share/g', opts()), TypeError);
  assert.equal(router.count, 0);
});

test('the match cache is invalidated by add and remove, and deliveries already returned stay intact', () => {
  const router = new Router();
  router.add('c1', 'a/b', opts(1));
  const first = router.match('a/b');
  const snapshot = view(first);
  router.add('c2', 'a/+', opts(0));
  assert.deepEqual(clients(router.match('a/b')), ['c1', 'c2']);
  assert.deepEqual(view(first), snapshot);
  router.remove('c1', 'a/b');
  assert.deepEqual(clients(router.match('a/b')), ['c2']);
  router.add('c2', 'a/+', opts(2));
  assert.equal(router.match('a/b')[0]!.qos, 2);
});

test('the trie agrees with topicMatchesFilter over random subscriptions and topics', () => {
  let seed = 7;
  const random = (n: number) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
  const words = ['a', 'b', '', '$SYS'];
  const router = new Router();
  const subs: Array<{ client: string; filter: string; qos: 0 | 1 | 2 }> = [];
  for (let i = 0; i < 300; i++) {
    const levels = Array.from({ length: 1 + random(3) }, () => ['a', 'b', '', '+', '$SYS'][random(5)]!);
    if (random(4) === 0) levels.push('#');
    const filter = levels.join('/');
    if (!isValidTopicFilter(filter)) continue;
    const client = `c${random(20)}`;
    const qos = random(3) as 0 | 1 | 2;
    router.add(client, filter, opts(qos));
    const existing = subs.find((s) => s.client === client && s.filter === filter);
    if (existing) existing.qos = qos; else subs.push({ client, filter, qos });
  }
  // Remove a few, to exercise pruning.
  for (let i = 0; i < 40; i++) {
    const victim = subs.splice(random(subs.length), 1)[0]!;
    assert.equal(router.remove(victim.client, victim.filter), true);
  }
  assert.equal(router.count, subs.length);
  for (let i = 0; i < 2000; i++) {
    const topic = Array.from({ length: 1 + random(4) }, () => words[random(words.length)]!).join('/');
    if (topic.length === 0) continue;
    const expected = new Map<string, number>();
    for (const s of subs) {
      if (!topicMatchesFilter(s.filter, topic)) continue;
      expected.set(s.client, Math.max(expected.get(s.client) ?? 0, s.qos));
    }
    const actual = new Map(router.match(topic).map((d) => [d.clientId, d.qos as number]));
    assert.deepEqual(actual, expected, topic);
  }
});

test('after a flood of never-repeating topics (cache paused) matches stay right and follow changes', () => {
  const router = new Router();
  router.add('c', 'dev/+/up', opts(1));
  let matched = 0;
  for (let i = 0; i < 80_000; i++) matched += router.match(`dev/${i}/up`).length;
  assert.equal(matched, 80_000);
  router.add('d', 'dev/#', opts(0));
  assert.deepEqual(clients(router.match('dev/5/up')), ['c', 'd']);
  router.remove('c', 'dev/+/up');
  assert.deepEqual(clients(router.match('dev/5/up')), ['d']);
  for (let i = 0; i < 80_000; i++) router.match(`dev/${i % 3}/up`);
  assert.deepEqual(clients(router.match('dev/1/up')), ['d']);
});
