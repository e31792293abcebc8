// The list of subcommands, each loaded only when it runs, so `mqx pub` never loads the
// broker or the bench. Adding a command = one line here plus its module.

import type { CommandModule } from 'yargs';

export interface CommandEntry {
  name: string;
  aliases?: string[];
  describe: string;
  load: () => Promise<{ command: CommandModule<any, any> }>;
}

export const commands: CommandEntry[] = [
  { name: 'pub', aliases: ['publish'], describe: 'publish messages (drop-in for mosquitto_pub)', load: () => import('./pub.js') },
  { name: 'sub', aliases: ['subscribe'], describe: 'subscribe and print messages (drop-in for mosquitto_sub)', load: () => import('./sub.js') },
  { name: 'broker', describe: 'run an MQTT broker (like mosquitto)', load: () => import('./broker.js') },
  { name: 'passwd', describe: 'manage a Mosquitto password file (drop-in for mosquitto_passwd)', load: () => import('./passwd.js') },
  { name: 'acl', describe: 'edit, test (check) and lint a Mosquitto ACL file', load: () => import('./acl.js') },
  { name: 'bench', describe: 'measure a broker: connections, throughput, latency, losses (like emqtt-bench)', load: () => import('./bench.js') },
];

export function findCommand(name: string | undefined): CommandEntry | undefined {
  if (name === undefined) return undefined;
  return commands.find((entry) => entry.name === name || entry.aliases?.includes(name));
}
