// All terminal presentation: the only importer of chalk, ora and cli-table3 (STYLE habit 13).
// Colour and spinners are used only on a TTY, never with NO_COLOR or --json, and load lazily
// so commands that never need them do not pay for importing them.

import type { Writable } from 'node:stream';

export interface Output {
  /** Raw bytes or text to stdout, exactly as given. */
  stdout: Writable;
  /** Raw text to stderr. */
  stderr: Writable;
  /** True when colour may be used on stdout. */
  readonly colour: boolean;
  /** True when a spinner may be drawn on stderr. */
  readonly interactive: boolean;
}

export interface OutputOptions {
  json?: boolean;
}

export function isTty(stream: Writable): boolean {
  return Boolean((stream as Writable & { isTTY?: boolean }).isTTY);
}

function colourAllowed(env: NodeJS.ProcessEnv): boolean {
  return env.NO_COLOR === undefined || env.NO_COLOR === '';
}

/** The process's own output: colour only on a terminal without NO_COLOR. */
export function processOutput(options: OutputOptions = {}, env: NodeJS.ProcessEnv = process.env): Output {
  const plain = options.json === true || !colourAllowed(env);
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    colour: !plain && isTty(process.stdout),
    interactive: !plain && isTty(process.stderr) && env.CI !== 'true',
  };
}

/** An output that writes to the given streams and never decorates: for tests and library use. */
export function plainOutput(stdout: Writable, stderr: Writable): Output {
  return { stdout, stderr, colour: false, interactive: false };
}

export interface Spinner {
  succeed(text?: string): void;
  fail(text?: string): void;
  stop(): void;
}

const noSpinner: Spinner = { succeed() {}, fail() {}, stop() {} };

/** A spinner on stderr while something slow happens; a no-op off a terminal. */
export async function startSpinner(out: Output, text: string): Promise<Spinner> {
  // ora redraws forever on a terminal that reports no width (e.g. the pty of script(1)).
  const columns = (out.stderr as NodeJS.WriteStream).columns;
  if (!out.interactive || !columns) return noSpinner;
  const { default: ora } = await import('ora');
  const spinner = ora({ text, stream: out.stderr as NodeJS.WriteStream, discardStdin: false }).start();
  return {
    succeed: (t) => { spinner.stop(); if (t) out.stderr.write(`${t}\n`); },
    fail: () => spinner.stop(),
    stop: () => spinner.stop(),
  };
}

export type Paint = (text: string) => string;
export interface Palette {
  topic: Paint;
  dim: Paint;
  error: Paint;
  good: Paint;
  bold: Paint;
}

const identity: Paint = (text) => text;
const plainPalette: Palette = { topic: identity, dim: identity, error: identity, good: identity, bold: identity };

/** Colours for the given output; identity functions when colour is off. */
export async function palette(out: Output): Promise<Palette> {
  if (!out.colour) return plainPalette;
  // The decision is ours (a TTY without NO_COLOR); chalk's own detection would also turn colour
  // off for CI=true terminals, so take its level only when it found more than basic colours.
  const { default: defaultChalk, Chalk } = await import('chalk');
  const chalk = new Chalk({ level: Math.max(defaultChalk.level, 1) as 1 | 2 | 3 });
  return { topic: chalk.cyan, dim: chalk.dim, error: chalk.red, good: chalk.green, bold: chalk.bold };
}

/** A table as text: cli-table3 on a terminal, tab-separated columns otherwise. */
export async function renderTable(out: Output, head: string[], rows: (string | number)[][]): Promise<string> {
  if (!out.colour) {
    return [head, ...rows].map((row) => row.join('\t')).join('\n') + '\n';
  }
  const { default: Table } = await import('cli-table3');
  const table = new Table({ head });
  for (const row of rows) table.push(row.map(String));
  return table.toString() + '\n';
}
