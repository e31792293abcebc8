// The mqx binary itself: version, help, unknown commands and flags, completion.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { runMqx, repoRoot } from '../helpers/process.js';

const version = (JSON.parse(readFileSync(`${repoRoot}package.json`, 'utf8')) as { version: string }).version;

test('mqx --version prints the package version', async () => {
  const result = await runMqx(['--version']);
  assert.equal(result.code, 0);
  assert.equal(result.stdout.toString().trim(), version);
});

test('mqx --help lists the commands', async () => {
  const result = await runMqx(['--help']);
  assert.equal(result.code, 0);
  assert.match(result.stdout.toString(), /Usage: mqx <command>/);
});

test('an unknown command is one line plus a usage hint, exit 1', async () => {
  const result = await runMqx(['frobnicate']);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /^Error: unknown command 'frobnicate'\.\n/);
  assert.doesNotMatch(result.stderr, /at .*\.js:\d+/);
});

test('no command prints an error and exits 1', async () => {
  const result = await runMqx([]);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /command is required/);
});

test('mqx completion prints a shell completion script', async () => {
  const result = await runMqx(['completion']);
  assert.equal(result.code, 0);
  assert.match(result.stdout.toString(), /_mqx_yargs_completions|complete -o/);
});
