// Edits an ACL file's text in place: add a rule to the right section, remove rules. Every
// other line (comments, blank lines, even bad lines) is kept byte for byte. Pure: no IO.

import { parseAclFile } from './acl-file.js';
import type { AclAccess, AclRule } from './acl-file.js';
import { filterProblem } from './topic-filter.js';

/** Whose rule: a user's section, the anonymous section, or the patterns. */
export type AclTarget = { kind: 'user'; user: string } | { kind: 'anonymous' } | { kind: 'pattern' };

export class AclEditError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AclEditError';
  }
}

export function describeTarget(target: AclTarget): string {
  if (target.kind === 'user') return `user ${target.user}`;
  return target.kind === 'anonymous' ? 'anonymous clients' : 'patterns';
}

function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

const joinLines = (lines: string[]): string => (lines.length === 0 ? '' : lines.join('\n') + '\n');

function inTarget(rule: AclRule, target: AclTarget): boolean {
  if (target.kind === 'pattern') return rule.kind === 'pattern';
  if (rule.kind !== 'topic') return false;
  return target.kind === 'anonymous' ? rule.user === null : rule.user === target.user;
}

/** The line a new rule for `target` is written as. */
export function ruleLine(target: AclTarget, access: AclAccess, filter: string): string {
  return `${target.kind === 'pattern' ? 'pattern' : 'topic'} ${access} ${filter}`;
}

/**
 * Adds `access filter` for `target` and returns the new text and the new line's number.
 * Anonymous rules go after the last anonymous line (or before the first `user` line, the
 * only place Mosquitto reads them); a user's go at the end of that user's last section (a new
 * section at the end of the file when there is none); patterns after the last pattern.
 */
export function addAclRule(text: string, target: AclTarget, access: AclAccess, filter: string): { text: string; line: number; existing: AclRule | null } {
  const problem = filterProblem(filter);
  if (problem) throw new AclEditError(`invalid topic filter '${filter}': ${problem}`);
  if (/\s$|^\s/.test(filter)) throw new AclEditError(`topic filter '${filter}' starts or ends with white space, which Mosquitto trims`);
  if (target.kind === 'user') {
    if (target.user.trim() !== target.user || target.user === '') throw new AclEditError(`user name '${target.user}' is empty or has leading or trailing white space, which Mosquitto trims`);
  }
  const parsed = parseAclFile(text);
  const existing = parsed.rules.find((rule) => inTarget(rule, target) && rule.access === access && rule.filter === filter) ?? null;
  if (existing) return { text, line: existing.line, existing };
  const lines = splitLines(text);
  const newLine = ruleLine(target, access, filter);
  let at: number; // 0-based index to insert before
  if (target.kind === 'pattern') {
    const last = parsed.rules.filter((rule) => rule.kind === 'pattern').pop();
    at = last ? last.line : lines.length;
  } else if (target.kind === 'anonymous') {
    const last = parsed.rules.filter((rule) => rule.kind === 'topic' && rule.user === null).pop();
    const firstUser = parsed.users[0];
    at = last ? last.line : firstUser ? firstUser.line - 1 : lines.length;
  } else {
    const sections = parsed.users.filter((entry) => entry.user === target.user);
    const section = sections[sections.length - 1];
    if (!section) {
      const block = [`user ${target.user}`, newLine];
      if (lines.length > 0 && lines[lines.length - 1].trim() !== '') block.unshift('');
      const out = [...lines, ...block];
      return { text: joinLines(out), line: out.length, existing: null };
    }
    const nextUser = parsed.users.find((entry) => entry.line > section.line);
    const end = nextUser ? nextUser.line - 1 : lines.length;
    const last = parsed.rules.filter((rule) => rule.kind === 'topic' && rule.line > section.line && rule.line <= end).pop();
    at = last ? last.line : section.line;
  }
  // The first anonymous line, put before the first `user` line, gets a blank line after it.
  const spacer = target.kind === 'anonymous' && /^user /.test(lines[at] ?? '') ? [''] : [];
  const out = [...lines.slice(0, at), newLine, ...spacer, ...lines.slice(at)];
  return { text: joinLines(out), line: at + 1, existing: null };
}

/**
 * Removes the rules for `target` with this filter (and this access, when given). Returns the
 * new text and the removed rules; throws when nothing matched, so a typo is never silent.
 */
export function removeAclRule(text: string, target: AclTarget, filter: string, access?: AclAccess): { text: string; removed: AclRule[] } {
  const parsed = parseAclFile(text);
  const removed = parsed.rules.filter((rule) => inTarget(rule, target) && rule.filter === filter && (access === undefined || rule.access === access));
  if (removed.length === 0) {
    throw new AclEditError(`no ${access ? `'${access}' ` : ''}rule for '${filter}' in the ${describeTarget(target)} section`);
  }
  const drop = new Set(removed.map((rule) => rule.line));
  const lines = splitLines(text).filter((_, index) => !drop.has(index + 1));
  return { text: joinLines(lines), removed };
}
