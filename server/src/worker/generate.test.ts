// One attempt's life against a real generation log and an in-process model: retries before the first token and
// not after, cancel and shutdown, fencing, the checks before the model is called.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { cleanupPrefix, REDIS_URL, testPrefix, until } from '@chrome-plus/testkit';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { createKeys, requestKey } from '../generations/keys.ts';
import { createGenerationLog, type GenerationLog } from '../generations/log.ts';
import type { ChatJob } from '../jobs.ts';
import type { Providers } from '../providers/registry.ts';
import {
  type Provider,
  ProviderError,
  type ProviderEvent,
  type ProviderRequest,
} from '../providers/types.ts';
import { AttemptAbandoned } from './attempt-ending.ts';
import { type GenerateOptions, startAttempt } from './generate.ts';

const prefix = testPrefix('generate');
let redis: Redis;
let log: GenerationLog;

before(() => {
  redis = new Redis(REDIS_URL);
  log = createGenerationLog({
    redis,
    keys: createKeys(prefix),
    retentionMs: 60_000,
    recordMs: 120_000,
    maxLifetimeMs: 600_000,
  });
});

after(async () => {
  redis.disconnect();
  await cleanupPrefix(prefix);
});

/** One model call's script: the events it yields, then an error to throw, or a wait for its abort. */
type Call = {
  events: ProviderEvent[];
  fail?: ProviderError;
  hang?: boolean;
  beforeFail?: () => Promise<void>;
};

function scriptedProvider(calls: Call[]) {
  const requests: ProviderRequest[] = [];
  const provider: Provider = {
    id: 'scripted',
    async *stream(request) {
      const call = calls[requests.length] ?? calls[calls.length - 1]!;
      requests.push(request);
      for (const event of call.events) yield event;
      if (call.hang) {
        await new Promise((_resolve, reject) => {
          request.signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
        });
      }
      await call.beforeFail?.();
      if (call.fail) throw call.fail;
    },
  };
  const providers: Providers = {
    resolve: (model) =>
      model === 'm' ? { provider, model: { id: 'm', reasoning: false, vision: false } } : undefined,
    models: () => [],
  };
  return { providers, requests };
}

const done: ProviderEvent = { type: 'finish', finishReason: 'stop', model: 'm' };
const unavailable = () => new ProviderError('provider_error', 'busy', { retryable: true, status: 503 });

let counter = 0;
async function newJob(model = 'm'): Promise<ChatJob> {
  const id = `r${++counter}`;
  const job: ChatJob = {
    key: requestKey('u', id),
    user: 'u',
    id,
    model,
    messages: [{ role: 'user', content: 'hi' }],
  };
  await log.submit(job.key, { user: 'u', id, model });
  return job;
}

function optionsWith(providers: Providers, extra: Partial<GenerateOptions> = {}): GenerateOptions {
  return {
    log,
    providers,
    logger: pino({ level: 'silent' }),
    timeouts: { totalMs: 10_000, queueWaitMs: 60_000 },
    retries: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 },
    maxInterruptions: 2,
    coalesce: { maxDelayMs: 0, maxChars: 2048 },
    ...extra,
  };
}

async function events(job: ChatJob): Promise<Record<string, unknown>[]> {
  return (await log.read(job.key, 0)).map((entry) => JSON.parse(entry.json) as Record<string, unknown>);
}

test('a retryable failure before the first token is retried; the answer then ends with chat.done', async () => {
  const { providers, requests } = scriptedProvider([
    { events: [], fail: unavailable() },
    { events: [{ type: 'delta', text: 'Hel' }, { type: 'delta', text: 'lo' }, done] },
  ]);
  const failed: string[] = [];
  const firstDelta: number[] = [];
  const job = await newJob();
  await startAttempt(
    job,
    Date.now(),
    optionsWith(providers, {
      hooks: { providerFailed: (code) => failed.push(code), firstDelta: (ms) => firstDelta.push(ms) },
    }),
  ).done;
  assert.equal(requests.length, 2);
  assert.deepEqual(failed, ['provider_error']);
  assert.equal(firstDelta.length, 1);
  const written = await events(job);
  assert.equal(written.map((event) => event.text ?? '').join(''), 'Hello');
  assert.deepEqual(written.at(-1), {
    seq: written.length,
    type: 'chat.done',
    finishReason: 'stop',
    model: 'm',
  });
});

test('after text was shown a failure is not retried: the request ends with a retryable error', async () => {
  const job = await newJob();
  const { providers, requests } = scriptedProvider([
    {
      events: [{ type: 'delta', text: 'partial' }],
      // Fails once the delta is in the log, i.e. shown.
      beforeFail: () => until(async () => (await events(job)).length > 0, { what: 'the delta' }),
      fail: unavailable(),
    },
  ]);
  await startAttempt(job, Date.now(), optionsWith(providers)).done;
  assert.equal(requests.length, 1);
  const written = await events(job);
  assert.equal(written[0]?.text, 'partial');
  assert.equal(written.at(-1)?.type, 'chat.error');
  assert.equal(written.at(-1)?.retryable, true);
});

test('a client error is not retried; retries stop at maxAttempts', async () => {
  const badRequest = new ProviderError('bad_request', 'no', { retryable: false, status: 400 });
  const first = scriptedProvider([{ events: [], fail: badRequest }]);
  const job = await newJob();
  await startAttempt(job, Date.now(), optionsWith(first.providers)).done;
  assert.equal(first.requests.length, 1);
  assert.equal((await events(job)).at(-1)?.code, 'bad_request');

  const second = scriptedProvider([{ events: [], fail: unavailable() }]);
  const retried = await newJob();
  await startAttempt(retried, Date.now(), optionsWith(second.providers)).done;
  assert.equal(second.requests.length, 3);
  assert.equal((await events(retried)).at(-1)?.code, 'provider_error');
});

test('a stream that ends without a finish is a retryable provider error', async () => {
  const { providers, requests } = scriptedProvider([{ events: [] }]);
  const job = await newJob();
  await startAttempt(
    job,
    Date.now(),
    optionsWith(providers, { retries: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1 } }),
  ).done;
  assert.equal(requests.length, 1);
  const last = (await events(job)).at(-1);
  assert.equal(last?.code, 'provider_error');
  assert.match(String(last?.message), /without finishing/);
});

test('stop(cancel) mid-stream aborts the call and ends the request as cancelled', async () => {
  const { providers, requests } = scriptedProvider([{ events: [{ type: 'delta', text: 'a' }], hang: true }]);
  const job = await newJob();
  const attempt = startAttempt(job, Date.now(), optionsWith(providers));
  await until(async () => (await events(job)).length > 0, { what: 'the first delta' });
  attempt.stop('cancel');
  await attempt.done;
  assert.equal(requests[0]?.signal.aborted, true);
  assert.deepEqual(
    (await events(job)).map((event) => event.type),
    ['chat.delta', 'chat.cancelled'],
  );
});

test('stop(shutdown) abandons the attempt: no terminal event, the next attempt restarts', async () => {
  const { providers } = scriptedProvider([{ events: [{ type: 'delta', text: 'a' }], hang: true }]);
  const job = await newJob();
  const attempt = startAttempt(job, Date.now(), optionsWith(providers));
  await until(async () => (await events(job)).length > 0, { what: 'the first delta' });
  attempt.stop('shutdown');
  await assert.rejects(attempt.done, AttemptAbandoned);
  assert.equal(await attempt.handBack(), true);

  const next = scriptedProvider([{ events: [{ type: 'delta', text: 'b' }, done] }]);
  await startAttempt(job, Date.now(), optionsWith(next.providers)).done;
  assert.deepEqual(
    (await events(job)).map((event) => event.type),
    ['chat.delta', 'chat.restart', 'chat.delta', 'chat.done'],
  );
});

test('an attempt fenced out by a newer one is abandoned at its next append', async () => {
  let open = () => {};
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const provider: Provider = {
    id: 'gated',
    async *stream() {
      yield { type: 'delta', text: 'old' };
      await gate;
      yield { type: 'delta', text: 'zombie' };
      yield done;
    },
  };
  const providers: Providers = {
    resolve: () => ({ provider, model: { id: 'm', reasoning: false, vision: false } }),
    models: () => [],
  };
  const job = await newJob();
  const old = startAttempt(job, Date.now(), optionsWith(providers));
  await until(async () => (await events(job)).length > 0, { what: 'the first delta' });
  await log.begin(job.key, 'newer');
  open();
  await assert.rejects(old.done, /another attempt owns this request/);
  assert.deepEqual(
    (await events(job)).map((event) => event.text),
    ['old'],
  );
});

test('the checks before the call: cancel while queued, a poison request, an unknown model, a long queue wait', async () => {
  const { providers, requests } = scriptedProvider([{ events: [done] }]);

  const cancelled = await newJob();
  await log.requestCancel(cancelled.key);
  await startAttempt(cancelled, Date.now(), optionsWith(providers)).done;
  assert.deepEqual(
    (await events(cancelled)).map((event) => event.type),
    ['chat.cancelled'],
  );

  const poison = await newJob();
  await log.begin(poison.key, 'crashed-1');
  await log.begin(poison.key, 'crashed-2');
  await startAttempt(poison, Date.now(), optionsWith(providers)).done;
  const poisonEnd = (await events(poison)).at(-1);
  assert.equal(poisonEnd?.code, 'internal');
  assert.equal(poisonEnd?.retryable, false);

  const unknown = await newJob('nobody');
  await startAttempt(unknown, Date.now(), optionsWith(providers)).done;
  assert.equal((await events(unknown)).at(-1)?.code, 'model_not_found');

  const late = await newJob();
  await startAttempt(late, Date.now() - 120_000, optionsWith(providers)).done;
  assert.equal((await events(late)).at(-1)?.code, 'overloaded');

  assert.equal(requests.length, 0, 'the model was never called');
});

test('a failure to prepare the messages ends the request with its code', async () => {
  const { providers, requests } = scriptedProvider([{ events: [done] }]);
  const job = await newJob();
  await startAttempt(
    job,
    Date.now(),
    optionsWith(providers, {
      prepareMessages: async () => {
        throw new ProviderError('not_found', 'gone', { retryable: false });
      },
    }),
  ).done;
  assert.equal(requests.length, 0);
  assert.equal((await events(job)).at(-1)?.code, 'not_found');
});
