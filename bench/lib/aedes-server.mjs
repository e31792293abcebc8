// Starts Aedes (installed OUTSIDE the repository) on 127.0.0.1:PORT, for side-by-side benchmarks only.
// Usage: node bench/lib/aedes-server.mjs PORT   with AEDES_PATH=/tmp/aedes-bench/node_modules/aedes

import { createServer } from 'node:net';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';

const port = Number(process.argv[2]);
const aedesPath = process.env.AEDES_PATH;
if (!aedesPath || !Number.isInteger(port)) {
  process.stderr.write('usage: AEDES_PATH=<dir of the aedes package> node aedes-server.mjs PORT\n');
  process.exit(2);
}
const module = await import(pathToFileURL(join(aedesPath, 'aedes.js')).href);
const broker = typeof module.Aedes?.createBroker === 'function' ? await module.Aedes.createBroker() : module.default();
const server = createServer(broker.handle);
server.listen(port, '127.0.0.1', () => process.stdout.write(`aedes listening on ${port}\n`));
const stop = () => server.close(() => broker.close(() => process.exit(0)));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
