// Retry-After parsing, key scrubbing and network error codes: the parts of error mapping the fake server cannot reach.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mapTransportError, parseRetryAfterMs, scrub, upstreamHttpError } from './map-openai-error.ts';
import { ProviderError } from './types.ts';

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

test("Retry-After from undici's plain header object, repeated headers included", () => {
  const now = Date.parse('2025-01-01T00:00:00Z');
  assert.equal(parseRetryAfterMs({ 'retry-after': '3' }, now), 3000);
  assert.equal(parseRetryAfterMs({ 'retry-after': ['2', '9'] }, now), 2000);
  assert.equal(parseRetryAfterMs({ 'retry-after-ms': '250', 'retry-after': '3' }, now), 250);
  assert.equal(parseRetryAfterMs({}, now), undefined);
});

test("an error body is read as the SDK read it: the error member's message, else its JSON, else the text", () => {
  const headers = {};
  assert.equal(upstreamHttpError(400, '{"error":{"message":"bad","code":"x"}}', headers).message, '400 bad');
  assert.equal(upstreamHttpError(400, '{"error":{"message":"bad","code":"x"}}', headers).code, 'x');
  assert.equal(
    upstreamHttpError(404, '{"error":"model not found"}', headers).message,
    '404 "model not found"',
  );
  assert.equal(upstreamHttpError(422, '{"detail":"no"}', headers).message, '422 status code (no body)');
  assert.equal(upstreamHttpError(502, 'Bad gateway', headers).message, '502 Bad gateway');
  assert.equal(upstreamHttpError(500, '', headers).message, '500 status code (no body)');
});

test("undici's and Node's error codes: timeouts, refusals, cuts", () => {
  const context = { providerId: 'p', model: 'm', apiKey: undefined, midStream: false };
  const coded = (code: string, message = code) => Object.assign(new Error(message), { code });
  for (const code of [
    'UND_ERR_CONNECT_TIMEOUT',
    'UND_ERR_HEADERS_TIMEOUT',
    'UND_ERR_BODY_TIMEOUT',
    'ETIMEDOUT',
  ]) {
    const error = mapTransportError(coded(code), context);
    assert.equal(error.code, 'provider_timeout', code);
    assert.equal(error.retryable, true);
    assert.equal(error.message, 'The model provider (p) did not answer in time.');
  }
  const refused = mapTransportError(coded('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1'), context);
  assert.equal(refused.code, 'provider_error');
  assert.equal(refused.retryable, true);
  assert.equal(refused.message, 'Could not connect to the model provider (p) (ECONNREFUSED).');
  // fetch wraps the system error: the code is found on the cause.
  const wrapped = new TypeError('fetch failed', { cause: coded('ENOTFOUND') });
  assert.equal(
    mapTransportError(wrapped, context).message,
    'Could not connect to the model provider (p) (ENOTFOUND).',
  );
  const midStream = { ...context, midStream: true };
  assert.equal(
    mapTransportError(coded('ECONNRESET'), midStream).message,
    'The connection to the model provider (p) was cut off mid-answer (ECONNRESET).',
  );
  assert.equal(
    mapTransportError(coded('UND_ERR_SOCKET', 'other side closed'), midStream).message,
    'The connection to the model provider (p) was cut off mid-answer.',
  );
  assert.match(
    mapTransportError(new SyntaxError('Unexpected token'), midStream).message,
    /malformed answer stream/,
  );
  const same = new ProviderError('bad_request', 'as it was', { retryable: false });
  assert.equal(mapTransportError(same, context), same);
});
