// The daily budget: no query without one, a refusal that says when it resets, and a database outage lets chats on.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { createQuotaCheck, startOfUtcDay } from './quota.ts';

const logger = pino({ level: 'silent' });
const at = Date.UTC(2026, 11, 2, 21, 30); // 21:30 UTC: 2 h 30 min to the reset

test('a user without a budget costs no query and passes', () => {
  const check = createQuotaCheck({
    directory: { quotaOf: () => undefined },
    store: { tokensSince: () => assert.fail('no query without a budget') },
    logger,
  });
  assert.equal(check('alice'), undefined);
});

test('a spent budget is refused with quota_exceeded, the amounts and the time to the reset', async () => {
  const asked: Date[] = [];
  const check = createQuotaCheck({
    directory: { quotaOf: () => 50_000 },
    store: {
      tokensSince: async (_user, since) => {
        asked.push(since);
        return 50_012;
      },
    },
    logger,
    now: () => at,
  });
  const refusal = await check('alice');
  assert.equal(refusal?.code, 'quota_exceeded');
  assert.equal(
    refusal?.message,
    'daily token budget spent: 50,012 of 50,000 tokens today; it resets at 00:00 UTC, in 2 h 30 min',
  );
  assert.equal(refusal?.retryAfterMs, 150 * 60_000);
  assert.equal(asked[0]?.getTime(), startOfUtcDay(at));
});

test('under the budget passes; a database that fails lets the request through', async () => {
  const under = createQuotaCheck({
    directory: { quotaOf: () => 100 },
    store: { tokensSince: async () => 99 },
    logger,
    now: () => at,
  });
  assert.equal(await under('alice'), undefined);
  const down = createQuotaCheck({
    directory: { quotaOf: () => 100 },
    store: { tokensSince: async () => Promise.reject(new Error('connection refused')) },
    logger,
    now: () => at,
  });
  assert.equal(await down('alice'), undefined);
});
