// How a freshly started broker's CPU per connection changes as it accepts its first connections:
// mqx (a JIT runtime) pays for V8's warm-up at first, Mosquitto does not. Each broker is started
// anew per run, pinned to core 0 (this generator on core 1), and given `--chunks` chunks of
// `--chunk-size` connections (100 in flight); for each chunk it prints the connect rate and the
// broker's CPU per connection (from /proc, 10 ms ticks) and this generator's, median over
// `--repeat` interleaved runs. The clients come from the handle connector, warmed up first.
//
// Usage: npm run build && node bench/connect-warmup.mjs [--brokers mqx,mosquitto] [--repeat 5]
//          [--chunks 5] [--chunk-size 2000]

import { startBroker } from './lib/brokers.mjs';
import { eachFlag, pinnedOptions } from './lib/pinned.mjs';
import { connectIdle, warmConnector } from './lib/handle-connector.mjs';

function parseArgs(argv) {
  const options = { brokers: ['mqx', 'mosquitto'], repeat: 5, chunks: 5, chunkSize: 2000 };
  eachFlag(argv, (flag, value) => {
    if (flag === '--brokers') options.brokers = value().split(',');
    else if (flag === '--repeat') options.repeat = Math.max(1, Math.min(15, Math.floor(Number(value())) || 1));
    else if (flag === '--chunks') options.chunks = Math.max(1, Math.min(10, Math.floor(Number(value())) || 1));
    else if (flag === '--chunk-size') options.chunkSize = Math.max(100, Math.min(5000, Math.floor(Number(value())) || 100));
    else throw new Error(`unknown option ${flag}`);
  });
  return options;
}

const options = pinnedOptions(import.meta.url, parseArgs);

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** One fresh broker: per chunk, [connections/s, broker CPU µs per connection, generator CPU µs per connection]. */
async function run(kind, runIndex) {
  globalThis.gc?.();
  const broker = await startBroker(kind);
  const batches = [];
  try {
    batches.push(await connectIdle(broker.port, `warm${runIndex}`, 1));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const chunks = [];
    for (let chunk = 0; chunk < options.chunks; chunk++) {
      const cpuBefore = broker.cpuSeconds();
      const generatorBefore = process.cpuUsage();
      const start = process.hrtime.bigint();
      batches.push(await connectIdle(broker.port, `w${runIndex}-${chunk}-`, options.chunkSize, 100));
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const generator = process.cpuUsage(generatorBefore);
      chunks.push([options.chunkSize / seconds, ((broker.cpuSeconds() - cpuBefore) / options.chunkSize) * 1e6, (generator.user + generator.system) / options.chunkSize]);
    }
    return chunks;
  } finally {
    for (const batch of batches) batch.close();
    await broker.stop();
  }
}

await warmConnector();
const results = new Map(options.brokers.map((kind) => [kind, []]));
for (let r = 0; r < options.repeat; r++) {
  for (const kind of options.brokers) results.get(kind).push(await run(kind, r));
}
console.log(`Broker CPU per connection (µs), connect rate (conn/s) and load generator CPU per connection (µs) by chunk of ${options.chunkSize} connections into a fresh broker; median of ${options.repeat}`);
for (const [kind, runs] of results) {
  const cells = [];
  for (let chunk = 0; chunk < options.chunks; chunk++) {
    const rate = median(runs.map((chunks) => chunks[chunk][0]));
    const cpu = median(runs.map((chunks) => chunks[chunk][1]));
    const generator = median(runs.map((chunks) => chunks[chunk][2]));
    cells.push(`${cpu.toFixed(0).padStart(4)} µs ${rate.toFixed(0).padStart(6)}/s (gen ${generator.toFixed(0)})`);
  }
  console.log(`  ${kind.padEnd(10)} ${cells.join(' | ')}`);
}
