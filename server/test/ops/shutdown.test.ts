// A worker's graceful stop, in process: it reports not ready, takes no new job, and finishes its answers within
// SHUTDOWN_GRACE_MS (the hand-back after the grace is tested across processes in topology.test.ts).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { cleanupPrefix, type FakeOpenAI, freePort, startFakeOpenAI, testPrefix } from '@chrome-plus/testkit';
import { answerOf, assertWellFormed, chatSend, startTestApp, TestClient, testEnv } from '../harness.ts';

const prefix = testPrefix('shutdown');
let fake: FakeOpenAI;
const apps: { close(): Promise<void> }[] = [];

before(async () => {
  fake = await startFakeOpenAI();
});

after(async () => {
  await Promise.all(apps.map((app) => app.close().catch(() => {})));
  await fake.close();
  await cleanupPrefix(prefix);
});

test('a stopping worker finishes its answers within the grace, takes no new job, and says it is not ready', async () => {
  const workerPort = await freePort();
  const env = testEnv(prefix, {
    OPENAI_BASE_URL: fake.url,
    OPENAI_API_KEY: 'sk-test',
    OPENAI_MODEL: 'fake-model',
    WORKER_PORT: String(workerPort),
    WORKER_LOCK_MS: '5000',
    SHUTDOWN_GRACE_MS: '5000',
  });
  const gateway = await startTestApp('gateway', env);
  apps.push(gateway);
  const worker = await startTestApp('worker', env);
  apps.push(worker);
  const client = await TestClient.open(gateway.url);

  const running = randomUUID();
  client.send(chatSend(running, `${running} [[fake:answer tokens=20 interval=25]]`));
  await client.next((frame) => frame.type === 'chat.delta' && frame.id === running);
  const closing = worker.close();
  const startedClosingAt = Date.now();

  const readiness = await fetch(`http://127.0.0.1:${workerPort}/readyz`);
  assert.equal(readiness.status, 503);
  assert.equal(((await readiness.json()) as { accepting: boolean }).accepting, false);

  // Sent while the worker drains: it must wait for another worker rather than start on this one.
  const later = randomUUID();
  client.send(chatSend(later, `${later} [[fake:answer tokens=3]]`));
  await client.next((frame) => frame.type === 'chat.accepted' && frame.id === later);

  await closing;
  assert.ok(
    Date.now() - startedClosingAt < 4_000,
    'the worker waited for its answer, not for the whole grace',
  );
  const events = client.events(running);
  assertWellFormed(events);
  assert.equal(events.at(-1)?.type, 'chat.done');
  assert.ok(!events.some((frame) => frame.type === 'chat.restart'), 'finished in place, not handed back');
  assert.equal(answerOf(events), Array.from({ length: 20 }, (_, index) => `tok${index + 1} `).join(''));
  assert.equal(client.events(later).length, 0, 'the stopping worker took no new job');

  const replacement = await startTestApp('worker', { ...env, WORKER_PORT: '0' });
  apps.push(replacement);
  await client.untilEnd(later, 10_000);
  assert.equal(answerOf(client.events(later)), 'tok1 tok2 tok3 ');
  client.close();
});
