// Runs every compiled test file (dist/test/**/*.test.js) with node's test runner.
// Usage: node scripts/run-tests.mjs [test/unit | test/e2e/pub.test.js ...] (paths under dist/)
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function collect(dir, found) {
  if (!existsSync(dir)) return found;
  if (!statSync(dir).isDirectory()) { found.push(dir); return found; }
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) collect(path, found);
    else if (name.endsWith('.test.js')) found.push(path);
  }
  return found;
}

const roots = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['test'];
const files = roots.flatMap((root) => collect(join('dist', root), []));
if (files.length === 0) {
  console.error(`no test files under ${roots.map((r) => join('dist', r)).join(', ')}`);
  process.exit(1);
}
const result = spawnSync(process.execPath, ['--test', '--test-timeout=120000', ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
