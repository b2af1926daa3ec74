// The checks before an upload is read, without a server: each refusal, in its order, with its headers; answered at
// once, except when the token is looked up in the database (a device token not in memory yet).
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { createLoginThrottle } from '../gateway/login-throttle.ts';
import { checkUpload, type UploadCheck, type UploadChecksOptions } from './upload-checks.ts';

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

/** The checks with a token answered from memory: at once, never a promise. */
function check(request: Parameters<typeof checkUpload>[0], options: UploadChecksOptions): UploadCheck {
  const answer = checkUpload(request, options);
  assert.ok(!(answer instanceof Promise), 'a token answered from memory is checked at once');
  return answer;
}

test('a signed-in POST from an allowed origin goes on, with its CORS headers', () => {
  assert.deepEqual(check(requestOf('POST', { 'content-length': '1000' }), optionsWith()), {
    kind: 'accepted',
    user: 'alice',
    cors,
  });
});

test('another origin is refused before anything else, the preflight answered for an allowed one', () => {
  const foreign = check(requestOf('OPTIONS', { origin: 'https://evil.example' }), optionsWith());
  assert.equal(foreign.kind === 'answer' && foreign.answer.status, 403);
  const preflight = check(requestOf('OPTIONS', { authorization: '' }), optionsWith());
  assert.equal(preflight.kind, 'answer');
  if (preflight.kind !== 'answer') return;
  assert.equal(preflight.answer.status, 204);
  assert.equal(preflight.answer.body, undefined);
  assert.equal(preflight.answer.headers['access-control-allow-headers'], 'authorization, content-type');
  const get = check(requestOf('GET'), optionsWith());
  assert.equal(get.kind === 'answer' && get.answer.headers.allow, 'POST, OPTIONS');
});

test('a bad token counts as a failed sign-in; after enough, the address waits before its token is looked at', () => {
  let time = 0;
  const loginThrottle = createLoginThrottle({ maxFailures: 2, baseDelayMs: 4_000, now: () => time });
  const options = optionsWith({ loginThrottle });
  const wrong = requestOf('POST', { authorization: 'Bearer wrong' });
  for (let failure = 0; failure < 2; failure++) {
    const refused = check(wrong, options);
    assert.equal(refused.kind === 'answer' && refused.answer.status, 401);
  }
  const throttled = check(requestOf('POST'), options);
  assert.equal(throttled.kind, 'answer', 'even a good token waits');
  if (throttled.kind !== 'answer') return;
  assert.equal(throttled.answer.status, 429);
  assert.equal(throttled.answer.headers['retry-after'], '4');
  time = 4_000;
  assert.equal(check(requestOf('POST'), options).kind, 'accepted');
});

test('a declared length far above the limit is refused unread, and the body drained', () => {
  const tooLarge = check(
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

test('a token looked up in the database is waited for, after the throttle; not found, it counts as a failure', async () => {
  const time = 0;
  const loginThrottle = createLoginThrottle({ maxFailures: 1, baseDelayMs: 4_000, now: () => time });
  const lookedUp: (string | undefined)[] = [];
  const options = optionsWith({
    loginThrottle,
    authenticate: async (token) => {
      lookedUp.push(token);
      return token === 'new-token' ? 'carol' : undefined;
    },
  });
  const accepted = checkUpload(requestOf('POST', { authorization: 'Bearer new-token' }), options);
  assert.ok(accepted instanceof Promise);
  assert.deepEqual(await accepted, { kind: 'accepted', user: 'carol', cors });
  const refused = await checkUpload(requestOf('POST', { authorization: 'Bearer guess' }), options);
  assert.equal(refused.kind === 'answer' && refused.answer.status, 401);
  // The address now waits, and its next token is not looked up at all.
  const throttled = checkUpload(requestOf('POST', { authorization: 'Bearer another-guess' }), options);
  assert.ok(!(throttled instanceof Promise));
  assert.equal(throttled.kind === 'answer' && throttled.answer.status, 429);
  assert.deepEqual(lookedUp, ['new-token', 'guess']);
});
