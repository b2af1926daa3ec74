// The model API down, slow, silent, cut, failing and rate limiting, through real gateway and worker processes:
// each request ends once, the way its fault calls for.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertSound } from './assertions.ts';
import { describeFigures } from './chat-client.ts';
import { modelFaults } from './model-faults.ts';
import { seedFromEnvironment } from './random.ts';

test('every model API fault, mixed: each request ends exactly once with the outcome its fault calls for', async (t) => {
  const seed = seedFromEnvironment();
  const results = await modelFaults({
    seed,
    perKind: 3,
    workers: 2,
    clients: 3,
    spacingMs: 30,
    settleMs: 60_000,
  });
  for (const result of results) {
    t.diagnostic(describeFigures(result.name, result.figures));
    assertSound(result, ` (RELIABILITY_SEED=${seed})`);
    assert.equal(result.unexpected, 0, `${result.name}: ${result.details.join('; ')}`);
  }
});
