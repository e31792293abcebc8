// `mqx acl`: edit (add, remove), show (list), test (check) and lint a Mosquitto ACL file.
// All ACL semantics live in src/auth; this module turns them into clear text and exit codes.

import type { Argv, CommandModule } from 'yargs';
import { CliError, UsageError } from './errors.js';
import { palette, processOutput } from './output.js';
import type { Output, Palette } from './output.js';
import {
  AclEditError, AuthFileError, addAclRule, filterProblem, checkAccess, checkSubscribe, describeTarget, evaluationOrder, lintAcl,
  loadAcl, parsePasswordFile, readTextFile, removeAclRule, topicMatches, writeFileAtomic,
} from '../auth/index.js';
import type { Acl, AclAccess, AclClient, AclDecision, AclProblem, AclRule, AclTarget } from '../auth/index.js';

const ACTIONS = ['add', 'remove', 'list', 'check', 'lint'] as const;
type Action = (typeof ACTIONS)[number];
const ACCESS: readonly string[] = ['read', 'write', 'readwrite', 'deny'];

export interface AclIo {
  out: Output;
  env: NodeJS.ProcessEnv;
}

function lastValue(value: unknown): string | undefined {
  const item = Array.isArray(value) ? value[value.length - 1] : value;
  return item === undefined || item === false ? undefined : String(item);
}

function fail(error: unknown): never {
  if (error instanceof AuthFileError || error instanceof AclEditError) throw new CliError(`Error: ${error.message}.`, 1);
  throw error;
}

function readAcl(path: string, missingOk: boolean): string | null {
  try { return readTextFile(path, 'ACL file', missingOk); } catch (error) { fail(error); }
}

function readPasswordText(path: string): string {
  try { return readTextFile(path, 'password file')!; } catch (error) { fail(error); }
}

function writeAcl(path: string, text: string): void {
  try { writeFileAtomic(path, text, 'ACL file'); } catch (error) { fail(error); }
}

/** --user U / --anonymous / --pattern: exactly one says whose rule it is. */
function targetOf(argv: Record<string, unknown>): AclTarget {
  const user = lastValue(argv.user);
  const chosen = [user !== undefined, Boolean(argv.anonymous), Boolean(argv.pattern)].filter(Boolean).length;
  if (chosen !== 1) throw new UsageError('Error: say whose rule it is with exactly one of --user NAME, --anonymous or --pattern.');
  if (user !== undefined) return { kind: 'user', user };
  return argv.anonymous ? { kind: 'anonymous' } : { kind: 'pattern' };
}

function accessOf(word: string): AclAccess {
  if (!ACCESS.includes(word)) throw new UsageError(`Error: unknown access '${word}' (expected read, write, readwrite or deny).`);
  return word as AclAccess;
}

const where = (rule: { file: string; line: number }): string => `${rule.file}:${rule.line}`;

/** Tells the user, once, that Mosquitto would refuse this file. */
function warnIfBroken(io: AclIo, path: string, problems: AclProblem[]): void {
  const errors = problems.filter((problem) => problem.severity === 'error');
  if (errors.length === 0) return;
  const first = errors[0];
  io.out.stderr.write(`Warning: ${path} has ${errors.length} error${errors.length > 1 ? 's' : ''} Mosquitto refuses to start with (first: line ${first.line}: ${first.message}); run 'mqx acl lint'.\n`);
}

function runAdd(args: string[], argv: Record<string, unknown>, path: string, io: AclIo): void {
  if (args.length !== 2) throw new UsageError('Error: usage: mqx acl add (--user NAME | --anonymous | --pattern) read|write|readwrite|deny TOPIC');
  const target = targetOf(argv);
  const access = accessOf(args[0]);
  const text = readAcl(path, true) ?? '';
  let result;
  try { result = addAclRule(text, target, access, args[1]); } catch (error) { fail(error); }
  if (result.existing) {
    io.out.stdout.write(`Already there: ${path}:${result.line}: ${result.existing.text} (file unchanged)\n`);
    return;
  }
  writeAcl(path, result.text);
  io.out.stdout.write(`Added ${path}:${result.line}: ${target.kind === 'pattern' ? 'pattern' : 'topic'} ${access} ${args[1]} (${describeTarget(target)})\n`);
  if (target.kind === 'pattern' && !/%[cu]/.test(args[1])) io.out.stderr.write('Warning: this pattern has no %c or %u, so it applies the same to every client.\n');
  warnIfBroken(io, path, loadAcl(result.text, path).problems);
}

function runRemove(args: string[], argv: Record<string, unknown>, path: string, io: AclIo): void {
  if (args.length < 1 || args.length > 2) throw new UsageError('Error: usage: mqx acl remove (--user NAME | --anonymous | --pattern) [read|write|readwrite|deny] TOPIC');
  const target = targetOf(argv);
  const access = args.length === 2 ? accessOf(args[0]) : undefined;
  const text = readAcl(path, false)!;
  let result;
  try { result = removeAclRule(text, target, args[args.length - 1], access); } catch (error) { fail(error); }
  writeAcl(path, result.text);
  for (const rule of result.removed) io.out.stdout.write(`Removed ${where(rule)}: ${rule.text}\n`);
}

const pad = (text: string, width: number): string => text + ' '.repeat(Math.max(1, width - text.length));

async function runList(argv: Record<string, unknown>, path: string, io: AclIo): Promise<void> {
  const text = readAcl(path, false)!;
  const { acl, problems } = loadAcl(text, path);
  const only = lastValue(argv.user);
  const sections: { title: string; rules: AclRule[] }[] = [];
  const anonymous = acl.rules.filter((rule) => rule.kind === 'topic' && rule.user === null);
  if (anonymous.length > 0 && only === undefined) sections.push({ title: "anonymous clients (the lines before the first 'user' line)", rules: anonymous });
  const names = [...new Set(acl.rules.filter((rule) => rule.kind === 'topic' && rule.user !== null).map((rule) => rule.user!))];
  for (const name of names) {
    if (only !== undefined && name !== only) continue;
    sections.push({ title: `user ${name}`, rules: acl.rules.filter((rule) => rule.kind === 'topic' && rule.user === name) });
  }
  const patterns = acl.rules.filter((rule) => rule.kind === 'pattern');
  if (patterns.length > 0) sections.push({ title: 'patterns (every client; %c = client id, %u = user name)', rules: patterns });
  if (argv.json) {
    io.out.stdout.write(JSON.stringify({ file: path, sections: sections.map((s) => ({ title: s.title, rules: s.rules.map((r) => ({ line: r.line, kind: r.kind, access: r.access, filter: r.filter, user: r.user })) })), problems }) + '\n');
    return;
  }
  const paint = await palette(io.out);
  const users = names.length;
  io.out.stdout.write(`${path}: ${acl.rules.length} rule${acl.rules.length === 1 ? '' : 's'} (anonymous ${anonymous.length}, ${users} user${users === 1 ? '' : 's'}, patterns ${patterns.length}); deny lines are checked first in each section\n`);
  if (only !== undefined && sections.every((s) => !s.title.startsWith('user '))) {
    io.out.stdout.write(`\nuser ${only} has no section: only the patterns apply to it\n`);
  }
  for (const section of sections) {
    io.out.stdout.write(`\n${paint.bold(section.title)}\n`);
    for (const rule of section.rules) {
      const access = rule.access === 'deny' ? paint.error(pad(rule.access, 10)) : pad(rule.access, 10);
      io.out.stdout.write(`  ${String(rule.line).padStart(4)}  ${access} ${paint.topic(rule.filter)}\n`);
    }
  }
  warnIfBroken(io, path, problems);
}

function clientOf(args: string[], argv: Record<string, unknown>): { client: AclClient; action: string; topic: string; defaulted: boolean } {
  const anonymous = Boolean(argv.anonymous);
  const wanted = anonymous ? 2 : 3;
  if (args.length !== wanted) {
    throw new UsageError(`Error: usage: mqx acl check ${anonymous ? '--anonymous' : 'USER'} read|write|subscribe TOPIC [--client-id ID]`);
  }
  const [username, action, topic] = anonymous ? [null, args[0], args[1]] : [args[0], args[1], args[2]];
  if (!['read', 'write', 'subscribe'].includes(action)) throw new UsageError(`Error: unknown action '${action}' (expected read, write or subscribe).`);
  if (topic === '') throw new UsageError('Error: the topic is empty.');
  const invalid = action === 'subscribe' ? filterProblem(topic) : null;
  if (invalid) throw new UsageError(`Error: invalid subscription filter '${topic}': ${invalid}.`);
  if (action !== 'subscribe' && /[+#]/.test(topic)) {
    throw new UsageError(`Error: '${topic}' has wildcards; read and write are checked for one topic (use 'subscribe' for a filter).`);
  }
  const given = lastValue(argv['client-id']);
  return { client: { username, clientId: given ?? username ?? 'anonymous' }, action, topic, defaulted: given === undefined };
}

function describeClient(client: AclClient, defaulted: boolean): string {
  const name = client.username == null ? 'anonymous client' : `user '${client.username}'`;
  return `${name} (client id '${client.clientId}'${defaulted ? ' by default; --client-id to change' : ''})`;
}

function ruleLine(decision: AclDecision): string {
  return decision.rule ? `${where(decision.rule)}: ${decision.rule.text}` : 'no line of the file decided this';
}

function explain(io: AclIo, paint: Palette, acl: Acl, client: AclClient, action: string, topic: string, decision: AclDecision): void {
  const steps = evaluationOrder(acl, client);
  io.out.stdout.write(`  evaluation order for this client (deny lines first in each section):\n`);
  if (steps.length === 0) io.out.stdout.write('    (no lines apply)\n');
  for (const step of steps) {
    const matched = action !== 'subscribe' && topicMatches(step.filter, topic);
    const decided = decision.rule !== null && decision.rule.line === step.rule.line;
    const mark = decided ? '=>' : matched ? ' ~' : '  ';
    const shown = step.filter === step.rule.filter ? '' : paint.dim(`  (as ${step.filter})`);
    io.out.stdout.write(`   ${mark} ${String(step.rule.line).padStart(4)}  ${pad(step.rule.kind, 8)}${pad(step.rule.access, 10)} ${step.rule.filter}${shown}\n`);
  }
}

async function runCheck(args: string[], argv: Record<string, unknown>, path: string, io: AclIo): Promise<void> {
  const { client, action, topic, defaulted } = clientOf(args, argv);
  const text = readAcl(path, false)!;
  const { acl, problems } = loadAcl(text, path);
  const strictSubscribe = Boolean(argv['acl-check-subscribe']);
  let decision = checkAccess(acl, client, action as 'read' | 'write' | 'subscribe', topic);
  const passwordFile = lastValue(argv['password-file']);
  if (passwordFile !== undefined && client.username != null) {
    // The broker refuses the connection before any ACL is consulted.
    const users = parsePasswordFile(readPasswordText(passwordFile)).users;
    if (!users.has(client.username)) {
      decision = { allowed: false, rule: null, reason: `user '${client.username}' has no valid entry in ${passwordFile}, so the broker refuses its connection` };
    }
  }
  const subscribe = action === 'subscribe' ? checkSubscribe(acl, client, topic) : null;
  const final = strictSubscribe && subscribe && decision.allowed ? subscribe : decision;
  if (argv.json) {
    io.out.stdout.write(JSON.stringify({ file: path, client, action, topic, allowed: final.allowed, rule: final.rule, reason: final.reason, ...(subscribe ? { mosquitto: decision, aclCheckSubscribe: subscribe } : {}) }) + '\n');
  } else {
    const paint = await palette(io.out);
    const verdict = final.allowed ? paint.good('allow') : paint.error('deny');
    const may = final.allowed ? 'may' : 'may not';
    io.out.stdout.write(`${verdict}: ${describeClient(client, defaulted)} ${may} ${action} '${paint.topic(topic)}'\n`);
    io.out.stdout.write(`  ${ruleLine(final)}\n  ${final.reason}\n`);
    if (subscribe) {
      const note = strictSubscribe ? 'Mosquitto itself would accept the SUBSCRIBE' : `with acl_check_subscribe true (mqx), the SUBSCRIBE would be ${subscribe.allowed ? 'accepted' : 'refused'}`;
      io.out.stdout.write(`  ${note}: ${strictSubscribe ? decision.reason : `${subscribe.reason}${subscribe.rule ? ` (${where(subscribe.rule)})` : ''}`}\n`);
    }
    if (argv.explain) explain(io, paint, acl, client, action, topic, final);
  }
  warnIfBroken(io, path, problems);
  if (!final.allowed) throw new CliError('', 1);
}

async function runLint(argv: Record<string, unknown>, path: string, io: AclIo): Promise<void> {
  const text = readAcl(path, false)!;
  const passwordFile = lastValue(argv['password-file']);
  const knownUsers = passwordFile === undefined ? undefined : parsePasswordFile(readPasswordText(passwordFile)).users;
  const problems = lintAcl(text, path, { knownUsers });
  const errors = problems.filter((problem) => problem.severity === 'error').length;
  const warnings = problems.length - errors;
  if (argv.json) {
    io.out.stdout.write(JSON.stringify({ file: path, errors, warnings, problems }) + '\n');
  } else {
    const paint = await palette(io.out);
    const lines = text.split('\n');
    for (const problem of problems) {
      const label = problem.severity === 'error' ? paint.error('error') : paint.bold('warning');
      io.out.stdout.write(`${where(problem)}: ${label}: ${problem.message}\n`);
      io.out.stdout.write(paint.dim(`    ${lines[problem.line - 1] ?? ''}\n`));
    }
    const summary = problems.length === 0 ? 'no problems found' : `${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}`;
    io.out.stdout.write(`${path}: ${summary}${errors > 0 ? ' (Mosquitto refuses to start with this file)' : ''}\n`);
  }
  if (errors > 0) throw new CliError('', 1);
}

export async function runAcl(argv: Record<string, unknown>, io: AclIo): Promise<void> {
  const action = String(argv.action) as Action;
  const args = [...((argv.args as unknown[] | undefined) ?? []), ...((argv._ as unknown[] | undefined) ?? []).slice(1)].map(String);
  const path = lastValue(argv.file) ?? (io.env.MQX_ACL_FILE || './acl');
  switch (action) {
    case 'add': return runAdd(args, argv, path, io);
    case 'remove': return runRemove(args, argv, path, io);
    case 'list':
      if (args.length > 0) throw new UsageError('Error: mqx acl list takes no arguments (use --user NAME to show one user).');
      return runList(argv, path, io);
    case 'check': return runCheck(args, argv, path, io);
    case 'lint':
      if (args.length > 0) throw new UsageError('Error: mqx acl lint takes no arguments (the file is --file).');
      return runLint(argv, path, io);
  }
}

function builder(yargs: Argv): Argv {
  return yargs
    .usage('Usage: mqx acl add (--user NAME | --anonymous | --pattern) read|write|readwrite|deny TOPIC\n' +
      '       mqx acl remove (--user NAME | --anonymous | --pattern) [ACCESS] TOPIC\n' +
      '       mqx acl list [--user NAME]\n' +
      '       mqx acl check (USER | --anonymous) read|write|subscribe TOPIC [--client-id ID] [--explain]\n' +
      '       mqx acl lint\n\n' +
      'Edit, show, test and lint a Mosquitto ACL file (acl_file), with mosquitto 2.0 semantics.\n' +
      'The file is --file, else $MQX_ACL_FILE, else ./acl. check exits 0 when allowed, 1 when denied;\n' +
      'lint exits 1 when the file has errors Mosquitto refuses to start with.')
    .positional('action', { choices: ACTIONS as unknown as string[], describe: 'what to do' })
    .positional('args', { type: 'string', array: true, describe: 'the action\'s arguments' })
    .option('file', { type: 'string', describe: 'ACL file (default $MQX_ACL_FILE, else ./acl)' })
    .option('user', { type: 'string', describe: 'add/remove: the user section; list: show one user' })
    .option('anonymous', { type: 'boolean', describe: 'add/remove: the anonymous section; check: a client without username' })
    .option('pattern', { type: 'boolean', describe: 'add/remove: a pattern line (%c client id, %u user name)' })
    .option('client-id', { alias: 'i', type: 'string', describe: 'check: the client id (default: the user name)' })
    .option('password-file', { type: 'string', describe: 'check: refuse a user missing from this password file, as the broker does; lint: warn about such users' })
    .option('explain', { type: 'boolean', describe: 'check: show every line in evaluation order' })
    .option('acl-check-subscribe', { type: 'boolean', describe: "check subscribe: decide as mqx's acl_check_subscribe does (refuse filters nothing can be read under)" })
    .option('json', { type: 'boolean', describe: 'list, check, lint: print JSON' })
    .example('mqx acl add --user bob write sensors/bob/#', "let bob publish under sensors/bob/")
    .example('mqx acl add --pattern readwrite clients/%c/#', 'every client owns clients/<its id>/')
    .example('mqx acl check bob write sensors/bob/t', 'allow or deny, and the line that decided')
    .example('mqx acl check --anonymous read \'$SYS/broker/uptime\' --explain', 'show the evaluation')
    .example('mqx acl lint --file /etc/mosquitto/acl', 'unreachable lines, bad filters, typos') as unknown as Argv;
}

export const command: CommandModule = {
  command: 'acl <action> [args..]',
  describe: 'edit, test and lint a Mosquitto ACL file',
  builder,
  handler: async (argv) => {
    await runAcl(argv as Record<string, unknown>, { out: processOutput({ json: Boolean(argv.json) }), env: process.env });
  },
};
