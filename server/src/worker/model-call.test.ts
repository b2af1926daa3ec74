import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ChatJob } from '../jobs.ts';
import { type Provider, ProviderError, type ProviderEvent } from '../providers/types.ts';
import { callModelOnce, modelRequest } from './model-call.ts';

function providerOf(events: ProviderEvent[]): Provider {
  return {
    id: 'list',
    async *stream() {
      yield* events;
    },
  };
}

/** Records what it is given, and whether the finish came after the flush. */
function recordingSink() {
  const log: string[] = [];
  return {
    log,
    push: (text: string | undefined, reasoning: string | undefined) =>
      log.push(`push ${text ?? ''}|${reasoning ?? ''}`),
    flush: async () => {
      log.push('flush');
    },
  };
}

const job: ChatJob = {
  key: 'k',
  user: 'u',
  id: 'i',
  model: 'm',
  messages: [{ role: 'user', content: 'hi' }],
};

test('the request carries the options the job set, and only those', () => {
  const signal = new AbortController().signal;
  assert.deepEqual(Object.keys(modelRequest(job, [], signal)).sort(), ['messages', 'model', 'signal']);
  const request = modelRequest({ ...job, options: { temperature: 0, maxTokens: 5 } }, [], signal);
  assert.equal(request.temperature, 0);
  assert.equal(request.maxTokens, 5);
});

test('deltas go to the sink in order; the finish is returned after they were flushed', async () => {
  const sink = recordingSink();
  const finish: ProviderEvent = { type: 'finish', finishReason: 'stop', model: 'm' };
  const events: ProviderEvent[] = [{ type: 'delta', text: 'a' }, { type: 'delta', reasoning: 'r' }, finish];
  const result = await callModelOnce(
    providerOf(events),
    modelRequest(job, [], new AbortController().signal),
    sink,
  );
  assert.deepEqual(result, finish);
  assert.deepEqual(sink.log, ['push a|', 'push |r', 'flush']);
});

test('a stream without a finish is a retryable provider error, and nothing is flushed', async () => {
  for (const events of [[], [{ type: 'delta', text: 'a' }]] satisfies ProviderEvent[][]) {
    const sink = recordingSink();
    await assert.rejects(
      callModelOnce(providerOf(events), modelRequest(job, [], new AbortController().signal), sink),
      (error) => error instanceof ProviderError && error.code === 'provider_error' && error.retryable,
    );
    assert.equal(sink.log.includes('flush'), false);
  }
});
