// Real configuration files load unchanged: Debian's mosquitto.conf and the example Mosquitto
// ships (copies in test/fixtures/config, plus the machine's own when present), and include_dir on disk.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  fileSource, formatIssue, loadConfigFile, parseConfig, parseConfigText, resolveConfig, type ConfigSource,
} from '../../src/config/index.js';
import { repoRoot } from '../helpers/process.js';

const fixtures = join(repoRoot, 'test/fixtures/config');

/** Reads fixtures, with Debian's include_dir pointed at the fixture copy of /etc/mosquitto/conf.d. */
function fixtureSource(): ConfigSource {
  const disk = fileSource(fixtures);
  const redirect = (path: string) => path.replace(/^\/etc\/mosquitto\/conf\.d/, join(fixtures, 'debian-conf.d'));
  return { readFile: (path) => disk.readFile(redirect(path)), listDir: (path) => disk.listDir(redirect(path)) };
}

test("Debian's /etc/mosquitto/mosquitto.conf (fixture) loads with no error and no warning", () => {
  const result = resolveConfig(parseConfig('debian-mosquitto.conf', fixtureSource()));
  assert.deepEqual(result.errors.map(formatIssue), []);
  assert.deepEqual(result.warnings.map(formatIssue), []);
  const { config } = result;
  assert.equal(config.pid_file, '/run/mosquitto/mosquitto.pid');
  assert.equal(config.persistence, true);
  assert.equal(config.persistence_location, '/var/lib/mosquitto/');
  assert.equal(config.persistence_filepath, '/var/lib/mosquitto/mosquitto.db');
  assert.deepEqual(config.log_dest, ['file']);
  assert.equal(config.log_file, '/var/log/mosquitto/mosquitto.log');
  // No listener in it: Mosquitto 2.0 runs that in local only mode.
  assert.equal(config.local_only, true);
  assert.deepEqual(config.listeners.map((l) => `${l.bind_address}:${l.port}`), ['127.0.0.1:1883', '::1:1883']);
});

test('the example mosquitto.conf Mosquitto ships (fixture, all comments) loads with no error', () => {
  const text = readFileSync(join(fixtures, 'example-mosquitto.conf'), 'utf8');
  assert.ok(text.split('\n').length > 500, 'the fixture is the full example file');
  const result = resolveConfig(parseConfigText(text, 'example-mosquitto.conf'));
  assert.deepEqual(result.errors.map(formatIssue), []);
  assert.deepEqual(result.warnings.map(formatIssue), []);
  assert.equal(result.config.local_only, true);
});

test('the example ACL file is kept as a fixture for the ACL tests', () => {
  assert.match(readFileSync(join(fixtures, 'aclfile.example'), 'utf8'), /^user roger$/m);
});

test("the machine's own Mosquitto files load with no error, when installed", (t) => {
  const debian = '/etc/mosquitto/mosquitto.conf';
  const examples = ['/usr/share/doc/mosquitto/examples/mosquitto.conf', '/usr/share/doc/mosquitto/examples/mosquitto.conf.gz'];
  const present = [debian, ...examples].filter((path) => existsSync(path));
  if (present.length === 0) {
    t.skip('Mosquitto is not installed here');
    return;
  }
  if (existsSync(debian)) {
    assert.deepEqual(loadConfigFile(debian).errors.map(formatIssue), []);
  }
  for (const path of examples.filter((p) => existsSync(p))) {
    const raw = readFileSync(path);
    const text = path.endsWith('.gz') ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
    assert.deepEqual(resolveConfig(parseConfigText(text, path)).errors.map(formatIssue), [], path);
  }
});

test('include_dir on disk: only *.conf, Mosquitto order, relative to the working directory', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mqx-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'conf.d'));
  writeFileSync(join(dir, 'main.conf'), 'include_dir conf.d\n');
  writeFileSync(join(dir, 'conf.d', 'b.conf'), 'listener 1884\n');
  writeFileSync(join(dir, 'conf.d', 'B.conf'), 'listener 1883\n');
  writeFileSync(join(dir, 'conf.d', 'a.conf'), 'listener 1882\n');
  writeFileSync(join(dir, 'conf.d', 'notes.txt'), 'not a config\n');
  const result = loadConfigFile(join(dir, 'main.conf'), { cwd: dir });
  assert.deepEqual(result.errors.map(formatIssue), []);
  assert.deepEqual(result.config.files.slice(1), ['conf.d/a.conf', 'conf.d/B.conf', 'conf.d/b.conf']);
  assert.deepEqual(result.config.listeners.map((l) => l.port), [1882, 1883, 1884]);
});

test('a missing file, a directory given as the file, and an unreadable include are each named', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mqx-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const missing = join(dir, 'nope.conf');
  assert.deepEqual(loadConfigFile(missing).errors.map(formatIssue), [`${missing}: cannot read configuration file: no such file or directory`]);
  assert.deepEqual(loadConfigFile(dir).errors.map(formatIssue), [`${dir}: cannot read configuration file: it is a directory`]);
  mkdirSync(join(dir, 'd'));
  mkdirSync(join(dir, 'd', 'dir.conf'));
  writeFileSync(join(dir, 'main.conf'), `include_dir ${join(dir, 'd')}\n`);
  assert.deepEqual(loadConfigFile(join(dir, 'main.conf')).errors.map(formatIssue), [
    `${join(dir, 'd')}/dir.conf: cannot read configuration file: it is a directory`,
  ]);
});
