// Timestamps as transcripts write them and as links read them back.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatTimestamp, secondsOf } from './timestamp-links.ts';

test('a time is written m:ss, with hours once a video is that long, and read back to seconds', () => {
  assert.equal(formatTimestamp(5_000), '0:05');
  assert.equal(formatTimestamp(65_400), '1:05');
  assert.equal(formatTimestamp(3_723_000), '1:02:03');
  assert.equal(formatTimestamp(-1), '0:00');
  assert.equal(secondsOf(undefined, '1', '05'), 65);
  assert.equal(secondsOf('1', '02', '03'), 3723);
});
