import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffDelay } from './backoff.ts';

const options = { initialMs: 100, maxMs: 1_000, factor: 2 };

test('the delay ceiling doubles per attempt and stops at the maximum', () => {
  const highest = (attempt: number) => backoffDelay(attempt, { ...options, random: () => 0.999999 });
  assert.deepEqual([0, 1, 2, 3, 4, 10].map(highest), [100, 200, 400, 800, 1_000, 1_000]);
});

test('jitter spreads delays over the upper half of the ceiling, never to zero', () => {
  const lowest = (attempt: number) => backoffDelay(attempt, { ...options, random: () => 0 });
  assert.deepEqual([0, 1, 2, 3, 4].map(lowest), [50, 100, 200, 400, 500]);
  const seen = new Set<number>();
  for (let index = 0; index < 200; index += 1) {
    const delay = backoffDelay(3, { ...options, random: Math.random });
    assert.ok(delay >= 400 && delay <= 800, `delay ${delay}`);
    seen.add(delay);
  }
  assert.ok(seen.size > 20, 'random draws give different delays');
});
