// One user floods connections and frames and asks for too many answers at once, across two gateways: clear
// rate_limited answers for that user, normal service for everyone else.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { limits } from './limits.ts';

test('connection floods (with and without hello), a frame flood and too many generations: clear answers; others served', async (t) => {
  const result = await limits({
    connections: 120,
    anonymousConnections: 100,
    socketsPerUser: 16,
    floodSockets: 6,
    floodFrames: 600,
    concurrentLimit: 3,
    concurrentTries: 10,
    helloTimeoutMs: 1_000,
  });
  t.diagnostic(JSON.stringify(result));
  const { connectionFlood, anonymousFlood, frameFlood, concurrent } = result;
  assert.equal(connectionFlood.opened, 16, 'the user keeps MAX_SOCKETS_PER_USER sockets');
  assert.equal(connectionFlood.refused, 120 - 16);
  assert.equal(connectionFlood.refusalCodes.rate_limited, 120 - 16, 'each refused socket was told why');
  assert.equal(connectionFlood.closeCodes['1013'], 120 - 16);
  assert.ok(connectionFlood.otherUserSlowestPingMs < 5_000);
  assert.ok(Number.isFinite(connectionFlood.otherUserChatMs), 'the other user chats during the flood');

  assert.equal(
    anonymousFlood.closeCodes['4408'],
    anonymousFlood.opened,
    'sockets without hello go after HELLO_TIMEOUT_MS',
  );
  assert.ok(anonymousFlood.allClosedAfterMs < 5_000);
  assert.ok(anonymousFlood.otherUserSlowestPingMs < 5_000);

  assert.ok(frameFlood.rateLimitedAnswers >= 6, 'every flooding socket is told rate_limited');
  assert.ok((frameFlood.retryAfterMs ?? 0) > 0, 'with retryAfterMs');
  assert.equal(frameFlood.closeCodes['1008'], 6, 'and closed with 1008 when it goes on');
  assert.ok(frameFlood.otherUserSlowestPingMs < 5_000);
  assert.ok(Number.isFinite(frameFlood.otherUserChatMs));

  assert.equal(concurrent.accepted, 3, 'the limit holds across two gateways');
  assert.equal(concurrent.rateLimited, 7);
  assert.ok((concurrent.retryAfterMs ?? 0) > 0);
  assert.equal(concurrent.acceptedCompleted, 3);
  assert.equal(concurrent.otherUserCompleted, 3, 'the other user is served meanwhile');
  assert.deepEqual(result.leaks, []);
  assert.equal(result.crashes, 0);
});
