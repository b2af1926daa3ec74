// The hardening review's attacks, replayed against real processes: each refused or contained, memory bounded,
// the other user served meanwhile.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { abuse } from './abuse.ts';

test('amplified attachments, a frame backlog and a poison request: refused or contained, memory bounded, others served', async (t) => {
  const result = await abuse({
    amplificationFrames: 2,
    amplificationMessages: 1000,
    backlogSockets: 4,
    backlogFrames: 24,
    redisStallMs: 1_500,
    poisonKillLimit: 5,
  });
  t.diagnostic(JSON.stringify(result));
  const { amplification, backlog, poison } = result;

  assert.ok(amplification.frameBytes > 500_000, 'each frame names one file 16,000 times');
  assert.deepEqual(amplification.refusals, { too_large: 2 }, 'every amplified request refused, and told why');
  assert.equal(amplification.modelCalls, 0, 'nothing reached the model');
  assert.ok(amplification.gatewayRssGrowthMiB < 150, `gateway grew ${amplification.gatewayRssGrowthMiB} MiB`);
  assert.ok(amplification.workerRssGrowthMiB < 50, `worker grew ${amplification.workerRssGrowthMiB} MiB`);
  assert.ok(amplification.otherUserSlowestPingMs < 2_000);
  assert.ok(Number.isFinite(amplification.otherUserChatMs), 'the other user chats after it');

  assert.equal(backlog.answers, backlog.framesSent, 'every queued frame answered: none dropped unanswered');
  // Of ~60 MB written, the gateway took its 8 pending frames per socket and the kernel its buffers; the rest
  // stayed with the writers: the gateway paused the sockets instead of reading everything into its memory.
  const sentMiB = (backlog.framesSent * backlog.frameBytes) / 1_048_576;
  assert.ok(backlog.heldBackMiB > sentMiB / 4, `only ${backlog.heldBackMiB} of ${sentMiB} MiB held back`);
  assert.ok(backlog.gatewayRssPeakGrowthMiB < 200, `gateway grew ${backlog.gatewayRssPeakGrowthMiB} MiB`);
  assert.ok(backlog.otherUserSlowestPingMs < 2_000, `other user's ping ${backlog.otherUserSlowestPingMs} ms`);
  assert.ok(Number.isFinite(backlog.otherUserChatMs));

  assert.equal(poison.workersKilled, 2, 'the poison request took two workers, not more');
  assert.equal(poison.modelCalls, 2);
  assert.equal(poison.outcome, 'internal', poison.message);
  assert.equal(poison.retryable, false);

  assert.equal(result.crashes, 0);
  assert.deepEqual(result.leaks, []);
});
