// The retry policy: exponential backoff with full jitter, Retry-After as a floor, and only retryable failures retried.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { retryDelayMs, shouldRetry } from './retry.ts';
import { ProviderError } from './types.ts';

const policy = { baseDelayMs: 100, maxDelayMs: 1000 };
const transient = new ProviderError('provider_error', 'boom', { retryable: true, status: 500 });

test('the ceiling doubles per attempt up to maxDelayMs, and the draw scales it (full jitter)', () => {
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6].map((attempt) => retryDelayMs(attempt, transient, policy, () => 1)),
    [100, 200, 400, 800, 1000, 1000],
  );
  assert.equal(
    retryDelayMs(3, transient, policy, () => 0),
    0,
  );
  assert.equal(
    retryDelayMs(3, transient, policy, () => 0.5),
    200,
  );
});

test('jitter stays within [0, ceiling] with the real random source', () => {
  for (let index = 0; index < 1000; index++) {
    const delay = retryDelayMs(4, transient, policy);
    assert.ok(delay >= 0 && delay <= 800);
  }
});

test('Retry-After is a floor, with a little jitter above it, and is capped', () => {
  const limited = (retryAfterMs: number) =>
    new ProviderError('rate_limited', 'slow down', { retryable: true, status: 429, retryAfterMs });
  assert.equal(
    retryDelayMs(1, limited(3000), policy, () => 0),
    3000,
  );
  assert.equal(
    retryDelayMs(1, limited(3000), policy, () => 0.5),
    3050,
  );
  assert.ok(retryDelayMs(1, limited(3000), policy) >= 3000);
  // A short Retry-After does not shorten the exponential wait.
  assert.equal(
    retryDelayMs(4, limited(10), policy, () => 1),
    800,
  );
  assert.equal(
    retryDelayMs(1, limited(3_600_000), policy, () => 0),
    60_000,
  );
  assert.equal(
    retryDelayMs(1, limited(3_600_000), { ...policy, maxRetryAfterMs: 5000 }, () => 0),
    5000,
  );
});

test('only retryable ProviderErrors are retried, never a 4xx other than 408 and 429, and never past maxAttempts', () => {
  assert.equal(shouldRetry(transient, 1, 3), true);
  assert.equal(shouldRetry(transient, 2, 3), true);
  assert.equal(shouldRetry(transient, 3, 3), false);
  assert.equal(shouldRetry(new Error('boom'), 1, 3), false);
  assert.equal(
    shouldRetry(new ProviderError('bad_request', 'no', { retryable: false, status: 400 }), 1, 3),
    false,
  );
  for (const status of [400, 401, 403, 404, 422]) {
    // Even when marked retryable by mistake.
    assert.equal(
      shouldRetry(new ProviderError('provider_error', 'x', { retryable: true, status }), 1, 3),
      false,
    );
  }
  for (const status of [408, 429, 502]) {
    assert.equal(
      shouldRetry(new ProviderError('provider_error', 'x', { retryable: true, status }), 1, 3),
      true,
    );
  }
  const timeout = new ProviderError('provider_timeout', 'slow', { retryable: true });
  assert.equal(shouldRetry(timeout, 1, 2), true);
  const abort = new Error('cancelled');
  abort.name = 'AbortError';
  assert.equal(shouldRetry(abort, 1, 3), false);
});
