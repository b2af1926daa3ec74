import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { AppendRefused } from '../generations/log.ts';
import { ProviderError } from '../providers/types.ts';
import {
  endingAfterRefusal,
  endingAfterStop,
  endingAtBegin,
  failureBody,
  toProviderError,
} from './attempt-ending.ts';

const started = { kind: 'started', cancelRequested: false, seq: 0, starts: 1, interrupted: 0 } as const;

test('a refused append: a cancel ends the request, an ended one is left alone, a fenced one is given up', () => {
  assert.deepEqual(endingAfterRefusal(AppendRefused.cancelRequested), {
    kind: 'write',
    body: { type: 'chat.cancelled' },
  });
  assert.deepEqual(endingAfterRefusal(AppendRefused.terminal), { kind: 'none' });
  assert.deepEqual(endingAfterRefusal(AppendRefused.missing), { kind: 'none' });
  assert.equal(endingAfterRefusal(AppendRefused.fenced).kind, 'abandon');
});

test('a stop: cancel writes chat.cancelled, a shutdown hands the job back without a terminal event', () => {
  assert.deepEqual(endingAfterStop('cancel'), { kind: 'write', body: { type: 'chat.cancelled' } });
  assert.equal(endingAfterStop('shutdown').kind, 'abandon');
  assert.equal(endingAfterStop(undefined).kind, 'abandon');
});

test('at begin: a clean start goes on; a cancel while queued or a poison request end it', () => {
  assert.equal(endingAtBegin(started, 2), undefined);
  assert.equal(endingAtBegin({ ...started, interrupted: 1 }, 2), undefined);
  assert.deepEqual(endingAtBegin({ ...started, cancelRequested: true }, 2), {
    kind: 'write',
    body: { type: 'chat.cancelled' },
  });
  const poison = endingAtBegin({ ...started, interrupted: 2, starts: 3 }, 2);
  assert.equal(poison?.kind === 'write' && poison.body.type === 'chat.error' && poison.body.retryable, false);
});

test('failures: a ProviderError keeps its code and Retry-After; anything else is internal, by reference', () => {
  const limited = new ProviderError('rate_limited', 'slow down', { retryable: true, retryAfterMs: 2000 });
  assert.equal(toProviderError(limited, pino({ level: 'silent' }), 'k'), limited);
  const body = failureBody(limited);
  assert.equal(body.type === 'chat.error' && body.code, 'rate_limited');
  assert.equal(body.type === 'chat.error' && body.retryAfterMs, 2000);
  const internal = toProviderError(new TypeError('boom'), pino({ level: 'silent' }), 'k');
  assert.equal(internal.code, 'internal');
  assert.equal(internal.retryable, true);
  assert.doesNotMatch(internal.message, /boom/, 'our own errors are not shown to the client');
});
