// Topic filters as the ACL code needs them: Mosquitto's validity check, matching, and the
// filter algebra (intersection, coverage) behind acl_check_subscribe. Pure; imports nothing of mqx.

/**
 * Mosquitto's `mosquitto_sub_topic_check`: `+` and `#` must fill a whole level and `#` must
 * be last. Returns a reason when the filter is invalid, null when it is valid.
 */
export function filterProblem(filter: string): string | null {
  if (filter.length === 0) return 'empty topic filter';
  if (Buffer.byteLength(filter) > 65535) return 'topic filter longer than 65535 bytes';
  for (let i = 0; i < filter.length; i++) {
    const c = filter[i];
    const before = i === 0 ? '' : filter[i - 1];
    const after = i + 1 < filter.length ? filter[i + 1] : '';
    if (c === '+' && ((before !== '' && before !== '/') || (after !== '' && after !== '/'))) {
      return `'+' must fill a whole topic level`;
    }
    if (c === '#' && ((before !== '' && before !== '/') || after !== '')) {
      return `'#' must be the last level of a filter`;
    }
  }
  return null;
}

/**
 * Whether `topic` (no wildcards) matches `filter`, as `mosquitto_topic_matches_sub` decides:
 * level by level, `+` one level, `#` zero or more trailing levels, and a filter starting
 * with a wildcard never matches a topic starting with `$` ([MQTT-4.7.2-1]).
 */
export function topicMatches(filter: string, topic: string): boolean {
  if (filter.length === 0 || topic.length === 0) return false;
  if ((filter[0] === '$') !== (topic[0] === '$')) return false;
  if (filterProblem(filter) !== null || topic.includes('+') || topic.includes('#')) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

const isWild = (level: string): boolean => level === '+' || level === '#';

/**
 * The filter matching exactly the topics both filters match, or null when none does.
 * Two MQTT filters always intersect in a single filter (or nothing).
 */
export function intersectFilters(a: string, b: string): string | null {
  const x = a.split('/');
  const y = b.split('/');
  const out: string[] = [];
  let i = 0;
  for (;;) {
    const p = x[i];
    const q = y[i];
    if (p === undefined && q === undefined) break;
    // `#` also matches zero levels, so "a/#" and "a" meet in "a".
    if (p === '#') { if (i === 0 && q?.startsWith('$')) return null; out.push(...y.slice(i)); break; }
    if (q === '#') { if (i === 0 && p?.startsWith('$')) return null; out.push(...x.slice(i)); break; }
    if (p === undefined || q === undefined) return null;
    if (i === 0 && (isWild(p) && q.startsWith('$') || isWild(q) && p.startsWith('$'))) return null;
    if (p === '+') out.push(q);
    else if (q === '+' || p === q) out.push(p);
    else return null;
    i++;
  }
  // "/#" and "+" meet only in the empty topic, which no one can publish.
  if (out.length === 0 || (out.length === 1 && out[0] === '')) return null;
  return out.join('/');
}

/** A level no filter mentions: stands for "any other string" when checking coverage. */
const FRESH = '\u0000other';

/**
 * Whether every topic `filter` matches is matched by at least one of `covers`.
 * Exact: a wildcard level is expanded into each literal the covers name at that level plus
 * one fresh literal, and `#` additionally into "no more levels"; depth is bounded by the
 * covers' lengths, after which only a covering `#` can still cover.
 */
export function filterCovered(filter: string, covers: string[]): boolean {
  if (covers.length === 0) return false;
  return coveredLevels(filter.split('/'), covers.map((c) => c.split('/')), 0);
}

function coveredLevels(rest: string[], covers: string[][], depth: number): boolean {
  if (covers.length === 0) return false;
  if (rest.length === 0) {
    // The topic ends here: covered when a cover ends here too or is `#` ("a/#" matches "a").
    return covers.some((c) => c.length === 0 || c[0] === '#');
  }
  const head = rest[0];
  if (head === '#') {
    // A cover that is `#` at this level matches every continuation the subscription can.
    if (covers.some((c) => c[0] === '#')) return true;
    // Otherwise: no more levels, or one more level of any value followed by `#` again.
    // (At the first level there is no "no more levels": a topic is never empty.)
    if (depth > 0 && !coveredLevels([], covers, depth)) return false;
    return candidates(covers, depth).every((literal) => coveredLevels(['#'], advance(covers, literal, depth), depth + 1));
  }
  const literals = head === '+' ? candidates(covers, depth) : [head];
  return literals.every((literal) => coveredLevels(rest.slice(1), advance(covers, literal, depth), depth + 1));
}

/** The literals worth trying for a wildcard level: each one a cover names, plus a fresh one. */
function candidates(covers: string[][], depth: number): string[] {
  const set = new Set<string>();
  for (const c of covers) if (c.length > 0 && !isWild(c[0])) set.add(c[0]);
  // A first-level wildcard in a subscription never matches `$` topics.
  const named = [...set].filter((l) => !(depth === 0 && l.startsWith('$')));
  return [...named, FRESH];
}

/** The covers that still match after one more topic level `literal`, each shortened by it. */
function advance(covers: string[][], literal: string, depth: number): string[][] {
  const next: string[][] = [];
  for (const c of covers) {
    if (c.length === 0) continue;
    const level = c[0];
    const dollar = depth === 0 && literal.startsWith('$');
    if (level === '#') { if (!dollar) next.push(['#']); continue; }
    if (level === '+') { if (!dollar) next.push(c.slice(1)); continue; }
    if (level === literal) next.push(c.slice(1));
  }
  return next;
}
