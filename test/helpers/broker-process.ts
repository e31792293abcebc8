// A broker (createBroker) in a child process, for tests with more sockets than one process may
// hold both ends of. Stopped by PID in t.after; stats() reads its connection, session and timer counts.

import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import type { TestContext } from 'node:test';
import type { BrokerOptions } from '../../src/broker/options.js';
import type { ChildStats } from './broker-child.js';

export interface BrokerProcess {
  port: number;
  child: ChildProcess;
  stats(): Promise<ChildStats>;
}

export async function startBrokerProcess(t: TestContext, options: Omit<BrokerOptions, 'logger' | 'authenticate' | 'authorize'>): Promise<BrokerProcess> {
  const child = fork(new URL('./broker-child.js', import.meta.url), [JSON.stringify(options)], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  t.after(() => new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) { resolve(); return; }
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => { clearTimeout(timer); resolve(); });
    if (child.connected) child.send({ cmd: 'close' });
    else child.kill('SIGTERM');
  }));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('broker child did not start within 15 s')), 15_000);
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`broker child exited (${code})`)); });
    child.once('message', (message: { cmd: string; port: number }) => { clearTimeout(timer); resolve(message.port); });
  });
  return {
    port,
    child,
    stats: () => new Promise<ChildStats>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('broker child did not answer stats within 10 s')), 10_000);
      child.once('message', (message: { cmd: string; stats: ChildStats }) => { clearTimeout(timer); resolve(message.stats); });
      child.send({ cmd: 'stats' });
    }),
  };
}
