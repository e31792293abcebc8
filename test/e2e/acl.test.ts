// Differential: one ACL file loaded into a real mosquitto 2.0; what it lets each client
// publish and receive must be exactly what `mqx acl check` answers, row by row.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { havePeers, peerPath, startMosquitto } from '../helpers/peers.js';
import { run, runMqx, waitForOutput } from '../helpers/process.js';
import { PassThrough } from 'node:stream';
import { runAcl } from '../../src/cli/acl.js';
import { CliError } from '../../src/cli/errors.js';
import { plainOutput } from '../../src/cli/output.js';

const ACL = `# anonymous clients
topic read public/#
topic deny public/secret
topic write anon/in

user root
topic readwrite #
topic readwrite $SYS/#

user admin
topic readwrite #
topic deny secret/#
topic read $SYS/#

user bob
topic write bob/out
topic read shared/+/status
topic deny shared/private/status

user carol
topic read carol/#
topic read with space/+
topic readwrite empty//levels/#

user sp ace
topic readwrite space/#

pattern readwrite clients/%c/#
pattern read users/%u/#
pattern deny clients/%c/locked
pattern write dev/%c
pattern write $SYS/broker/connection/%c/state
pattern read marker/%c
`;

const PASSWORDS: Record<string, string> = { root: 'rootpw', admin: 'adminpw', bob: 'bobpw', carol: 'carolpw', eve: 'evepw', 'sp ace': 'spacepw' };

interface Client { user: string | null; id: string }
const anon: Client = { user: null, id: 'anon1' };
const admin: Client = { user: 'admin', id: 'adm1' };
const bob: Client = { user: 'bob', id: 'cid1' };
const bobHash: Client = { user: 'bob', id: '#' };
const carol: Client = { user: 'carol', id: 'car' };
const eve: Client = { user: 'eve', id: 'eve1' };
const spaced: Client = { user: 'sp ace', id: 'sp1' };

const WRITES: [Client, string][] = [
  [anon, 'anon/in'], [anon, 'public/news'], [anon, 'clients/anon1/x'], [anon, 'clients/anon1/locked'], [anon, 'users/anon1/x'], [anon, '$SYS/test'],
  [admin, 'any/topic'], [admin, 'secret/x'], [admin, 'clients/adm1/locked'], [admin, '$SYS/test'], [admin, '$SYS/broker/connection/adm1/state'],
  [bob, 'bob/out'], [bob, 'bob/in'], [bob, 'clients/cid1/t'], [bob, 'clients/other/t'], [bob, 'clients/cid1/locked'], [bob, 'shared/a/status'], [bob, 'dev/cid1'],
  [bobHash, 'bob/out'], [bobHash, 'dev/x'],
  [carol, 'carol/x'], [carol, 'clients/car/x'],
  [eve, 'clients/eve1/x'], [eve, 'anything'],
  [carol, 'empty//levels'], [carol, 'empty//levels/x'], [carol, 'empty/x/levels'],
  [spaced, 'space'], [spaced, 'space/x'], [spaced, 'spaces/x'],
];

const READS: [Client, string][] = [
  [anon, 'public/news'], [anon, 'public/secret'], [anon, 'anon/in'], [anon, 'clients/anon1/x'], [anon, 'users/anon1/x'], [anon, '$SYS/broker/version'],
  [admin, 'any/topic'], [admin, 'secret/x'], [admin, 'public/secret'], [admin, '$SYS/broker/version'],
  [bob, 'shared/a/status'], [bob, 'shared/private/status'], [bob, 'bob/out'], [bob, 'users/bob/inbox'], [bob, 'users/carol/inbox'], [bob, 'clients/cid1/t'], [bob, '$SYS/broker/version'],
  [carol, 'carol/x'], [carol, 'users/carol/inbox'], [carol, 'public/news'],
  [eve, 'users/eve/x'], [eve, 'public/news'],
  [anon, 'public'], [anon, 'public/a/b/c'], [anon, 'publicity'],
  [carol, 'with space/x'], [carol, 'with space/x/y'], [carol, 'with space/'], [carol, 'empty//levels'],
  [spaced, 'space/a'], [spaced, 'users/sp ace/x'], [spaced, 'public/news'],
];

const ROOT_PUBLISHER: Client = { user: 'root', id: 'root-pub' };

const credentials = (client: Client): string[] =>
  client.user === null ? ['-i', client.id] : ['-i', client.id, '-u', client.user, '-P', PASSWORDS[client.user]];

/** Runs at most `limit` tasks at once. */
async function pool<T>(items: T[], limit: number, task: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      await task(items[index], index);
    }
  }));
}

/**
 * A mosquitto_sub on '#' and '$SYS/#' that records every message it receives. Resolves once
 * it is subscribed: root publishes a probe to marker/<id> (which every client may read)
 * until it arrives, since mosquitto_sub's -d lines are not flushed to a pipe.
 */
async function subscriber(port: number, client: Client): Promise<{ child: ChildProcess; lines: () => string[]; until: (marker: string) => Promise<void> }> {
  const child = spawn(peerPath('mosquitto_sub')!, ['-p', String(port), ...credentials(client), '-v', '-t', '#', '-t', '$SYS/#'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (chunk: Buffer) => { text += chunk.toString(); });
  const probe = `marker/${client.id} probe`;
  for (let attempt = 0; !text.includes(probe); attempt++) {
    assert.ok(attempt < 100 && child.exitCode === null, `mosquitto_sub as ${client.user ?? 'anonymous'} never received its probe`);
    await publish(port, ROOT_PUBLISHER, `marker/${client.id}`, 'probe');
  }
  return {
    child,
    // Lines are "topic payload"; topics and payloads may both hold spaces, so callers look
    // for a known topic at the start or a known payload at the end.
    lines: () => text.split('\n').filter((line) => line !== ''),
    until: async (marker) => { if (!text.includes(`${marker} done`)) await waitForOutput(child.stdout!, `${marker} done`, 10000); },
  };
}

async function publish(port: number, client: Client, topic: string, payload: string): Promise<void> {
  const result = await run(peerPath('mosquitto_pub')!, ['-p', String(port), ...credentials(client), '-q', '1', '-t', topic, '-m', payload], { timeoutMs: 10000 });
  assert.equal(result.code, 0, `mosquitto_pub as ${client.user ?? 'anonymous'} to ${topic} failed: ${result.stderr}`);
}

/**
 * `mqx acl check` for one row. In-process through runAcl (the command's own code path, minus
 * argv parsing) for speed, or as a real process when `asProcess`.
 */
async function mqxSays(aclPath: string, client: Client, action: 'read' | 'write', topic: string, asProcess = false): Promise<boolean> {
  const who = client.user === null ? ['--anonymous'] : [client.user];
  if (asProcess) {
    const result = await runMqx(['acl', 'check', ...who, action, topic, '--client-id', client.id, '--file', aclPath]);
    assert.ok(result.code === 0 || result.code === 1, `mqx acl check exited ${result.code}: ${result.stderr}`);
    assert.match(result.stdout.toString(), result.code === 0 ? /^allow: / : /^deny: /);
    return result.code === 0;
  }
  let printed = '';
  const stdout = new PassThrough();
  stdout.on('data', (chunk: Buffer) => { printed += chunk.toString(); });
  const argv = {
    _: ['acl'], action: 'check', args: client.user === null ? [action, topic] : [client.user, action, topic],
    anonymous: client.user === null, 'client-id': client.id, file: aclPath,
  };
  let allowed = true;
  try {
    await runAcl(argv, { out: plainOutput(stdout, new PassThrough()), env: {} });
  } catch (error) {
    if (!(error instanceof CliError) || error.exitCode !== 1) throw error;
    allowed = false;
  }
  assert.match(printed, allowed ? /^allow: / : /^deny: /);
  return allowed;
}

test('mosquitto 2.0 and mqx acl check agree on every row of the table', async (t) => {
  if (!havePeers(t, 'mosquitto', 'mosquitto_pub', 'mosquitto_sub')) return;
  const dir = mkdtempSync(join(tmpdir(), 'mqx-acl-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const aclPath = join(dir, 'acl');
  const passwordPath = join(dir, 'passwd');
  writeFileSync(aclPath, ACL);
  // The password file is written by mqx itself: mosquitto must accept it.
  for (const [user, password] of Object.entries(PASSWORDS)) {
    const result = await runMqx(['passwd', '-b', ...(user === 'root' ? ['-c'] : []), passwordPath, user, password]);
    assert.equal(result.code, 0, result.stderr);
  }
  assert.equal((await runMqx(['acl', 'lint', '--file', aclPath])).code, 0);

  const broker = await startMosquitto(`password_file ${passwordPath}\nacl_file ${aclPath}\n`);
  t.after(() => broker.stop());
  const root: Client = { user: 'root', id: 'root' };
  const rootPublisher = ROOT_PUBLISHER;

  // Writes: each client publishes (QoS 1, so the broker has handled it when mosquitto_pub
  // exits); a root subscriber sees what got through; root's marker comes after all of them.
  const watcher = await subscriber(broker.port, root);
  t.after(() => { watcher.child.kill(); });
  // Rows of one client run one after another: two connections with one client id take each other over.
  const writers = [...new Set(WRITES.map(([client]) => client))];
  await pool(writers, 4, async (client) => {
    for (const [index, [who, topic]] of WRITES.entries()) if (who === client) await publish(broker.port, client, topic, `w${index}`);
  });
  await publish(broker.port, rootPublisher, 'marker/root', 'done');
  await watcher.until('marker/root');
  const written = watcher.lines();

  // Reads: one subscriber per client; root publishes every topic (retained $SYS/broker/version
  // arrives on subscribing), then one marker per client that its pattern lets it read.
  const readers = [...new Set(READS.map(([client]) => client))];
  const subscribers = new Map<Client, Awaited<ReturnType<typeof subscriber>>>();
  t.after(() => { for (const sub of subscribers.values()) sub.child.kill(); });
  for (const client of readers) subscribers.set(client, await subscriber(broker.port, client));
  for (const topic of new Set(READS.map(([, topic]) => topic).filter((topic) => !topic.startsWith('$')))) {
    await publish(broker.port, rootPublisher, topic, 'r');
  }
  for (const client of readers) await publish(broker.port, rootPublisher, `marker/${client.id}`, 'done');
  for (const client of readers) await subscribers.get(client)!.until(`marker/${client.id}`);

  // Each write row has its own payload, so a topic two rows share is still told apart.
  const rows = [
    ...WRITES.map(([client, topic], index) => ({ client, topic, action: 'write' as const, mosquitto: written.includes(`${topic} w${index}`) })),
    ...READS.map(([client, topic]) => ({ client, topic, action: 'read' as const, mosquitto: subscribers.get(client)!.lines().some((line) => line.startsWith(`${topic} `)) })),
  ];

  const mismatches: string[] = [];
  // Every row in-process; a spread of rows also through the real binary.
  await pool(rows, 4, async (row, index) => {
    const mqx = await mqxSays(aclPath, row.client, row.action, row.topic, index % 12 === 0);
    if (mqx !== row.mosquitto) {
      mismatches.push(`${row.client.user ?? 'anonymous'} (${row.client.id}) ${row.action} ${row.topic}: mosquitto ${row.mosquitto ? 'allows' : 'denies'}, mqx ${mqx ? 'allows' : 'denies'}`);
    }
  });
  assert.deepEqual(mismatches, []);
  // The table must exercise both answers, or it proves nothing.
  assert.ok(rows.some((row) => row.mosquitto) && rows.some((row) => !row.mosquitto));
});
