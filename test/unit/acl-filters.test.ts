// The filter algebra behind acl_check_subscribe, checked against brute force: every topic
// over a small alphabet (plus one letter no filter uses, which stands for all others).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { filterCovered, intersectFilters, topicMatches } from '../../src/auth/topic-filter.js';
import { loadAcl } from '../../src/auth/acl-file.js';
import { checkAccess, checkSubscribe } from '../../src/auth/acl.js';

// 'u', 'a', 'b' and 'z' are also the user names and client ids substituted into patterns;
// 'y' appears in no filter and no name.
const LEVELS = ['a', 'b', '', 'u', 'z', 'y'];
const FIRST_LEVELS = [...LEVELS, '$s'];

/** Every topic of 1..depth levels from the alphabet. */
function allTopics(depth: number): string[] {
  const out: string[] = [];
  const grow = (prefix: string[]) => {
    if (prefix.length > 0) out.push(prefix.join('/'));
    if (prefix.length === depth) return;
    for (const level of prefix.length === 0 ? FIRST_LEVELS : LEVELS) grow([...prefix, level]);
  };
  grow([]);
  return out;
}

const TOPICS = allTopics(4);

/** A small deterministic PRNG, so a failure names a reproducible seed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function randomFilter(next: () => number): string {
  const length = 1 + Math.floor(next() * 3);
  const levels: string[] = [];
  for (let i = 0; i < length; i++) {
    const pool = i === 0 ? ['a', 'b', '', '+', '$s'] : ['a', 'b', '', '+'];
    levels.push(pool[Math.floor(next() * pool.length)]);
  }
  if (next() < 0.35) levels.push('#');
  // A lone empty level would be the empty filter, which is invalid.
  return levels.join('/') || 'a';
}

test('intersectFilters matches exactly the topics both filters match', () => {
  const next = random(1);
  for (let i = 0; i < 400; i++) {
    const a = randomFilter(next);
    const b = randomFilter(next);
    const meet = intersectFilters(a, b);
    for (const topic of TOPICS) {
      const both = topicMatches(a, topic) && topicMatches(b, topic);
      assert.equal(meet !== null && topicMatches(meet, topic), both, `${a} ∩ ${b} = ${meet} on '${topic}'`);
    }
  }
});

test('filterCovered agrees with checking every topic', () => {
  const next = random(2);
  let covered = 0;
  for (let i = 0; i < 600; i++) {
    const filter = randomFilter(next);
    const covers = Array.from({ length: 1 + Math.floor(next() * 3) }, () => randomFilter(next));
    const expected = TOPICS.every((topic) => !topicMatches(filter, topic) || covers.some((c) => topicMatches(c, topic)));
    assert.equal(filterCovered(filter, covers), expected, `${filter} covered by ${covers.join(', ')}`);
    if (expected) covered++;
  }
  assert.ok(covered > 20, 'the random cases include covered ones');
});

test('checkSubscribe allows a filter exactly when some topic under it is readable', () => {
  const next = random(3);
  const accesses = ['read', 'write', 'readwrite', 'deny'];
  let refused = 0;
  for (let i = 0; i < 150; i++) {
    const lines: string[] = [];
    for (let j = Math.floor(next() * 3); j > 0; j--) lines.push(`topic ${accesses[Math.floor(next() * 4)]} ${randomFilter(next)}`);
    lines.push('user u');
    for (let j = Math.floor(next() * 4); j > 0; j--) lines.push(`topic ${accesses[Math.floor(next() * 4)]} ${randomFilter(next)}`);
    for (let j = Math.floor(next() * 3); j > 0; j--) lines.push(`pattern ${accesses[Math.floor(next() * 4)]} ${randomFilter(next).replace(/^a/, '%c').replace(/\/b/, '/%u')}`);
    const { acl, problems } = loadAcl(lines.join('\n') + '\n');
    assert.deepEqual(problems, []);
    for (const client of [{ username: 'u', clientId: 'a' }, { clientId: 'b' }, { username: 'b', clientId: 'z' }]) {
      const filter = randomFilter(next);
      const readable = TOPICS.some((topic) => topicMatches(filter, topic) && checkAccess(acl, client, 'read', topic).allowed);
      const decision = checkSubscribe(acl, client, filter);
      assert.equal(decision.allowed, readable, `${JSON.stringify(client)} subscribe ${filter} with\n${lines.join('\n')}`);
      if (!readable) refused++;
    }
  }
  assert.ok(refused > 25, 'the random cases include refusals');
});
