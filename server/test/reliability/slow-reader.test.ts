// A client that stops reading mid-answer: the gateway's memory stays flat, it closes the socket with 1013 after
// SLOW_READER_CLOSE_MS, and the client resumes the whole answer without loss.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeFigures } from './chat-client.ts';
import { slowReaders } from './slow-reader.ts';

test('a stuck reader is closed with 1013 without growing the gateway, then resumes the answer whole', async (t) => {
  const result = await slowReaders({ closeMs: 2_000, answerMb: 10, rawNeverReads: true });
  t.diagnostic(
    `${describeFigures('slow reader', result.figures)}; answer ${(result.answerBytes / 1_048_576).toFixed(1)} MB; ` +
      `closed ${result.closedAfterMs} ms after the pause; RSS growth ${Math.round(result.rssGrowthKiB / 1024)} MiB ` +
      `(raw socket: ${Math.round((result.raw?.rssGrowthKiB ?? 0) / 1024)} MiB, close ${result.raw?.closeCode}); ` +
      `healthy client's slowest ping ${result.healthySlowestPingMs} ms`,
  );
  assert.ok(result.closedAfterMs !== undefined, 'the gateway never gave up on the stuck reader');
  assert.ok(result.closedAfterMs >= 1_900, `closed too early: ${result.closedAfterMs} ms`);
  assert.equal(result.closeCodes[0], 1013);
  assert.equal(result.figures.completed, 1, `the resumed answer is whole: ${result.details.join('; ')}`);
  assert.equal(result.figures.lost + result.figures.duplicated + result.figures.hung, 0);
  // The answer is 24 MB; the gateway holds back at most its send buffer (1 MB) and one log read.
  assert.ok(result.rssGrowthKiB < 64 * 1024, `the gateway grew by ${result.rssGrowthKiB} KiB`);
  assert.equal(result.raw?.closeCode, 1013, 'a socket that never reads is closed with 1013 too');
  assert.ok((result.raw?.rssGrowthKiB ?? 0) < 64 * 1024);
  assert.ok(result.healthySlowestPingMs < 5_000);
  assert.deepEqual(result.leaks, []);
  assert.equal(result.crashes, 0);
});
