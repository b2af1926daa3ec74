// Retry-After parsing and key scrubbing, the parts of error mapping the fake server cannot reach.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRetryAfterMs, scrub } from './map-openai-error.ts';

test('Retry-After: seconds, an HTTP date, retry-after-ms first, nonsense ignored', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');
  assert.equal(parseRetryAfterMs(new Headers({ 'retry-after': '3' }), now), 3000);
  assert.equal(parseRetryAfterMs(new Headers({ 'retry-after': '0.5' }), now), 500);
  assert.equal(parseRetryAfterMs(new Headers({ 'retry-after': 'Wed, 01 Jan 2025 00:00:05 GMT' }), now), 5000);
  assert.equal(parseRetryAfterMs(new Headers({ 'retry-after': 'Tue, 31 Dec 2024 23:00:00 GMT' }), now), 0);
  assert.equal(parseRetryAfterMs(new Headers({ 'retry-after': '3', 'retry-after-ms': '1234.5' }), now), 1235);
  assert.equal(parseRetryAfterMs(new Headers({ 'retry-after': 'soon' }), now), undefined);
  assert.equal(parseRetryAfterMs(new Headers({ 'retry-after': '-1' }), now), undefined);
  assert.equal(parseRetryAfterMs(new Headers(), now), undefined);
  assert.equal(parseRetryAfterMs(undefined, now), undefined);
  assert.equal(parseRetryAfterMs(new Headers({ 'retry-after': '999999' }), now), 3_600_000);
});

test('scrub removes the key and anything shaped like a key or bearer token', () => {
  assert.equal(scrub('bad key abcd-1234-efgh here', 'abcd-1234-efgh'), 'bad key *** here');
  assert.equal(
    scrub('Incorrect API key provided: sk-proj-abc123DEF456', undefined),
    'Incorrect API key provided: sk-***',
  );
  assert.equal(scrub('header Bearer xyz.abc', undefined), 'header Bearer ***');
  assert.equal(scrub('nothing secret', 'key-that-is-absent'), 'nothing secret');
});
