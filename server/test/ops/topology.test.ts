// The deployment as processes: two gateways, two workers, one Redis, a real SSE model server. A client moves between
// gateways mid-answer, a worker and a gateway get SIGTERM under load, and /metrics moves with the traffic.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ServerFrame } from '@chrome-plus/protocol';
import {
  cleanupPrefix,
  type FakeOpenAI,
  REDIS_URL,
  repoRoot,
  type Stack,
  startFakeOpenAI,
  startStack,
  testPrefix,
  until,
} from '@chrome-plus/testkit';
import { answerOf, assertWellFormed, chatSend, TestClient } from '../harness.ts';

const TOKEN = 'ops-test-token-1';
const USER = 'opsuser';

/** A paced answer of `tokens` pieces "tok1 ", "tok2 "...: the marker tells the fake model what to stream. */
function pacedRequest(id: string, tokens: number, intervalMs: number) {
  return chatSend(id, `${id} [[fake:answer tokens=${tokens} interval=${intervalMs}]]`);
}

function expectedAnswer(tokens: number): string {
  return Array.from({ length: tokens }, (_, index) => `tok${index + 1} `).join('');
}

function deltasOf(client: TestClient, id: string): number {
  return client.events(id).filter((frame) => frame.type === 'chat.delta').length;
}

function lastSeq(events: ServerFrame[]): number {
  return events.reduce((last, frame) => Math.max(last, 'seq' in frame ? (frame.seq ?? 0) : 0), 0);
}

/** With AUTH_TOKENS set, /metrics asks for this. */
const METRICS_TOKEN = 'topology-metrics-token';

/** Prometheus text → value of each series, keyed `name{labels}` as exposed (the `role` label included). */
async function scrape(httpUrl: string): Promise<Map<string, number>> {
  const response = await fetch(`${httpUrl}/metrics`, {
    headers: { authorization: `Bearer ${METRICS_TOKEN}` },
  });
  assert.equal(response.status, 200);
  const series = new Map<string, number>();
  for (const line of (await response.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    series.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return series;
}

/** The sum of a metric's series whose labels include every `name="value"` of `labels`. */
function total(series: Map<string, number>, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const [key, value] of series) {
    const brace = key.indexOf('{');
    if ((brace < 0 ? key : key.slice(0, brace)) !== name) continue;
    if (Object.entries(labels).every(([label, wanted]) => key.includes(`${label}="${wanted}"`))) sum += value;
  }
  return sum;
}

/** Checks one request's events as a client saw them across sockets: the whole answer, once, one terminal event. */
function assertWholeAnswer(events: ServerFrame[], tokens: number, label: string): void {
  assertWellFormed(events);
  const terminal = events[events.length - 1]!;
  assert.equal(terminal.type, 'chat.done', `${label}: ended with ${JSON.stringify(terminal)}`);
  assert.equal(answerOf(events), expectedAnswer(tokens), `${label}: the answer is not whole`);
}

describe('two gateways, two workers, one Redis (processes)', { timeout: 90_000 }, () => {
  const prefix = testPrefix('topology');
  const bundle = `dist/ops-${prefix}`;
  let fake: FakeOpenAI;
  let stack: Stack;
  const clients: TestClient[] = [];

  async function open(url: string): Promise<TestClient> {
    const client = await TestClient.open(url, TOKEN);
    clients.push(client);
    return client;
  }

  before(async () => {
    fake = await startFakeOpenAI();
    // Workers run the production bundle (BullMQ's scripts must load from node_modules), gateways the sources.
    execFileSync(process.execPath, ['build.mjs', '--outdir', bundle], { cwd: join(repoRoot, 'server') });
    stack = await startStack({
      gateways: 2,
      workers: 2,
      basePort: 0,
      workerBasePort: 0,
      startRedis: false,
      entries: { worker: `server/${bundle}/main.js` },
      env: {
        HOST: '127.0.0.1',
        REDIS_URL,
        KEY_PREFIX: prefix,
        LOG_LEVEL: 'info',
        AUTH_TOKENS: `${USER}:${TOKEN}`,
        METRICS_TOKEN,
        OPENAI_BASE_URL: fake.url,
        OPENAI_API_KEY: 'sk-test',
        OPENAI_MODEL: 'fake-model',
        WORKER_CONCURRENCY: '4',
        WORKER_LOCK_MS: '5000',
        SHUTDOWN_GRACE_MS: '300',
        RATE_LIMIT_PER_MINUTE: '1000',
        MAX_CONCURRENT_GENERATIONS: '100',
        PROVIDER_RETRY_BASE_MS: '20',
        PROVIDER_RETRY_MAX_MS: '100',
        PROVIDER_IDLE_TIMEOUT_MS: '5000',
        PROVIDER_TOTAL_TIMEOUT_MS: '30000',
      },
    });
  });

  after(async () => {
    for (const client of clients) client.close();
    await stack?.stop({ graceMs: 5_000 });
    await fake?.close();
    rmSync(join(repoRoot, 'server', bundle), { recursive: true, force: true });
    await cleanupPrefix(prefix);
  });

  test('both roles answer /healthz, /readyz and /metrics', async () => {
    for (const process_ of [...stack.gateways, ...stack.workers]) {
      assert.equal((await fetch(`${process_.httpUrl}/healthz`)).status, 200, process_.name);
      const ready = await fetch(`${process_.httpUrl}/readyz`);
      assert.equal(ready.status, 200, process_.name);
    }
    const gateway = await scrape(stack.gateways[0]!.httpUrl);
    for (const name of [
      'chrome_plus_gateway_open_sockets',
      'chrome_plus_requests_accepted_total',
      'chrome_plus_gateway_time_to_first_token_seconds_count',
      'chrome_plus_delta_delivery_seconds_count',
      'chrome_plus_queue_jobs',
    ]) {
      assert.ok(
        [...gateway.keys()].some((key) => key.startsWith(name)),
        `gateway lacks ${name}`,
      );
    }
    const worker = await scrape(stack.workers[0]!.httpUrl);
    for (const name of [
      'chrome_plus_worker_active_jobs',
      'chrome_plus_queue_jobs',
      'chrome_plus_queue_wait_seconds_count',
      'chrome_plus_time_to_first_token_seconds_count',
      'chrome_plus_requests_ended_total',
      'chrome_plus_worker_jobs_total',
    ]) {
      assert.ok(
        [...worker.keys()].some((key) => key.startsWith(name)),
        `worker lacks ${name}`,
      );
    }
  });

  test('an upload to gateway A is extracted by a worker running the bundle (its extraction thread included)', async () => {
    const gateway = stack.gateways[0]!;
    const form = new FormData();
    form.append(
      'file',
      new Blob(['The word of the day is PINEAPPLE.\n'], { type: 'text/plain' }),
      'notes.txt',
    );
    const upload = await fetch(`${gateway.httpUrl}/v1/files`, {
      method: 'POST',
      body: form,
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(upload.status, 201, await upload.clone().text());
    const { fileId } = (await upload.json()) as { fileId: string };

    const id = randomUUID();
    const client = await open(gateway.url);
    client.send({
      type: 'chat.send',
      id,
      messages: [{ role: 'user', content: `${id} [[fake:answer tokens=2]]`, attachments: [{ fileId }] }],
    });
    const events = await client.untilEnd(id, 15_000);
    assert.equal(events.at(-1)?.type, 'chat.done', JSON.stringify(events.at(-1)));
    const sent = fake.requests.find((request) => JSON.stringify(request.body?.messages ?? '').includes(id));
    assert.match(JSON.stringify(sent?.body?.messages), /PINEAPPLE/);
    client.close();
  });

  test('a client that moves from gateway A to gateway B mid-answer receives the whole answer once', async () => {
    const [gatewayA, gatewayB] = stack.gateways as [Stack['gateways'][0], Stack['gateways'][0]];
    const before = await scrape(gatewayA.httpUrl);
    const id = randomUUID();
    const tokens = 30;
    const onA = await open(gatewayA.url);
    onA.send(pacedRequest(id, tokens, 30));
    await until(() => deltasOf(onA, id) >= 5, { what: 'five deltas on gateway A', timeoutMs: 10_000 });
    onA.close();
    await onA.closed;
    const seen = onA.events(id);
    assert.ok(
      !seen.some((frame) => frame.type === 'chat.done'),
      'the answer ended before the move: pace it slower',
    );

    const onB = await open(gatewayB.url);
    onB.send({ type: 'chat.resume', id, after: lastSeq(seen) });
    await onB.untilEnd(id, 15_000);
    assertWholeAnswer([...seen, ...onB.events(id)], tokens, 'moved client');

    const afterA = await scrape(gatewayA.httpUrl);
    const afterB = await scrape(gatewayB.httpUrl);
    assert.equal(
      total(afterA, 'chrome_plus_requests_accepted_total') -
        total(before, 'chrome_plus_requests_accepted_total'),
      1,
    );
    assert.ok(total(afterA, 'chrome_plus_gateway_time_to_first_token_seconds_count') >= 1);
    assert.ok(total(afterB, 'chrome_plus_delta_delivery_seconds_count') >= 1, 'B delivered live deltas');
    assert.equal(total(afterB, 'chrome_plus_gateway_open_sockets'), 1, 'B holds the moved socket');
    onB.close();
  });

  test('SIGTERM to a worker under load: its answers are handed back and every request ends once, whole', async () => {
    const [workerA, workerB] = stack.workers as [Stack['workers'][0], Stack['workers'][0]];
    const gateway = stack.gateways[0]!;
    const tokens = 60;
    const client = await open(gateway.url);
    // A model error first: the call is retried, and the error counted.
    const flaky = randomUUID();
    client.send(chatSend(flaky, `${flaky} [[fake:server_error times=1]]`));
    await client.untilEnd(flaky, 10_000);
    assert.equal(client.events(flaky).at(-1)?.type, 'chat.done');
    const providerErrors =
      total(await scrape(workerA.httpUrl), 'chrome_plus_provider_errors_total', { code: 'provider_error' }) +
      total(await scrape(workerB.httpUrl), 'chrome_plus_provider_errors_total', { code: 'provider_error' });
    assert.ok(providerErrors >= 1, 'the model error is counted');

    const ids = Array.from({ length: 10 }, () => randomUUID());
    for (const id of ids) client.send(pacedRequest(id, tokens, 25));
    await until(
      () =>
        ids.every((id) => client.frames.some((frame) => frame.type === 'chat.accepted' && frame.id === id)),
      { what: 'every request accepted', timeoutMs: 10_000 },
    );
    // 2 workers × 4 slots for 10 requests: some wait in the queue, and the gauge shows it.
    const queued = await scrape(gateway.httpUrl);
    assert.ok(total(queued, 'chrome_plus_queue_jobs', { state: 'waiting' }) >= 1, 'waiting jobs are counted');
    assert.ok(total(queued, 'chrome_plus_queue_jobs', { state: 'active' }) >= 1, 'active jobs are counted');
    await until(async () => total(await scrape(workerA.httpUrl), 'chrome_plus_worker_active_jobs') >= 1, {
      what: 'worker A running jobs',
      timeoutMs: 10_000,
    });
    await until(() => ids.filter((id) => deltasOf(client, id) >= 3).length >= 4, {
      what: 'answers under way',
      timeoutMs: 10_000,
    });
    const killedAt = Date.now();
    const exit = await workerA.kill('SIGTERM');
    assert.equal(
      exit.code,
      0,
      `worker A exited with ${JSON.stringify(exit)}:\n${workerA.output().slice(-3000)}`,
    );
    // SHUTDOWN_GRACE_MS is 300: its answers could not finish, so it handed them back and left at once.
    assert.ok(Date.now() - killedAt < 3_000, `worker A took ${Date.now() - killedAt} ms to stop`);

    for (const id of ids) await client.untilEnd(id, 20_000);
    let restarted = 0;
    for (const id of ids) {
      const events = client.events(id);
      assertWholeAnswer(events, tokens, `request ${id}`);
      if (events.some((frame) => frame.type === 'chat.restart')) restarted++;
    }
    assert.ok(
      restarted >= 1,
      `worker A handed no answer back mid-way (no chat.restart):\n${workerA.output().slice(-3000)}`,
    );

    // Handed back, not recovered as stalled jobs after their lock expired (WORKER_LOCK_MS is 5 s).
    assert.ok(!workerB.output().includes('job stalled'), 'worker B had to recover stalled jobs');

    const metrics = await scrape(workerB.httpUrl);
    assert.ok(total(metrics, 'chrome_plus_requests_ended_total', { outcome: 'done' }) >= restarted);
    assert.ok(total(metrics, 'chrome_plus_queue_wait_seconds_count') >= restarted);
    assert.ok(total(metrics, 'chrome_plus_time_to_first_token_seconds_count') >= restarted);
    assert.ok(total(metrics, 'chrome_plus_worker_jobs_total', { outcome: 'finished' }) >= restarted);
    client.close();
  });

  test('SIGTERM to a gateway under load: its clients get 1012, resume on the other gateway, lose nothing', async () => {
    const [gatewayA, gatewayB] = stack.gateways as [Stack['gateways'][0], Stack['gateways'][0]];
    const tokens = 30;
    const sessions = await Promise.all(
      Array.from({ length: 4 }, async () => {
        const id = randomUUID();
        const client = await open(gatewayA.url);
        client.send(pacedRequest(id, tokens, 30));
        return { id, client };
      }),
    );
    await until(() => sessions.every(({ id, client }) => deltasOf(client, id) >= 3), {
      what: 'every answer under way',
      timeoutMs: 10_000,
    });
    const exit = await gatewayA.kill('SIGTERM');
    assert.equal(exit.code, 0, `gateway A exited with ${JSON.stringify(exit)}`);

    await Promise.all(
      sessions.map(async ({ id, client }) => {
        const closed = await client.closed;
        assert.equal(closed.code, 1012, 'closed as "service restart"');
        const seen = client.events(id);
        const resumed = await open(gatewayB.url);
        resumed.send({ type: 'chat.resume', id, after: lastSeq(seen) });
        await resumed.untilEnd(id, 15_000);
        assertWholeAnswer([...seen, ...resumed.events(id)], tokens, `request ${id}`);
      }),
    );
  });
});
