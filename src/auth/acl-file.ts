// Mosquitto ACL files as text: parse with mosquitto 2.0's exact line rules (`aclfile__parse`)
// into rules and per-line problems, and build the per-user evaluation lists. Pure: no file IO.

import { filterProblem } from './topic-filter.js';

export type AclAccess = 'read' | 'write' | 'readwrite' | 'deny';

export interface AclRule {
  kind: 'topic' | 'pattern';
  access: AclAccess;
  /** The topic filter (for patterns, still holding %c / %u). */
  filter: string;
  /** The `user` section a `topic` line is in; null for the anonymous section and patterns. */
  user: string | null;
  /** False when the line gave no access word (so Mosquitto applied readwrite). */
  accessGiven: boolean;
  file: string;
  line: number;
  text: string;
}

export interface AclProblem {
  file: string;
  line: number;
  severity: 'error' | 'warning';
  message: string;
}

export interface AclUserLine {
  user: string;
  line: number;
}

export interface ParsedAclFile {
  file: string;
  /** Every topic and pattern line, in file order. */
  rules: AclRule[];
  /** Every `user` line, in file order. */
  users: AclUserLine[];
  problems: AclProblem[];
}

/**
 * The lists mosquitto 2.0 evaluates: per user (null = anonymous clients) and the patterns,
 * each with its `deny` lines moved to the front (`add__acl`: each deny is put at the head,
 * so they end up in reverse file order) and the rest in file order.
 */
export interface Acl {
  file: string;
  users: Map<string | null, AclRule[]>;
  patterns: AclRule[];
  rules: AclRule[];
}

const ACCESS_WORDS: readonly string[] = ['read', 'write', 'readwrite', 'deny'];

/** strtok(…, " ") step: the next space-separated token from `pos`, and where the rest starts. */
function nextToken(text: string, pos: number): { token: string; next: number } | null {
  while (pos < text.length && text[pos] === ' ') pos++;
  if (pos >= text.length) return null;
  const end = text.indexOf(' ', pos);
  if (end < 0) return { token: text.slice(pos), next: text.length };
  return { token: text.slice(pos, end), next: end + 1 };
}

const trimBlanks = (text: string): string => text.replace(/^[ \t\n\v\f\r]+|[ \t\n\v\f\r]+$/g, '');

/**
 * Parses ACL text. Mosquitto stops at the first bad line and refuses to start; mqx reports
 * every bad line (severity 'error') and keeps parsing, so a lint sees them all.
 */
export function parseAclFile(text: string, file = 'acl'): ParsedAclFile {
  const rules: AclRule[] = [];
  const users: AclUserLine[] = [];
  const problems: AclProblem[] = [];
  let user: string | null = null;
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  lines.forEach((rawLine, index) => {
    const line = index + 1;
    const error = (message: string) => problems.push({ file, line, severity: 'error', message });
    // Trailing whitespace is trimmed; `#` only in the first column starts a comment.
    const buf = rawLine.replace(/[ \t\n\v\f\r]+$/, '');
    if (buf.startsWith('#')) return;
    const first = nextToken(buf, 0);
    if (!first) return;
    if (first.token === 'topic' || first.token === 'pattern') {
      const second = nextToken(buf, first.next);
      if (!second) { error(`'${first.token}' needs a topic filter`); return; }
      let access = 'readwrite';
      let filter: string;
      let accessGiven = true;
      if (second.next < buf.length) {
        access = second.token;
        filter = trimBlanks(buf.slice(second.next));
      } else {
        filter = second.token;
        accessGiven = false;
      }
      if (!ACCESS_WORDS.includes(access)) {
        error(`unknown access type '${access}' (expected read, write, readwrite or deny)`);
        return;
      }
      const problem = filterProblem(filter);
      if (problem) {
        const hint = / #/.test(filter) ? " (a comment must start with '#' in the first column)" : '';
        error(`invalid topic filter '${filter}': ${problem}${hint}`);
        return;
      }
      rules.push({
        kind: first.token, access: access as AclAccess, filter, accessGiven,
        user: first.token === 'topic' ? user : null, file, line, text: buf,
      });
      return;
    }
    if (first.token === 'user') {
      const rest = first.next < buf.length ? trimBlanks(buf.slice(first.next)) : '';
      if (rest === '') { error("'user' needs a user name"); return; }
      user = rest;
      users.push({ user, line });
      return;
    }
    const shown = first.token.length > 40 ? `${first.token.slice(0, 40)}…` : first.token;
    const tab = first.token.includes('\t') ? ' (Mosquitto separates words with spaces only, not tabs)'
      : ['topic', 'pattern', 'user'].includes(first.token.toLowerCase()) ? ' (keywords are lower case)' : '';
    error(`unknown keyword '${shown}' (expected topic, pattern or user; comments need '#' in the first column)${tab}`);
  });
  return { file, rules, users, problems };
}

/** Builds the evaluation lists from parsed rules (see `Acl`). */
export function compileAcl(parsed: ParsedAclFile): Acl {
  const users = new Map<string | null, AclRule[]>();
  const patterns: AclRule[] = [];
  const add = (list: AclRule[], rule: AclRule) => {
    if (rule.access === 'deny') list.unshift(rule);
    else list.push(rule);
  };
  for (const rule of parsed.rules) {
    if (rule.kind === 'pattern') { add(patterns, rule); continue; }
    let list = users.get(rule.user);
    if (!list) { list = []; users.set(rule.user, list); }
    add(list, rule);
  }
  return { file: parsed.file, users, patterns, rules: parsed.rules };
}

/** Parses and compiles; throws nothing, errors are in `problems`. */
export function loadAcl(text: string, file = 'acl'): { acl: Acl; problems: AclProblem[] } {
  const parsed = parseAclFile(text, file);
  return { acl: compileAcl(parsed), problems: parsed.problems };
}
