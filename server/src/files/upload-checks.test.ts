// The checks before an upload is read, without a server: each refusal, in its order, with its headers.
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { createLoginThrottle } from '../gateway/login-throttle.ts';
import { checkUpload, type UploadChecksOptions } from './upload-checks.ts';

const ORIGIN = 'chrome-extension://abc';

function requestOf(method: string, headers: Record<string, string> = {}) {
  return {
    method,
    headers: { origin: ORIGIN, authorization: 'Bearer alice-token', ...headers },
    socket: { remoteAddress: '10.0.0.1' },
  } as unknown as Pick<IncomingMessage, 'method' | 'headers' | 'socket'>;
}

function optionsWith(extra: Partial<UploadChecksOptions> = {}): UploadChecksOptions {
  return {
    authenticate: (token) => (token === 'alice-token' ? 'alice' : undefined),
    isOriginAllowed: (origin) => origin === ORIGIN,
    maxUploadBytes: 1000,
    ...extra,
  };
}

const cors = { 'access-control-allow-origin': ORIGIN, vary: 'Origin' };

test('a signed-in POST from an allowed origin goes on, with its CORS headers', () => {
  assert.deepEqual(checkUpload(requestOf('POST', { 'content-length': '1000' }), optionsWith()), {
    kind: 'accepted',
    user: 'alice',
    cors,
  });
});

test('another origin is refused before anything else, the preflight answered for an allowed one', () => {
  const foreign = checkUpload(requestOf('OPTIONS', { origin: 'https://evil.example' }), optionsWith());
  assert.equal(foreign.kind === 'answer' && foreign.answer.status, 403);
  const preflight = checkUpload(requestOf('OPTIONS', { authorization: '' }), optionsWith());
  assert.equal(preflight.kind, 'answer');
  if (preflight.kind !== 'answer') return;
  assert.equal(preflight.answer.status, 204);
  assert.equal(preflight.answer.body, undefined);
  assert.equal(preflight.answer.headers['access-control-allow-headers'], 'authorization, content-type');
  const get = checkUpload(requestOf('GET'), optionsWith());
  assert.equal(get.kind === 'answer' && get.answer.headers.allow, 'POST, OPTIONS');
});

test('a bad token counts as a failed sign-in; after enough, the address waits before its token is looked at', () => {
  let time = 0;
  const loginThrottle = createLoginThrottle({ maxFailures: 2, baseDelayMs: 4_000, now: () => time });
  const options = optionsWith({ loginThrottle });
  const wrong = requestOf('POST', { authorization: 'Bearer wrong' });
  for (let failure = 0; failure < 2; failure++) {
    const refused = checkUpload(wrong, options);
    assert.equal(refused.kind === 'answer' && refused.answer.status, 401);
  }
  const throttled = checkUpload(requestOf('POST'), options);
  assert.equal(throttled.kind, 'answer', 'even a good token waits');
  if (throttled.kind !== 'answer') return;
  assert.equal(throttled.answer.status, 429);
  assert.equal(throttled.answer.headers['retry-after'], '4');
  time = 4_000;
  assert.equal(checkUpload(requestOf('POST'), options).kind, 'accepted');
});

test('a declared length far above the limit is refused unread, and the body drained', () => {
  const tooLarge = checkUpload(
    requestOf('POST', { 'content-length': String(1000 + 64 * 1024 + 1) }),
    optionsWith(),
  );
  assert.equal(tooLarge.kind, 'answer');
  if (tooLarge.kind !== 'answer') return;
  assert.equal(tooLarge.answer.status, 413);
  assert.equal(tooLarge.answer.drain, true);
  assert.equal(tooLarge.answer.headers.connection, 'close');
  assert.equal(tooLarge.answer.body?.error, 'too_large');
});
