// Worker and gateway processes killed with SIGKILL mid-answer, and Redis restarted mid-answer: every request ends
// exactly once, its seq without gap, its text the model's. (`npm run reliability` runs the longer versions.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertSound } from './assertions.ts';
import { describeFigures } from './chat-client.ts';
import { gatewayKills, redisRestarts, workerKills } from './process-faults.ts';
import { seedFromEnvironment } from './random.ts';

test('kill -9 of a random worker every ~second: each request ends once, complete or with a clear error', async (t) => {
  const seed = seedFromEnvironment();
  const result = await workerKills({
    seed,
    workers: 3,
    gateways: 1,
    clients: 3,
    requests: 20,
    spacingMs: 100,
    tokens: 20,
    tokenIntervalMs: 50,
    killEveryMs: 1_000,
    settleMs: 60_000,
  });
  t.diagnostic(`${describeFigures(result.name, result.figures)}; ${result.notes.join('; ')}`);
  assertSound(result, ` (RELIABILITY_SEED=${seed})`);
  assert.ok(result.figures.completed >= result.figures.sent / 2, 'most answers survive the kills');
  assert.ok(result.figures.restarts > 0, 'some answers were interrupted and restarted');
});

test('kill -9 of a random gateway every ~second: clients resume on another, nothing lost or repeated', async (t) => {
  const seed = seedFromEnvironment();
  const result = await gatewayKills({
    seed,
    gateways: 3,
    workers: 2,
    clients: 4,
    requests: 16,
    spacingMs: 150,
    tokens: 30,
    tokenIntervalMs: 50,
    killEveryMs: 1_000,
    settleMs: 60_000,
  });
  t.diagnostic(`${describeFigures(result.name, result.figures)}; ${result.notes.join('; ')}`);
  assertSound(result, ` (RELIABILITY_SEED=${seed})`);
  assert.equal(result.figures.completed, result.figures.sent, 'a gateway dying costs no answer');
});

test('Redis (our own, AOF) shut down and restarted mid-answer twice: everyone reconnects, every answer completes', async (t) => {
  const result = await redisRestarts({
    requests: 8,
    clients: 2,
    workers: 2,
    tokens: 40,
    tokenIntervalMs: 50,
    restarts: 2,
    downMs: 1_000,
    how: 'shutdown',
    settleMs: 60_000,
  });
  t.diagnostic(`${describeFigures(result.name, result.figures)}; ${result.notes.join('; ')}`);
  assertSound(result);
  assert.equal(result.figures.completed, result.figures.sent);
});
