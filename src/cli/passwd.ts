// `mqx passwd`: mosquitto_passwd's own usage, messages and exit statuses, plus subcommands
// (add, delete, list, verify) on `--file`. File formats live in src/auth; this only talks.

import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { Argv, CommandModule } from 'yargs';
import { CliError, UsageError } from './errors.js';
import { processOutput } from './output.js';
import type { Output } from './output.js';
import {
  AuthFileError, authenticate, deleteUser, hashPlainPasswords, listUsers, newPasswordFile, parsePasswordFile,
  readTextFile, serialisePasswordFile, setPassword, usernameProblem, writeFileAtomic, DEFAULT_ITERATIONS,
} from '../auth/index.js';
import type { HashType, ParsedPasswordFile, PasswordFile } from '../auth/index.js';

const SUBCOMMANDS = ['add', 'delete', 'list', 'verify'] as const;
/** New password files are private: they hold hashes. An existing file keeps its mode. */
const NEW_FILE_MODE = 0o600;

export const MOSQUITTO_USAGE = `mqx passwd is a tool for managing password files for mosquitto (a drop-in for mosquitto_passwd).

Usage: mosquitto_passwd [-H sha512 | -H sha512-pbkdf2] [-c | -D] passwordfile username
       mosquitto_passwd [-H sha512 | -H sha512-pbkdf2] [-c] -b passwordfile username password
       mosquitto_passwd -U passwordfile
 -b : run in batch mode to allow passing passwords on the command line.
 -c : create a new password file. This will overwrite existing files.
 -D : delete the username rather than adding/updating its password.
 -H : specify the hashing algorithm. Defaults to sha512-pbkdf2, which is recommended.
      Mosquitto 1.6 and earlier defaulted to sha512.
 -U : update a plain text password file to use hashed passwords.

See https://mosquitto.org/ for more information.

`.replace(/mosquitto_passwd \[/g, 'mqx passwd [').replace(/mosquitto_passwd -U/, 'mqx passwd -U');

export interface PasswdIo {
  out: Output;
  input: Readable;
  /** True when passwords are typed: prompt without echo. Otherwise read lines. */
  inputIsTty: boolean;
  env: NodeJS.ProcessEnv;
}

/** Reads passwords from a terminal (no echo) or line by line from a pipe, as mosquitto_passwd. */
class PasswordReader {
  private lines: AsyncIterator<string> | null = null;
  constructor(private readonly io: PasswdIo) {}

  /** One password, or null on an empty line or end of input. */
  async read(prompt: string): Promise<string | null> {
    // Echo goes off before the prompt appears, so nothing typed early is shown.
    if (this.io.inputIsTty) (this.io.input as NodeJS.ReadStream).setRawMode?.(true);
    this.io.out.stdout.write(prompt);
    const text = this.io.inputIsTty ? await this.readHidden() : await this.readLine();
    if (text === null || text === '') return null;
    this.io.out.stdout.write('\n');
    return text;
  }

  private async readLine(): Promise<string | null> {
    this.lines ??= createInterface({ input: this.io.input, crlfDelay: Infinity })[Symbol.asyncIterator]();
    const next = await this.lines.next();
    return next.done ? null : next.value.replace(/[\r\n]+$/, '');
  }

  private readHidden(): Promise<string | null> {
    const input = this.io.input as NodeJS.ReadStream;
    return new Promise((resolve, reject) => {
      let text = '';
      const finish = (value: string | null, error?: CliError) => {
        input.off('data', onData);
        input.setRawMode?.(false);
        input.pause();
        if (error) reject(error); else resolve(value);
      };
      const onData = (chunk: Buffer) => {
        for (const ch of chunk.toString('utf8')) {
          if (ch === '\r' || ch === '\n') return finish(text);
          if (ch === '\u0003') { this.io.out.stdout.write('\n'); return finish(null, new CliError('', 130)); }
          if (ch === '\u0004') return finish(text === '' ? null : text);
          if (ch === '\u007f' || ch === '\b') text = [...text].slice(0, -1).join('');
          else text += ch;
        }
      };
      input.setRawMode?.(true);
      input.on('data', onData);
      input.resume();
    });
  }
}

/** Asks twice like mosquitto_passwd: exit 1 on an empty password, 2 when they differ. */
async function askNewPassword(reader: PasswordReader): Promise<string> {
  const first = await reader.read('Password: ');
  if (first === null) throw new CliError('Error: Empty password.', 1);
  const second = await reader.read('Reenter password: ');
  if (second === null) throw new CliError('Error: Empty password.', 1);
  if (first !== second) throw new CliError('Error: Passwords do not match.', 2);
  return first;
}

function readFileOrNull(path: string): string | null {
  try {
    return readTextFile(path, 'password file', true);
  } catch (error) {
    if (error instanceof AuthFileError) throw new CliError(`Error: ${error.message}.`, 1);
    throw error;
  }
}

function write(path: string, file: PasswordFile): void {
  try {
    writeFileAtomic(path, serialisePasswordFile(file), 'password file', NEW_FILE_MODE);
  } catch (error) {
    if (error instanceof AuthFileError) throw new CliError(`Error: ${error.message}.`, 1);
    throw error;
  }
}

/** Reports what is wrong in the file (kept as is) on stderr, one line each. */
function reportProblems(io: PasswdIo, path: string, parsed: ParsedPasswordFile): void {
  for (const problem of parsed.problems) {
    io.out.stderr.write(`Warning: ${path}:${problem.line}: ${problem.message} (line kept as is).\n`);
  }
}

function lastValue(value: unknown): string | undefined {
  const item = Array.isArray(value) ? value[value.length - 1] : value;
  return item === undefined || item === false ? undefined : String(item);
}

function checkUsername(username: string): void {
  const problem = usernameProblem(username);
  if (problem) throw new CliError(`Error: ${problem}`, 1);
}

/** mosquitto_passwd's option rules and messages, in its order. */
function hashOptions(argv: Record<string, unknown>): { type: HashType; iterations: number } {
  let type: HashType = 'sha512-pbkdf2';
  const hash = lastValue(argv.H);
  if (argv.H !== undefined) {
    if (hash === undefined || hash === '') throw new CliError('Error: -H argument given but not enough other arguments.', 1);
    if (hash === 'sha512') type = 'sha512';
    else if (hash !== 'sha512-pbkdf2') throw new CliError(`Error: Unknown hash type '${hash}'`, 1);
  }
  let iterations = DEFAULT_ITERATIONS;
  if (argv.I !== undefined) {
    const text = lastValue(argv.I);
    if (text === undefined || text === '') throw new CliError('Error: -I argument given but not enough other arguments.', 1);
    const match = /^\s*([+-]?\d+)/.exec(text);
    iterations = match ? Number.parseInt(match[1], 10) : 0;
    if (!(iterations >= 1)) throw new CliError('Error: Number of iterations must be > 0.', 1);
  }
  return { type, iterations };
}

/** The mosquitto_passwd form: `[-H h] [-I n] [-c|-D] [-b] FILE USER [PASSWORD]`, `-U FILE`. */
async function runMosquittoForm(argv: Record<string, unknown>, args: string[], io: PasswdIo): Promise<void> {
  const create = Boolean(argv.c);
  const del = Boolean(argv.D);
  const batch = Boolean(argv.b);
  const update = Boolean(argv.U);
  if (args.length === 0 && !create && !del && !batch && !update && argv.H === undefined && argv.I === undefined) {
    io.out.stdout.write(MOSQUITTO_USAGE);
    throw new CliError('', 1);
  }
  const { type, iterations } = hashOptions(argv);
  if (create && del) throw new CliError('Error: -c and -D cannot be used together.', 1);
  if (create && update) throw new CliError('Error: -c and -U cannot be used together.', 1);
  if (del && update) throw new CliError('Error: -D and -U cannot be used together.', 1);
  if (del && batch) throw new CliError('Error: -b and -D cannot be used together.', 1);
  let [path, username, password] = args as [string, string | undefined, string | undefined];
  if (create) {
    if (batch && args.length < 3) throw new CliError('Error: -c argument given but password file, username, or password missing.', 1);
    if (!batch && args.length < 2) throw new CliError('Error: -c argument given but password file or username missing.', 1);
  } else if (del) {
    if (args.length < 2) throw new CliError('Error: -D argument given but password file or username missing.', 1);
  } else if (update) {
    if (args.length !== 1) throw new CliError('Error: -U argument given but password file missing.', 1);
  } else if (!((batch && args.length === 3) || (!batch && args.length === 2))) {
    io.out.stdout.write(MOSQUITTO_USAGE);
    throw new CliError('', 1);
  }
  if (username !== undefined) checkUsername(username);
  if (password !== undefined && Buffer.byteLength(password) > 65535) throw new CliError('Error: Password must be less than 65536 characters long.', 1);
  const reader = new PasswordReader(io);

  if (create) {
    if (!batch) password = await askNewPassword(reader);
    write(path, newPasswordFile(username!, password!, type, iterations));
    return;
  }
  const text = readFileOrNull(path);
  if (text === null) throw new CliError(`Error: Unable to open password file ${path}. No such file or directory.`, 1);
  const parsed = parsePasswordFile(text);
  if (del) {
    const { file, removed } = deleteUser(parsed.file, username!);
    if (!removed) throw new CliError(`Warning: User ${username} not found in password file.`, 1);
    write(path, file);
    return;
  }
  if (update) {
    const { file } = hashPlainPasswords(parsed.file, type, iterations);
    reportProblems(io, path, parsePasswordFile(serialisePasswordFile(file)));
    write(path, file);
    return;
  }
  if (!batch) password = await askNewPassword(reader);
  reportProblems(io, path, parsed);
  write(path, setPassword(parsed.file, username!, password!, type, iterations).file);
}

/** The subcommand form: `add|delete|list|verify` on `--file` ($MQX_PASSWORD_FILE, ./passwd). */
async function runSubcommand(argv: Record<string, unknown>, args: string[], io: PasswdIo): Promise<void> {
  const [sub, username, password, ...extra] = args;
  const path = lastValue(argv.file) ?? (io.env.MQX_PASSWORD_FILE || './passwd');
  const wanted = sub === 'list' ? 0 : 1;
  const optional = sub === 'add' || sub === 'verify' ? 1 : 0;
  const given = args.length - 1;
  if (given < wanted) throw new UsageError(`Error: 'mqx passwd ${sub}' needs a user name.`);
  if (given > wanted + optional || extra.length > 0) throw new UsageError(`Error: too many arguments for 'mqx passwd ${sub}'.`);
  if (argv.c || argv.D || argv.b || argv.U) throw new UsageError(`Error: -c, -D, -b and -U belong to the mosquitto_passwd form, not to 'mqx passwd ${sub}'.`);
  const reader = new PasswordReader(io);
  const text = readFileOrNull(path);
  const parsed = parsePasswordFile(text ?? '');

  if (sub === 'add') {
    checkUsername(username);
    const { type, iterations } = hashOptions(argv);
    let secret = password;
    if (secret === undefined) {
      if (io.inputIsTty) secret = await askNewPassword(reader);
      else {
        const line = await reader.read('');
        if (line === null) throw new CliError('Error: Empty password.', 1);
        secret = line;
      }
    }
    if (secret === '') throw new CliError('Error: Empty password.', 1);
    reportProblems(io, path, parsed);
    const { file, existed } = setPassword(parsed.file, username, secret, type, iterations);
    write(path, file);
    io.out.stdout.write(`${existed ? 'Updated the password of' : 'Added'} user ${username} ${existed ? 'in' : 'to'} ${path}\n`);
    return;
  }
  if (text === null) throw new CliError(`Error: Unable to open password file ${path}. No such file or directory.`, 1);
  if (sub === 'delete') {
    const { file, removed } = deleteUser(parsed.file, username);
    if (!removed) throw new CliError(`Warning: User ${username} not found in password file.`, 1);
    write(path, file);
    io.out.stdout.write(`Deleted user ${username} from ${path}\n`);
    return;
  }
  if (sub === 'list') {
    reportProblems(io, path, parsed);
    if (argv.json) {
      const users = parsed.file.lines.filter((line) => line.kind === 'entry').map((line) => ({
        user: line.username, line: line.lineNumber, hash: line.hash!.type, iterations: line.hash!.iterations || undefined,
      }));
      io.out.stdout.write(JSON.stringify({ file: path, users, problems: parsed.problems }) + '\n');
      return;
    }
    for (const user of listUsers(parsed.file)) io.out.stdout.write(`${user}\n`);
    return;
  }
  // verify
  let secret = password;
  if (secret === undefined) {
    secret = (await reader.read(io.inputIsTty ? 'Password: ' : '')) ?? '';
  }
  const decision = authenticate(parsed.users, username, secret);
  if (decision.result === 'accepted') {
    io.out.stdout.write(`ok: the password of user ${username} matches (${path})\n`);
    return;
  }
  const known = parsed.users.has(username);
  throw new CliError(known ? `mismatch: that is not the password of user ${username} (${path})` : `unknown user: ${username} has no valid entry in ${path}`, 1);
}

export async function runPasswd(argv: Record<string, unknown>, io: PasswdIo): Promise<void> {
  // Words after `--` land in argv._ (after the command name): they are arguments too.
  const rest = ((argv._ as unknown[] | undefined) ?? []).slice(1);
  const args = [...((argv.args as unknown[] | undefined) ?? []), ...rest].map(String);
  if (args.length > 0 && (SUBCOMMANDS as readonly string[]).includes(args[0])) {
    await runSubcommand(argv, args, io);
  } else {
    if (argv.file !== undefined) throw new UsageError('Error: --file goes with the subcommands (add, delete, list, verify); the mosquitto_passwd form takes the file as its first argument.');
    await runMosquittoForm(argv, args, io);
  }
}

function builder(yargs: Argv): Argv {
  return yargs
    // mosquitto_passwd takes anything it does not know as the file name; so does mqx.
    .parserConfiguration({ 'unknown-options-as-args': true })
    .usage('Usage: mqx passwd [-H sha512|sha512-pbkdf2] [-I iterations] [-c | -D] FILE USER\n' +
      '       mqx passwd [-H sha512|sha512-pbkdf2] [-I iterations] [-c] -b FILE USER PASSWORD\n' +
      '       mqx passwd -U FILE\n' +
      '       mqx passwd add USER [PASSWORD] | delete USER | list | verify USER [PASSWORD] [--file FILE]\n\n' +
      'Manage a Mosquitto password file (mosquitto_passwd compatible). Without PASSWORD the password\n' +
      'is prompted for (twice, without echo) on a terminal, or read as lines from stdin.')
    .positional('args', { type: 'string', array: true, describe: 'FILE USER [PASSWORD], or a subcommand and its arguments' })
    .option('c', { type: 'boolean', describe: 'create a new password file, overwriting an existing one' })
    .option('D', { type: 'boolean', describe: 'delete the user' })
    .option('b', { type: 'boolean', describe: 'batch mode: the password is the third argument' })
    .option('U', { type: 'boolean', describe: 'hash the plain-text passwords of a file' })
    .option('H', { type: 'string', describe: 'hash: sha512-pbkdf2 (default) or sha512' })
    .option('I', { type: 'string', describe: `PBKDF2 iterations (default ${DEFAULT_ITERATIONS})` })
    .option('file', { type: 'string', describe: 'password file for the subcommands (default $MQX_PASSWORD_FILE, else ./passwd)' })
    .option('json', { type: 'boolean', describe: 'list: print JSON' })
    .example('mqx passwd -c /etc/mosquitto/passwd alice', 'new file with one user (prompts)')
    .example('mqx passwd -b /etc/mosquitto/passwd bob s3cret', 'add or update a user in a script')
    .example('mqx passwd add carol --file ./passwd', 'add a user (prompts)')
    .example('mqx passwd verify carol s3cret', 'exit 0 when the password matches') as unknown as Argv;
}

export const command: CommandModule = {
  command: 'passwd [args..]',
  describe: 'manage a Mosquitto password file (mosquitto_passwd compatible)',
  builder,
  handler: async (argv) => {
    const input = process.stdin;
    await runPasswd(argv as Record<string, unknown>, { out: processOutput({}), input, inputIsTty: Boolean(input.isTTY), env: process.env });
  },
};
