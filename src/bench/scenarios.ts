// The pub/sub scenario presets of `mqx bench` with no mode: who publishes where and who
// subscribes to what, as topic templates and client counts. Pure data.

import type { ScenarioName } from './types.js';

export interface ScenarioShape {
  publishers: number;
  subscribers: number;
  pubTopic: string;
  subTopic: string;
  /** One line for --help and reports. */
  describe: string;
}

export const SCENARIOS: readonly ScenarioName[] = ['p2p', 'fan-in', 'fan-out'];

/** The shape of a scenario with `clients` (-c) on the many side. */
export function scenarioShape(name: ScenarioName, clients: number, topicRoot = 'mqx/bench'): ScenarioShape {
  switch (name) {
    case 'p2p':
      return { publishers: clients, subscribers: clients, pubTopic: `${topicRoot}/%i`, subTopic: `${topicRoot}/%i`, describe: `${clients} publisher-subscriber pairs, one topic each` };
    case 'fan-in':
      return { publishers: clients, subscribers: 1, pubTopic: `${topicRoot}/%i`, subTopic: `${topicRoot}/+`, describe: `${clients} publishers, one subscriber to all their topics` };
    case 'fan-out':
      return { publishers: 1, subscribers: clients, pubTopic: `${topicRoot}/all`, subTopic: `${topicRoot}/all`, describe: `one publisher, ${clients} subscribers to its topic` };
  }
}
