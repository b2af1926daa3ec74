// Hostile input against a gateway process: seeded fuzzing of socket frames while a healthy client chats beside it.
// RELIABILITY_SEED=<n> replays a run; `npm run reliability` runs a longer one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fuzzGateway } from './fuzz.ts';
import { seedFromEnvironment } from './random.ts';

test('fuzzed frames never crash the gateway, get clear answers, and leave a healthy client unaffected', async (t) => {
  const seed = seedFromEnvironment();
  const result = await fuzzGateway({ seed, craftedFrames: 600, maxMs: 40_000, lanes: 4 });
  const replay = `(RELIABILITY_SEED=${seed})`;
  t.diagnostic(
    `${result.framesTried} frames (${result.framesTried - result.floodFrames} crafted) in ${result.durationMs} ms ${replay}; close codes ${JSON.stringify(result.closeCodes)}; ` +
      `errors ${JSON.stringify(result.errorCodes)}; RSS ${Math.round(result.rssBaselineKiB / 1024)} → peak ` +
      `${Math.round(result.rssPeakKiB / 1024)} MiB; healthy client: slowest ping ${result.healthy.slowestPingMs} ms, ` +
      `slowest chat ${result.healthy.slowestChatMs} ms`,
  );
  assert.ok(result.framesTried >= 500, `only ${result.framesTried} frames were tried ${replay}`);
  assert.equal(result.crashes, 0, `a process died ${replay}:\n${result.gatewayLog.slice(-3000)}`);
  assert.deepEqual(result.violations, [], `the gateway sent frames that break the protocol ${replay}`);
  assert.equal(result.unanswered, 0, `a fuzzed socket stopped being answered ${replay}`);
  assert.equal(result.errorCodes.internal ?? 0, 0, `bad input was answered as our own failure ${replay}`);
  assert.ok(!/uncaught|unhandled/i.test(result.gatewayLog), `the gateway logged an uncaught error ${replay}`);
  // Frames of up to 1 MB, parsed six at a time, let V8 grow its heap; what matters is that it stops growing
  // (`npm run reliability` prints the RSS along a 60,000-frame run).
  assert.ok(
    result.rssPeakKiB - result.rssBaselineKiB < 384 * 1024,
    `the gateway grew by ${Math.round((result.rssPeakKiB - result.rssBaselineKiB) / 1024)} MiB ${replay}`,
  );
  assert.equal(result.healthy.chatsDone, result.healthy.chats, `a healthy client's chat failed ${replay}`);
  assert.ok(
    result.healthy.slowestPingMs < 5_000,
    `the healthy client waited ${result.healthy.slowestPingMs} ms`,
  );
  assert.deepEqual(result.leaks, []);
  for (const code of ['1003', '1007', '4401']) {
    if (
      result.byCategory[{ 1003: 'binary frame', 1007: 'invalid UTF-8', 4401: 'frames before hello' }[code]!]
    )
      assert.ok((result.closeCodes[code] ?? 0) > 0, `no close ${code} seen ${replay}`);
  }
});
