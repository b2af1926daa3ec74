// WORKER_PROCESSES: one worker role as several processes under a supervisor that serves their health and summed
// metrics, restarts one that dies, and passes SIGTERM on.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  cleanupPrefix,
  type FakeOpenAI,
  freePort,
  type RoleProcess,
  startFakeOpenAI,
  startRole,
  testPrefix,
  until,
} from '@chrome-plus/testkit';
import { chatSend, TestClient, testEnv } from '../harness.ts';

const prefix = testPrefix('wprocs');
let fake: FakeOpenAI;
let gateway: RoleProcess;
let worker: RoleProcess;
let health: string;

before(async () => {
  fake = await startFakeOpenAI();
  const workerPort = await freePort();
  health = `http://127.0.0.1:${workerPort}`;
  const env = testEnv(prefix, {
    OPENAI_BASE_URL: fake.url,
    OPENAI_API_KEY: 'sk-test',
    OPENAI_MODEL: 'fake-model',
  });
  [gateway, worker] = await Promise.all([
    startRole('gateway', env),
    startRole('worker', { ...env, WORKER_PROCESSES: '2', WORKER_PORT: String(workerPort) }),
  ]);
});

after(async () => {
  await gateway?.kill();
  await worker?.kill('SIGKILL');
  await fake?.close();
  await cleanupPrefix(prefix);
});

/** The worker processes under the supervisor: `ps` lists each child with its parent. */
async function children(): Promise<number[]> {
  const { execFileSync } = await import('node:child_process');
  return execFileSync('ps', ['-o', 'pid=', '--ppid', String(worker.pid)], { encoding: 'utf8' })
    .split('\n')
    .map((line) => Number(line.trim()))
    .filter((pid) => pid > 0);
}

async function jobsCompleted(): Promise<number> {
  const text = await (await fetch(`${health}/metrics`)).text();
  return [...text.matchAll(/^chrome_plus_worker_jobs_total\{[^}]*outcome="finished"[^}]*\} (\d+)/gm)].reduce(
    (sum, match) => sum + Number(match[1]),
    0,
  );
}

test('two processes take the jobs; /readyz and /metrics speak for both', async () => {
  assert.equal((await children()).length, 2);
  assert.equal((await fetch(`${health}/readyz`)).status, 200);
  const client = await TestClient.open(gateway.url);
  const ids = Array.from({ length: 8 }, (_, index) => `wp-${index}`);
  for (const id of ids) client.send(chatSend(id, `[[fake:answer tokens=5 interval=20]] ${id}`));
  for (const id of ids) assert.equal((await client.untilEnd(id)).at(-1)?.type, 'chat.done');
  client.close();
  // The supervisor sums the children's counters: every job is counted once, whichever process ran it.
  assert.equal(await jobsCompleted(), ids.length);
});

test('a process that dies is started again, and readiness says so meanwhile', async () => {
  const [victim] = await children();
  process.kill(victim!, 'SIGKILL');
  await until(async () => !(await children()).includes(victim!), { what: 'the process to go' });
  // A new process starts after 0.5 s and takes a second or more of CPU to be ready: longer on a busy machine.
  await until(async () => (await children()).length === 2, { what: 'a new process', timeoutMs: 30_000 });
  await until(async () => (await fetch(`${health}/readyz`)).status === 200, {
    what: 'ready again',
    timeoutMs: 30_000,
  });
  const client = await TestClient.open(gateway.url);
  client.send(chatSend('after-restart', 'still there?'));
  assert.equal((await client.untilEnd('after-restart')).at(-1)?.type, 'chat.done');
  client.close();
});

test('SIGTERM to the supervisor stops every process, and it exits 0', async () => {
  const pids = await children();
  await worker.kill('SIGTERM');
  const exit = await worker.exited;
  assert.equal(exit.code, 0, worker.output().slice(-2000));
  for (const pid of pids) assert.throws(() => process.kill(pid, 0), 'no process is left behind');
});
