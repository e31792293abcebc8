// ACL decisions exactly as mosquitto 2.0 makes them (`mosquitto_acl_check` + the default
// ACL check), plus mqx's acl_check_subscribe test for a filter. Pure; no IO, no logging.

import type { Acl, AclRule } from './acl-file.js';
import { filterCovered, intersectFilters, topicMatches } from './topic-filter.js';

export interface AclClient {
  /** null / undefined for a client that connected without a username. */
  username?: string | null;
  clientId: string;
}

export type AclAction = 'read' | 'write' | 'subscribe';

export interface AclRuleRef {
  file: string;
  line: number;
  text: string;
}

export interface AclDecision {
  allowed: boolean;
  /** The line that decided, or null when no line did (a built-in rule or nothing matched). */
  rule: AclRuleRef | null;
  reason: string;
}

const ref = (rule: AclRule): AclRuleRef => ({ file: rule.file, line: rule.line, text: rule.text });

const grants = (rule: AclRule, action: 'read' | 'write'): boolean =>
  rule.access === 'readwrite' || rule.access === action;

/** Mosquitto's built-in `$` rules, checked before the ACL file (`acl__check_dollar`). */
function dollarCheck(action: AclAction, topic: string): AclDecision | null {
  if (!topic.startsWith('$')) return null;
  if (topic.startsWith('$SYS') && action === 'write' && !topicMatches('$SYS/broker/connection/+/state', topic)) {
    return { allowed: false, rule: null, reason: 'only the broker publishes to $SYS (built-in rule)' };
  }
  if (topic.startsWith('$share') && action !== 'subscribe') {
    return { allowed: false, rule: null, reason: '$share topics can only be subscribed to (built-in rule)' };
  }
  return null;
}

const who = (client: AclClient): string =>
  client.username === undefined || client.username === null ? 'anonymous clients' : `user '${client.username}'`;

/** A pattern with %c and %u replaced, as Mosquitto does (anywhere in the string). */
export function substitutePattern(filter: string, client: AclClient): string {
  let out = '';
  for (let i = 0; i < filter.length; i++) {
    if (filter[i] === '%' && i < filter.length - 1) {
      if (filter[i + 1] === 'c') { out += client.clientId; i++; continue; }
      if (filter[i + 1] === 'u' && client.username != null) { out += client.username; i++; continue; }
    }
    out += filter[i];
  }
  return out;
}

/** A rule with its filter split into levels once, for the per-message checks. */
interface CompiledRule { rule: AclRule; filter: string; levels: string[] }

type ClientPatterns = CompiledRule[] | { denied: string };

interface Compiled {
  users: Map<string | null, CompiledRule[]>;
  /** Substituted patterns per (username, client id); cleared when it grows large. */
  patterns: Map<string, ClientPatterns>;
}

const compiledAcls = new WeakMap<Acl, Compiled>();
const PATTERN_CACHE_LIMIT = 10000;

const compileRule = (rule: AclRule, filter = rule.filter): CompiledRule => ({ rule, filter, levels: filter.split('/') });

function compiled(acl: Acl): Compiled {
  let entry = compiledAcls.get(acl);
  if (!entry) {
    const users = new Map<string | null, CompiledRule[]>();
    for (const [user, rules] of acl.users) users.set(user, rules.map((rule) => compileRule(rule)));
    entry = { users, patterns: new Map() };
    compiledAcls.set(acl, entry);
  }
  return entry;
}

/**
 * `mosquitto_topic_matches_sub` on pre-split levels: `+` one level, `#` the rest (or
 * nothing), and `$` topics only matched by filters starting with `$`. The topic is valid.
 */
function matchLevels(levels: string[], topic: string[]): boolean {
  if (topic[0].startsWith('$') !== levels[0].startsWith('$')) return false;
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i];
    if (level === '#') return true;
    if (i >= topic.length) return false;
    if (level !== '+' && level !== topic[i]) return false;
  }
  return levels.length === topic.length;
}

/** The patterns that apply to this client, substituted, in evaluation order, or the guard's denial. */
function clientPatterns(acl: Acl, client: AclClient): ClientPatterns {
  if (acl.patterns.length === 0) return [];
  const cache = compiled(acl).patterns;
  const key = `${client.username == null ? '\u0000' : `u${client.username}`}\u0000${client.clientId}`;
  const hit = cache.get(key);
  if (hit) return hit;
  let result: ClientPatterns;
  // CVE-2017-7650: a username or client id with + or # could widen a pattern.
  if (client.username != null && /[+#]/.test(client.username)) result = { denied: `username '${client.username}' contains + or #, which Mosquitto refuses when patterns are in use` };
  else if (/[+#]/.test(client.clientId)) result = { denied: `client id '${client.clientId}' contains + or #, which Mosquitto refuses when patterns are in use` };
  else {
    result = acl.patterns
      .filter((rule) => !(rule.filter.includes('%u') && client.username == null))
      .map((rule) => compileRule(rule, substitutePattern(rule.filter, client)));
  }
  if (cache.size >= PATTERN_CACHE_LIMIT) cache.clear();
  cache.set(key, result);
  return result;
}

/**
 * May this client read (receive), write (publish) or subscribe to `topic`? The order is
 * Mosquitto's: built-in `$SYS`/`$share` rules; SUBSCRIBE always allowed; the client's own
 * block (its `user` section, or the lines before the first `user` for anonymous clients),
 * denies first, where a filter not starting with `$` never matches a `$` topic; then the
 * patterns, denies first; nothing matched -> denied.
 */
export function checkAccess(acl: Acl, client: AclClient, action: AclAction, topic: string): AclDecision {
  const dollar = dollarCheck(action, topic);
  if (dollar) return dollar;
  if (action === 'subscribe') {
    return { allowed: true, rule: null, reason: 'Mosquitto accepts every SUBSCRIBE; each message is checked for read access when it is delivered' };
  }
  const block = compiled(acl).users.get(client.username ?? null);
  if (!block && acl.patterns.length === 0) {
    return { allowed: false, rule: null, reason: `no rules apply to ${who(client)}: no ${client.username == null ? 'topic lines before the first user line' : 'user section'} and no patterns` };
  }
  // A topic with wildcards is invalid: Mosquitto's matcher matches no filter then.
  const levels = topic.length === 0 || topic.includes('+') || topic.includes('#') ? null : topic.split('/');
  let partial: AclRule | null = null;
  for (const { rule, levels: ruleLevels } of block ?? []) {
    if (levels === null || !matchLevels(ruleLevels, levels)) continue;
    if (rule.access === 'deny') return { allowed: false, rule: ref(rule), reason: `denied by a deny line for ${who(client)}` };
    if (grants(rule, action)) return { allowed: true, rule: ref(rule), reason: `${action} granted to ${who(client)}` };
    partial ??= rule;
  }
  const patterns = clientPatterns(acl, client);
  if ('denied' in patterns) return { allowed: false, rule: null, reason: patterns.denied };
  for (const { rule, filter, levels: ruleLevels } of patterns) {
    if (levels === null || !matchLevels(ruleLevels, levels)) continue;
    const shown = filter === rule.filter ? '' : ` (as ${filter})`;
    if (rule.access === 'deny') return { allowed: false, rule: ref(rule), reason: `denied by a deny pattern${shown}` };
    if (grants(rule, action)) return { allowed: true, rule: ref(rule), reason: `${action} granted by a pattern${shown}` };
    partial ??= rule;
  }
  if (partial) {
    return { allowed: false, rule: ref(partial), reason: `this line matches but grants only ${partial.access}; nothing grants ${action}` };
  }
  return { allowed: false, rule: null, reason: `no line grants ${action} on this topic to ${who(client)}` };
}

/** The filter a subscription reads through: `$share/group/filter` reads `filter`. */
export function readFilterOf(subscription: string): string {
  const shared = /^\$share\/[^/]*\/(.+)$/.exec(subscription);
  return shared ? shared[1] : subscription;
}

/**
 * mqx's `acl_check_subscribe`: may this client subscribe to `filter`? Refused when no topic
 * the filter matches could ever be read by this client. A topic is readable when it is in a
 * read grant of the client's block and in none of its denies, or else in a read pattern and
 * in no deny of the block or the patterns; so the filter is readable when, for some grant,
 * its intersection with the filter is not wholly covered by the denies evaluated before it.
 */
export function checkSubscribe(acl: Acl, client: AclClient, filter: string): AclDecision {
  const readFilter = readFilterOf(filter);
  if (readFilter.startsWith('$share')) return { allowed: false, rule: null, reason: '$share topics can never be read (built-in rule)' };
  const block = acl.users.get(client.username ?? null) ?? [];
  const blockDenies = block.filter((rule) => rule.access === 'deny').map((rule) => rule.filter);
  const tryGrants = (candidates: { rule: AclRule; filter: string }[], denies: string[]): AclDecision | null => {
    for (const { rule, filter: grant } of candidates) {
      if (rule.access === 'deny' || !grants(rule, 'read')) continue;
      const meet = intersectFilters(readFilter, grant);
      if (meet === null) continue;
      if (meet.startsWith('$share')) continue;
      if (filterCovered(meet, denies.filter((deny) => !(meet.startsWith('$') && !deny.startsWith('$'))))) continue;
      return { allowed: true, rule: ref(rule), reason: `topics under '${readFilter}' can be read (e.g. those matching '${meet}')` };
    }
    return null;
  };
  const fromBlock = tryGrants(block.map((rule) => ({ rule, filter: rule.filter })), blockDenies);
  if (fromBlock) return fromBlock;
  const patterns = clientPatterns(acl, client);
  if (!('denied' in patterns)) {
    const patternDenies = patterns.filter(({ rule }) => rule.access === 'deny').map(({ filter: f }) => f);
    const fromPatterns = tryGrants(patterns, [...blockDenies, ...patternDenies]);
    if (fromPatterns) return fromPatterns;
  }
  const denyAll = block.find((rule) => rule.access === 'deny' && filterCovered(readFilter, [rule.filter]));
  return {
    allowed: false,
    rule: denyAll ? ref(denyAll) : null,
    reason: `${who(client)} can read no topic matching '${readFilter}'`,
  };
}

export interface AclStep {
  rule: AclRule;
  /** The filter as evaluated for this client (patterns substituted). */
  filter: string;
  section: 'user' | 'anonymous' | 'pattern';
}

/**
 * Every line in the order Mosquitto evaluates it for this client (its block, then the
 * patterns that apply), for explaining a decision. Empty patterns when the +/# guard denies.
 */
export function evaluationOrder(acl: Acl, client: AclClient): AclStep[] {
  const section = client.username == null ? 'anonymous' : 'user';
  const steps: AclStep[] = (acl.users.get(client.username ?? null) ?? []).map((rule) => ({ rule, filter: rule.filter, section }));
  const patterns = clientPatterns(acl, client);
  if (!('denied' in patterns)) steps.push(...patterns.map(({ rule, filter }) => ({ rule, filter, section: 'pattern' as const })));
  return steps;
}
