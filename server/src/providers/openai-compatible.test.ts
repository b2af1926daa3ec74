// The OpenAI-compatible provider against a real HTTP server speaking the real protocol, every fault included.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, test } from 'node:test';
import { type FakeOpenAI, fakeBehaviours, lastUserText, startFakeOpenAI } from '@chrome-plus/testkit';
import { createOpenAICompatibleProvider, type ProviderTimeouts } from './openai-compatible.ts';
import { ProviderError, type ProviderEvent, type ProviderRequest } from './types.ts';

const apiKey = 'sk-test-secret-key-0123456789';
// Generous by default: only the timeout tests depend on a timer, and they set their own.
const timeouts: ProviderTimeouts = { connectMs: 10_000, idleMs: 10_000, totalMs: 30_000 };

let fake: FakeOpenAI;
before(async () => {
  fake = await startFakeOpenAI();
});
after(async () => {
  await fake.close();
});

function provider(overrides: Partial<ProviderTimeouts> = {}, key: string | undefined = apiKey) {
  return createOpenAICompatibleProvider({
    id: 'fake',
    baseURL: fake.url,
    apiKey: key,
    timeouts: { ...timeouts, ...overrides },
  });
}

function request(text = 'hello', extra: Partial<ProviderRequest> = {}): ProviderRequest {
  return {
    model: 'fake-model',
    messages: [{ role: 'user', content: text }],
    signal: new AbortController().signal,
    ...extra,
  };
}

async function collect(events: AsyncIterable<ProviderEvent>): Promise<ProviderEvent[]> {
  const all: ProviderEvent[] = [];
  for await (const event of events) all.push(event);
  return all;
}

function text(events: ProviderEvent[]): string {
  return events.map((event) => (event.type === 'delta' ? (event.text ?? '') : '')).join('');
}

/** Collects until the stream fails, and returns that ProviderError. */
async function failure(events: AsyncIterable<ProviderEvent>): Promise<ProviderError> {
  try {
    await collect(events);
  } catch (error) {
    assert.ok(error instanceof ProviderError, `expected a ProviderError, got ${String(error)}`);
    return error;
  }
  assert.fail('the stream did not fail');
}

/** The request the fake received with this user message, once it has arrived. */
async function received(text: string) {
  for (let waited = 0; waited < 5000; waited += 5) {
    const record = fake.requests.find((candidate) => lastUserText(candidate.body) === text);
    if (record) return record;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.fail(`the fake never received "${text}"`);
}

/** The request the fake received last. */
function lastRequest() {
  const record = fake.requests.at(-1);
  assert.ok(record);
  return record;
}

test('streams the answer as deltas, then exactly one finish with the model and usage', async () => {
  fake.enqueue({
    type: 'answer',
    pieces: ['The ', 'answer ', '', 'is here.'],
    usage: { prompt_tokens: 11, completion_tokens: 4 },
  });
  const events = await collect(
    provider().stream(
      request('hi', {
        temperature: 0.5,
        maxTokens: 100,
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'hi' },
        ],
      }),
    ),
  );
  assert.deepEqual(events, [
    { type: 'delta', text: 'The ' },
    { type: 'delta', text: 'answer ' },
    { type: 'delta', text: 'is here.' },
    {
      type: 'finish',
      finishReason: 'stop',
      model: 'fake-model',
      usage: { promptTokens: 11, completionTokens: 4 },
    },
  ]);
  const sent = lastRequest();
  assert.equal(sent.headers.authorization, `Bearer ${apiKey}`);
  assert.equal(sent.body?.stream, true);
  assert.deepEqual(sent.body?.stream_options, { include_usage: true });
  assert.equal(sent.body?.temperature, 0.5);
  assert.equal(sent.body?.max_tokens, 100);
  assert.deepEqual(sent.body?.messages, [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'hi' },
  ]);
});

test('reasoning_content arrives as reasoning deltas before the text', async () => {
  fake.enqueue(fakeBehaviours.reasoning());
  const events = await collect(provider().stream(request()));
  assert.deepEqual(events.slice(0, 4), [
    { type: 'delta', reasoning: 'Let me ' },
    { type: 'delta', reasoning: 'think.' },
    { type: 'delta', text: 'The answer ' },
    { type: 'delta', text: 'is 42.' },
  ]);
  assert.equal(events.at(-1)?.type, 'finish');
});

test('a stream without a usage chunk finishes without usage; finish_reason and model pass through', async () => {
  fake.enqueue({
    type: 'answer',
    pieces: ['x'],
    usage: false,
    finishReason: 'length',
    model: 'fake-model-2024',
  });
  const events = await collect(provider().stream(request()));
  assert.deepEqual(events.at(-1), { type: 'finish', finishReason: 'length', model: 'fake-model-2024' });
});

test('SSE comments (": keep-alive") are ignored', async () => {
  fake.enqueue({ type: 'answer', pieces: ['a', 'b', 'c'], keepAliveEvery: 1, queuedKeepAlives: 2 });
  const events = await collect(provider().stream(request()));
  assert.equal(text(events), 'abc');
  assert.equal(events.length, 4);
});

test('keep-alive comments count as life: a long queue wait is not an idle timeout', async () => {
  fake.enqueue({ type: 'answer', pieces: ['ok'], queuedKeepAlives: 30, tokenIntervalMs: 10 });
  const events = await collect(provider({ idleMs: 200 }).stream(request()));
  assert.equal(text(events), 'ok');
});

test('a consumer slower than the idle timeout is not taken for a silent provider', async () => {
  fake.enqueue({ type: 'answer', pieces: ['a', 'b'] });
  const events: ProviderEvent[] = [];
  for await (const event of provider({ idleMs: 40 }).stream(request())) {
    events.push(event);
    await new Promise((resolve) => setTimeout(resolve, 120));
  }
  assert.equal(text(events), 'ab');
});

test('429 is rate_limited and retryable, with Retry-After in seconds', async () => {
  fake.enqueue(fakeBehaviours.rateLimited('2'));
  const error = await failure(provider().stream(request()));
  assert.equal(error.code, 'rate_limited');
  assert.equal(error.retryable, true);
  assert.equal(error.retryAfterMs, 2000);
  assert.equal(error.status, 429);
  assert.match(error.message, /too many requests.*2 s/);
});

test('429 honours retry-after-ms', async () => {
  fake.enqueue(fakeBehaviours.rateLimited('1500', 'retry-after-ms'));
  const error = await failure(provider().stream(request()));
  assert.equal(error.retryAfterMs, 1500);
});

test('429 insufficient_quota is not worth retrying', async () => {
  fake.enqueue({
    type: 'status',
    status: 429,
    error: {
      message: 'You exceeded your current quota.',
      type: 'insufficient_quota',
      code: 'insufficient_quota',
    },
  });
  const error = await failure(provider().stream(request()));
  assert.equal(error.code, 'provider_error');
  assert.equal(error.retryable, false);
});

test('500 and 503 are retryable provider errors', async () => {
  fake.enqueue(fakeBehaviours.serverError(500), fakeBehaviours.serverError(503));
  for (const status of [500, 503]) {
    const error = await failure(provider().stream(request()));
    assert.equal(error.code, 'provider_error');
    assert.equal(error.retryable, true);
    assert.equal(error.status, status);
    assert.match(error.message, new RegExp(`HTTP ${status}`));
  }
});

test('408 is a retryable timeout', async () => {
  fake.enqueue({ type: 'status', status: 408, error: { message: 'Request timed out.' } });
  const error = await failure(provider().stream(request()));
  assert.equal(error.code, 'provider_timeout');
  assert.equal(error.retryable, true);
});

test('400 is bad_request, not retryable, and says why', async () => {
  fake.enqueue(fakeBehaviours.badRequest());
  const error = await failure(provider().stream(request()));
  assert.equal(error.code, 'bad_request');
  assert.equal(error.retryable, false);
  assert.equal(error.status, 400);
  assert.match(error.message, /rejected the request \(HTTP 400\): Invalid value for 'temperature'/);
});

test('401 and 403 say the server key was refused, without ever showing the key', async () => {
  fake.enqueue(fakeBehaviours.unauthorized(), {
    type: 'status',
    status: 403,
    error: { message: `Key ${apiKey} is not allowed`, type: 'permission_error' },
  });
  for (const status of [401, 403]) {
    const error = await failure(provider().stream(request()));
    assert.equal(error.code, 'provider_error');
    assert.equal(error.retryable, false);
    assert.equal(error.status, status);
    assert.match(error.message, /refused this server's API key/);
    assert.ok(!error.message.includes(apiKey));
    assert.ok(!String((error.cause as Error).message).includes(apiKey), 'the logged cause is scrubbed too');
  }
  assert.match(JSON.stringify(fake.requests.at(-2)?.headers), new RegExp(apiKey), 'the fake did get the key');
});

test('404 (or a message saying the model does not exist) is model_not_found', async () => {
  fake.enqueue(fakeBehaviours.modelNotFound(), {
    type: 'status',
    status: 400,
    error: { message: 'Model Not Exist', type: 'invalid_request_error' },
  });
  for (let round = 0; round < 2; round++) {
    const error = await failure(provider().stream(request('x', { model: 'gpt-nope' })));
    assert.equal(error.code, 'model_not_found');
    assert.equal(error.retryable, false);
    assert.match(error.message, /"gpt-nope" does not exist/);
  }
});

test('a server that never answers hits the connect timeout, and the request is dropped', async () => {
  // A marker, not the queue: should the timer beat the request to the server, nothing is left queued.
  const message = 'connect timeout [[fake:hang]]';
  const started = performance.now();
  const error = await failure(provider({ connectMs: 200 }).stream(request(message)));
  assert.equal(error.code, 'provider_timeout');
  assert.equal(error.retryable, true);
  assert.match(error.message, /did not start answering within 0\.2 s/);
  assert.ok(performance.now() - started < 2000);
  assert.equal((await (await received(message)).closed).early, true);
});

test('a server that goes silent mid-answer hits the idle timeout', async () => {
  const message = 'idle timeout [[fake:silent after=1]]';
  const events: ProviderEvent[] = [];
  const error = await failure(
    (async function* () {
      for await (const event of provider({ idleMs: 60 }).stream(request(message))) {
        events.push(event);
        yield event;
      }
    })(),
  );
  assert.equal(error.code, 'provider_timeout');
  assert.equal(error.retryable, true);
  assert.match(error.message, /went silent/);
  assert.deepEqual(events, [{ type: 'delta', text: 'one ' }]);
  assert.equal((await (await received(message)).closed).early, true);
});

test('headers then silence is an idle timeout too', async () => {
  const error = await failure(provider({ idleMs: 50 }).stream(request('[[fake:silent]]')));
  assert.equal(error.code, 'provider_timeout');
});

test('the total deadline ends a slow but steady answer, not retryable', async () => {
  fake.enqueue({ type: 'answer', tokens: 1000, tokenIntervalMs: 10 });
  const error = await failure(provider({ totalMs: 80 }).stream(request()));
  assert.equal(error.code, 'provider_timeout');
  assert.equal(error.retryable, false);
  assert.match(error.message, /did not finish the answer/);
});

test('a connection cut mid-stream is a retryable provider error', async () => {
  fake.enqueue(fakeBehaviours.cut(2));
  const error = await failure(provider().stream(request()));
  assert.equal(error.code, 'provider_error');
  assert.equal(error.retryable, true);
  assert.match(error.message, /cut off mid-answer/);
});

test('a stream that ends cleanly but without any finish_reason is treated as cut', async () => {
  fake.enqueue({ type: 'answer', pieces: ['a'], finishReason: null });
  const error = await failure(provider().stream(request()));
  assert.equal(error.code, 'provider_error');
  assert.equal(error.retryable, true);
  assert.match(error.message, /ended before the answer was complete/);
});

test('an error object inside the stream is a provider error, retryable when it sounds like overload', async () => {
  fake.enqueue(fakeBehaviours.streamError(1), {
    type: 'answer',
    pieces: ['a', 'b'],
    errorAfter: 1,
    error: { message: 'Content policy violation', type: 'invalid_request_error', code: 'content_filter' },
  });
  const overloaded = await failure(provider().stream(request()));
  assert.equal(overloaded.code, 'provider_error');
  assert.equal(overloaded.retryable, true);
  assert.match(overloaded.message, /mid-answer: The engine is currently overloaded/);
  const refused = await failure(provider().stream(request()));
  assert.equal(refused.code, 'provider_error');
  assert.equal(refused.retryable, false);
});

test("the caller's abort ends the stream with the abort reason and closes the HTTP request", async () => {
  fake.enqueue({ type: 'answer', tokens: 1000, tokenIntervalMs: 5 });
  const controller = new AbortController();
  const reason = new Error('cancelled by the user');
  reason.name = 'AbortError';
  const events: ProviderEvent[] = [];
  await assert.rejects(
    (async () => {
      for await (const event of provider().stream(request('x', { signal: controller.signal }))) {
        events.push(event);
        if (events.length === 2) controller.abort(reason);
      }
    })(),
    (error) => error === reason,
  );
  assert.equal(events.length, 2);
  const closed = await lastRequest().closed;
  assert.equal(closed.early, true);
});

test('an abort before the headers arrive throws an AbortError, not a ProviderError', async () => {
  const message = 'abort while waiting [[fake:hang]]';
  const controller = new AbortController();
  const stream = collect(provider().stream(request(message, { signal: controller.signal })));
  const record = await received(message);
  controller.abort();
  await assert.rejects(stream, (error: Error) => error.name === 'AbortError');
  assert.equal((await record.closed).early, true);
  const aborted = new AbortController();
  aborted.abort();
  await assert.rejects(
    collect(provider().stream(request('x', { signal: aborted.signal }))),
    (error: Error) => error.name === 'AbortError',
  );
});

test('a consumer that stops early closes the HTTP request', async () => {
  fake.enqueue({ type: 'answer', tokens: 1000, tokenIntervalMs: 5 });
  for await (const event of provider().stream(request())) {
    assert.equal(event.type, 'delta');
    break;
  }
  assert.equal((await lastRequest().closed).early, true);
});

test('an unreachable server is a retryable provider error', async () => {
  const port = await new Promise<number>((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
  const unreachable = createOpenAICompatibleProvider({
    id: 'gone',
    baseURL: `http://127.0.0.1:${port}/v1`,
    apiKey,
    timeouts,
  });
  const error = await failure(unreachable.stream(request()));
  assert.equal(error.code, 'provider_error');
  assert.equal(error.retryable, true);
  assert.match(error.message, /Could not connect to the model provider \(gone\)/);
});

test('without a key no Authorization header is sent; an injected fetch is used', async () => {
  let calls = 0;
  const keyless = createOpenAICompatibleProvider({
    id: 'local',
    baseURL: fake.url,
    timeouts,
    fetch: (input, init) => {
      calls++;
      return fetch(input, init);
    },
  });
  const events = await collect(keyless.stream(request('local')));
  assert.equal(text(events), 'Echo: local');
  assert.equal(calls, 1);
  assert.equal(lastRequest().headers.authorization, undefined);
});
