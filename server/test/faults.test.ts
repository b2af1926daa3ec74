// Model API faults and a killed worker, through the whole system: each request ends once, with the right code.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ChatErrorFrame } from '@chrome-plus/protocol';
import { cleanupPrefix, type FakeOpenAI, startFakeOpenAI, startRole, testPrefix } from '@chrome-plus/testkit';
import { answerOf, assertWellFormed, chatSend, startTestApp, TestClient, testEnv } from './harness.ts';

describe('model API faults', () => {
  const prefix = testPrefix('faults');
  let fake: FakeOpenAI;
  let app: Awaited<ReturnType<typeof startTestApp>>;
  let client: TestClient;

  before(async () => {
    fake = await startFakeOpenAI();
    app = await startTestApp(
      'all',
      testEnv(prefix, {
        OPENAI_BASE_URL: fake.url,
        OPENAI_API_KEY: 'sk-fault-secret',
        OPENAI_MODEL: 'fake-model,deepseek-reasoner',
        REASONING_MODELS: 'deepseek-reasoner',
        PROVIDER_CONNECT_TIMEOUT_MS: '300',
        PROVIDER_IDLE_TIMEOUT_MS: '300',
        PROVIDER_MAX_ATTEMPTS: '3',
      }),
    );
    client = await TestClient.open(app.url);
  });

  after(async () => {
    client.close();
    await app.close();
    await fake.close();
    await cleanupPrefix(prefix);
  });

  async function run(id: string, content = 'hi', extra: Record<string, unknown> = {}) {
    const start = fake.requests.length;
    client.send(chatSend(id, content, extra));
    const events = await client.untilEnd(id);
    assertWellFormed(events);
    return { events, calls: fake.requests.length - start, last: events.at(-1)! };
  }

  test('429 with Retry-After: retried after the time it asks, then answered', async () => {
    fake.enqueue({
      type: 'status',
      status: 429,
      headers: { 'retry-after': '1' },
      error: { message: 'slow down', type: 'rate_limit' },
    });
    fake.enqueue({ type: 'answer', pieces: ['after ', 'waiting'] });
    const started = Date.now();
    const { events, calls } = await run('r429');
    assert.equal(answerOf(events), 'after waiting');
    assert.equal(calls, 2);
    assert.ok(Date.now() - started >= 950, 'the retry must honour Retry-After');
  });

  test('429 on every attempt ends with rate_limited, retryable, with retryAfterMs', async () => {
    fake.script(() => ({
      type: 'status',
      status: 429,
      headers: { 'retry-after-ms': '30' },
      error: { message: 'busy' },
    }));
    const { last, calls } = await run('r429-always');
    fake.script(undefined);
    assert.equal(calls, 3);
    const error = last as ChatErrorFrame;
    assert.equal(error.type, 'chat.error');
    assert.equal(error.code, 'rate_limited');
    assert.equal(error.retryable, true);
    assert.ok((error.retryAfterMs ?? 0) > 0);
  });

  test('500 is retried; 400 is not retried and ends with bad_request', async () => {
    fake.enqueue(
      { type: 'status', status: 500, error: { message: 'oops' } },
      { type: 'answer', pieces: ['fine'] },
    );
    const retried = await run('r500');
    assert.equal(answerOf(retried.events), 'fine');
    assert.equal(retried.calls, 2);

    fake.enqueue({
      type: 'status',
      status: 400,
      error: { message: 'messages too long', type: 'invalid_request_error' },
    });
    const refused = await run('r400');
    assert.equal(refused.calls, 1);
    const error = refused.last as ChatErrorFrame;
    assert.equal(error.code, 'bad_request');
    assert.equal(error.retryable, false);
  });

  test('a model that never answers ends with provider_timeout after the retries', async () => {
    fake.script(() => ({ type: 'hang' }));
    const { last, calls } = await run('r-hang');
    fake.script(undefined);
    assert.equal(calls, 3);
    assert.equal((last as ChatErrorFrame).code, 'provider_timeout');
  });

  test('a stream cut mid-answer ends with a retryable provider_error; what was sent stays', async () => {
    fake.enqueue({
      type: 'answer',
      pieces: ['partial ', 'answer ', 'lost'],
      cutAfter: 2,
      tokenIntervalMs: 30,
    });
    const { events, last, calls } = await run('r-cut');
    assert.equal(calls, 1, 'no silent retry after text was shown');
    // The fake cuts the socket right after writing piece 2, which may or may not have made it through.
    assert.match(answerOf(events), /^partial (answer )?$/);
    assert.equal((last as ChatErrorFrame).code, 'provider_error');
    assert.equal((last as ChatErrorFrame).retryable, true);
  });

  test('an error object inside the stream ends with provider_error', async () => {
    // 80 ms between pieces: the first piece is written (shown) before the error, so no retry may follow.
    fake.enqueue({
      type: 'answer',
      pieces: ['a ', 'b '],
      errorAfter: 2,
      error: { message: 'model overloaded', type: 'server_error' },
      tokenIntervalMs: 80,
    });
    const { last, events } = await run('r-stream-error');
    assert.equal(last.type, 'chat.error', JSON.stringify(events));
    assert.equal((last as ChatErrorFrame).code, 'provider_error');
    assert.match((last as ChatErrorFrame).message, /overloaded/);
    assert.equal(answerOf(events), 'a b ', 'text shown before the error stays, and is not repeated');
  });

  test('a retryable fault before anything was shown is retried cleanly: no piece of the failed attempt leaks', async () => {
    fake.enqueue(
      {
        type: 'answer',
        pieces: ['half-', 'baked '],
        errorAfter: 1,
        error: { message: 'model overloaded', type: 'server_error' },
      },
      { type: 'answer', pieces: ['clean ', 'answer'] },
    );
    const { events, last, calls } = await run('r-clean-retry');
    assert.equal(calls, 2);
    assert.equal(last.type, 'chat.done');
    assert.equal(answerOf(events), 'clean answer');
  });

  test('SSE comments and keep-alives are ignored', async () => {
    fake.enqueue({
      type: 'answer',
      pieces: ['one ', 'two ', 'three'],
      keepAliveEvery: 1,
      queuedKeepAlives: 2,
      tokenIntervalMs: 5,
    });
    const { events, last } = await run('r-comments');
    assert.equal(answerOf(events), 'one two three');
    assert.equal(last.type, 'chat.done');
  });

  test('a reasoning model streams its thinking as reasoning deltas, then the answer', async () => {
    fake.enqueue({
      type: 'answer',
      reasoning: ['Let me ', 'think.'],
      pieces: ['The answer ', 'is 42.'],
      tokenIntervalMs: 5,
    });
    const { events, last } = await run('r-reasoning', 'what is it?', { model: 'deepseek-reasoner' });
    const reasoning = events
      .map((event) => (event.type === 'chat.delta' ? (event.reasoning ?? '') : ''))
      .join('');
    assert.equal(reasoning, 'Let me think.');
    assert.equal(answerOf(events), 'The answer is 42.');
    assert.equal(last.type === 'chat.done' && last.model, 'deepseek-reasoner');
  });

  test('the model API key never reaches a client, even when the provider quotes it', async () => {
    fake.enqueue({
      type: 'status',
      status: 401,
      error: { message: 'Incorrect API key provided: sk-fault-secret.', code: 'invalid_api_key' },
    });
    const { last } = await run('r-401');
    assert.equal((last as ChatErrorFrame).code, 'provider_error');
    assert.ok(!JSON.stringify(client.frames).includes('sk-fault-secret'));
  });
});

describe('a worker killed mid-answer', () => {
  const prefix = testPrefix('crash');
  let fake: FakeOpenAI;

  after(async () => {
    await fake.close();
    await cleanupPrefix(prefix);
  });

  test('another worker restarts the request: chat.restart, the whole answer, exactly one terminal event', async () => {
    fake = await startFakeOpenAI();
    const env = testEnv(prefix, {
      OPENAI_BASE_URL: fake.url,
      OPENAI_API_KEY: 'k',
      OPENAI_MODEL: 'fake-model',
      WORKER_LOCK_MS: '1000',
    });
    const gateway = await startTestApp('gateway', env);
    const doomed = await startRole('worker', env);
    const pieces = Array.from({ length: 40 }, (_, index) => `w${index} `);
    fake.script(() => ({ type: 'answer', pieces, tokenIntervalMs: 25 }));
    const client = await TestClient.open(gateway.url);
    try {
      client.send(chatSend('crash-1', 'survive this'));
      await client.next((frame) => frame.type === 'chat.delta' && frame.seq >= 3);
      await doomed.kill('SIGKILL');
      const survivor = await startRole('worker', env);
      try {
        const events = await client.untilEnd('crash-1', 20_000);
        assertWellFormed(events);
        assert.ok(events.some((event) => event.type === 'chat.restart'));
        assert.equal(events.at(-1)?.type, 'chat.done');
        assert.equal(answerOf(events), pieces.join(''));
        assert.equal(fake.requests.length, 2);
      } finally {
        await survivor.kill();
      }
    } finally {
      fake.script(undefined);
      client.close();
      await gateway.close();
    }
  });
});

describe('no worker at all', () => {
  const prefix = testPrefix('noworker');

  after(() => cleanupPrefix(prefix));

  test('an accepted request still ends, with a retryable overloaded error, once its queue wait is over', async () => {
    const gateway = await startTestApp('gateway', testEnv(prefix, { QUEUE_WAIT_TIMEOUT_MS: '1000' }));
    const client = await TestClient.open(gateway.url);
    try {
      const started = Date.now();
      client.send(chatSend('orphan', 'is anyone there?'));
      await client.next((frame) => frame.type === 'chat.accepted');
      const events = await client.untilEnd('orphan', 15_000);
      assertWellFormed(events);
      const error = events.at(-1) as ChatErrorFrame;
      assert.equal(error.code, 'overloaded');
      assert.equal(error.retryable, true);
      assert.ok(Date.now() - started < 10_000);
    } finally {
      client.close();
      await gateway.close();
    }
  });
});
