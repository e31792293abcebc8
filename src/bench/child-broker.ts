// Starts a broker command as a child process on a free loopback port ({port} in the command),
// waits until it accepts connections, and stops it by its PID. Never stops anything else.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { connect, createServer } from 'node:net';

export interface ChildBroker {
  port: number;
  pid: number;
  /** Everything it printed (stdout and stderr), for error messages. */
  output(): string;
  /** Resolves when the process has exited; `code` is its exit status. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

export class ChildBrokerError extends Error {}

/** A free TCP port on 127.0.0.1 (bound then released: another process may take it, hence retries). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Splits a command line on spaces, honouring single and double quotes (no other shell syntax),
 * and puts the port in for every {port}.
 */
export function commandArgs(command: string, port: number): string[] {
  const args: string[] = [];
  const pattern = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (let match = pattern.exec(command); match !== null; match = pattern.exec(command)) {
    args.push((match[1] ?? match[2] ?? match[3]!).replaceAll('{port}', String(port)));
  }
  return args;
}

/**
 * Runs `argv` (already split, {port} replaced) and waits up to `readyTimeoutMs` for the port to
 * accept TCP connections. Throws ChildBrokerError with the broker's own output when it exits first.
 */
export async function startChildBroker(argv: string[], port: number, readyTimeoutMs = 10000): Promise<ChildBroker> {
  if (argv.length === 0) throw new ChildBrokerError('empty broker command');
  let output = '';
  const child: ChildProcess = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  const collect = (chunk: Buffer) => { if (output.length < 64 * 1024) output += chunk.toString(); };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  let exitedNow = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => { exitedNow = true; resolve({ code, signal }); });
    child.once('error', (error) => { output += error.message; exitedNow = true; resolve({ code: null, signal: null }); });
  });
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (exitedNow) throw new ChildBrokerError(`broker command '${argv.join(' ')}' exited before listening: ${output.trim().split('\n').pop() ?? ''}`);
    if (await canConnect(port)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new ChildBrokerError(`broker command '${argv.join(' ')}' did not listen on port ${port} within ${readyTimeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    port,
    pid: child.pid!,
    output: () => output,
    exited,
    stop: async () => {
      if (exitedNow) return;
      // SIGTERM to this PID only; SIGKILL if it does not stop within 5 s.
      child.kill('SIGTERM');
      const timer = setTimeout(() => { if (!exitedNow) child.kill('SIGKILL'); }, 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Starts a command with {port} on a fresh free port, retrying when the port was taken meanwhile. */
export async function startBrokerCommand(command: string | string[], resolveProgram: (args: string[]) => string[] = (a) => a): Promise<ChildBroker> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const args = typeof command === 'string' ? commandArgs(command, port) : command.map((arg) => arg.replaceAll('{port}', String(port)));
    try {
      return await startChildBroker(resolveProgram(args), port);
    } catch (error) {
      lastError = error;
      if (!(error instanceof ChildBrokerError) || !/in use/i.test(error.message)) throw error;
    }
  }
  throw lastError;
}
