// Finds the mistakes people make in Mosquitto ACL files: lines that can never decide anything,
// duplicates, patterns without %c/%u, a forgotten filter. Pure; reports, never rewrites.

import { compileAcl, parseAclFile } from './acl-file.js';
import type { AclProblem, AclRule } from './acl-file.js';
import { filterCovered, intersectFilters } from './topic-filter.js';

const ACCESS_WORDS = new Set(['read', 'write', 'readwrite', 'deny']);

const bits = (rule: AclRule): ('read' | 'write')[] =>
  rule.access === 'readwrite' ? ['read', 'write'] : rule.access === 'deny' ? [] : [rule.access];

/** The earlier-evaluated lines that decide every topic `rule` matches for `bit`, or null. */
function decidedBefore(rule: AclRule, earlier: AclRule[], bit: 'read' | 'write'): AclRule[] | null {
  const deciders = earlier.filter((e) => e.access === 'deny' || e.access === 'readwrite' || e.access === bit);
  const usable = deciders.filter((e) => !(rule.filter.startsWith('$') && !e.filter.startsWith('$')));
  if (!filterCovered(rule.filter, usable.map((e) => e.filter))) return null;
  // Name only the lines that actually overlap, for a readable message.
  return usable.filter((e) => intersectFilters(rule.filter, e.filter) !== null);
}

function lintList(list: AclRule[], where: string, problems: AclProblem[]): void {
  list.forEach((rule, index) => {
    const earlier = list.slice(0, index);
    const duplicate = earlier.find((e) => e.access === rule.access && e.filter === rule.filter && e.line !== rule.line);
    if (duplicate) {
      problems.push({ file: rule.file, line: rule.line, severity: 'warning', message: `duplicate of line ${duplicate.line} (${where}): it never decides anything` });
      return;
    }
    if (rule.access === 'deny') return;
    const dead = bits(rule).map((bit) => ({ bit, by: decidedBefore(rule, earlier, bit) }));
    if (dead.every((d) => d.by !== null)) {
      const lines = [...new Set(dead.flatMap((d) => d.by!.map((e) => e.line)))].sort((a, b) => a - b);
      const denyFirst = dead.some((d) => d.by!.some((e) => e.access === 'deny' && e.line > rule.line));
      const note = denyFirst ? ' (deny lines are checked before every other line of their section, wherever they are written)' : '';
      problems.push({ file: rule.file, line: rule.line, severity: 'warning', message: `unreachable (${where}): every topic it matches is decided first by line${lines.length > 1 ? 's' : ''} ${lines.join(', ')}${note}` });
    }
  });
}

/**
 * All problems of an ACL file, sorted by line: the parse errors Mosquitto refuses to start
 * with, and warnings for lines that are legal but almost certainly not what was meant.
 */
export function lintAcl(text: string, file = 'acl', options: { knownUsers?: ReadonlySet<string> | ReadonlyMap<string, unknown> } = {}): AclProblem[] {
  const parsed = parseAclFile(text, file);
  const problems: AclProblem[] = [...parsed.problems];
  const warn = (line: number, message: string) => problems.push({ file, line, severity: 'warning', message });
  for (const rule of parsed.rules) {
    if (!rule.accessGiven && ACCESS_WORDS.has(rule.filter)) {
      warn(rule.line, `this grants readwrite on a topic literally named '${rule.filter}'; a topic filter is missing`);
    }
    const hasVariable = rule.filter.includes('%c') || rule.filter.includes('%u');
    if (rule.kind === 'pattern' && !hasVariable) {
      warn(rule.line, `pattern without %c or %u applies the same to every client; Mosquitto warns about this too (a plain 'topic' line is probably meant)`);
    }
    if (rule.kind === 'topic' && hasVariable) {
      warn(rule.line, `%c and %u are only substituted in 'pattern' lines; this 'topic' line matches them literally`);
    }
    if (hasVariable && rule.filter.split('/').some((level) => /%[cu]/.test(level) && level !== '%c' && level !== '%u')) {
      warn(rule.line, `%c / %u should be a whole topic level (Mosquitto's documentation); a client id or user name containing '/' could widen this rule`);
    }
  }
  const acl = compileAcl(parsed);
  for (const [user, list] of acl.users) {
    lintList(list, user === null ? 'anonymous section' : `user ${user}`, problems);
  }
  lintList(acl.patterns, 'patterns', problems);
  const firstSection = new Map<string, number>();
  for (const { user, line } of parsed.users) {
    if (/\s#/.test(user)) warn(line, `the user name is '${user}': Mosquitto takes the whole rest of the line, so a trailing comment becomes part of the name`);
    const earlier = firstSection.get(user);
    if (earlier !== undefined) warn(line, `user ${user} already has a section at line ${earlier}; Mosquitto merges them`);
    else firstSection.set(user, line);
    if (earlier === undefined && options.knownUsers && !options.knownUsers.has(user)) {
      warn(line, `user ${user} has no valid entry in the password file: the broker refuses it, so this section never applies`);
    }
    if (!acl.users.has(user)) {
      const patternsNote = acl.patterns.length > 0 ? 'only the patterns apply to it' : 'it is denied everything';
      if (earlier === undefined) warn(line, `user ${user} has no topic lines: ${patternsNote}`);
    }
  }
  return problems.sort((a, b) => a.line - b.line || (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1));
}
