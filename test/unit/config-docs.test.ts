// docs/mosquitto-options.md stays true: it lists exactly the options the parser knows, each
// with the parser's status, and (where the man page is installed) every Mosquitto 2.0 option.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { optionStatuses } from '../../src/config/index.js';
import { repoRoot } from '../helpers/process.js';

function documented(): Map<string, string> {
  const text = readFileSync(join(repoRoot, 'docs/mosquitto-options.md'), 'utf8');
  const rows = new Map<string, string>();
  for (const match of text.matchAll(/^\| `([^`]+)` \| [^|]+ \| (\w+) \|/gm)) {
    assert.ok(!rows.has(match[1]!), `${match[1]} is listed twice`);
    rows.set(match[1]!, match[2]!);
  }
  return rows;
}

test('the options table lists every option the parser knows, with its status', () => {
  const docs = documented();
  const parser = optionStatuses();
  assert.deepEqual([...docs.keys()].sort(), [...parser.keys()].sort());
  for (const [name, status] of parser) assert.equal(docs.get(name), status, name);
});

test("every option in the installed mosquitto.conf(5) is in the table", (t) => {
  const man = spawnSync('man', ['5', 'mosquitto.conf'], { encoding: 'utf8', env: { ...process.env, MANWIDTH: '200', MANPAGER: 'cat', PAGER: 'cat' } });
  if (man.status !== 0 || !man.stdout) {
    t.skip('mosquitto.conf(5) is not installed');
    return;
  }
  const plain = man.stdout.replace(/.\x08/g, '');
  const names = new Set<string>();
  // Option headings are indented 7 spaces: "       name value" (and "address ..., addresses ...").
  for (const match of plain.matchAll(/^ {7}([a-z][a-z0-9_.]*\*?)(?: |$)/gm)) {
    const name = match[1]!;
    if (name.includes('_') || ['listener', 'port', 'protocol', 'user', 'cafile', 'capath', 'certfile', 'ciphers', 'crlfile', 'keyfile', 'persistence', 'connection', 'address', 'cleansession', 'notifications', 'threshold', 'topic'].includes(name)) names.add(name);
  }
  names.add('addresses');
  const docs = documented();
  assert.ok(names.size > 100, `read ${names.size} option names from the man page`);
  const missing = [...names].filter((name) => !docs.has(name));
  assert.deepEqual(missing, []);
});
