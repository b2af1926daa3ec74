import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type AnswerState, applyAnswerEvent, emptyAnswer } from './answer.ts';
import type { RequestEvent } from './chat-client.ts';

function fold(events: RequestEvent[]): AnswerState {
  return events.reduce((answer, event) => applyAnswerEvent(answer, event, 1_000), emptyAnswer());
}

test('deltas concatenate text and reasoning; done completes the answer', () => {
  const answer = fold([
    { type: 'chat.accepted', id: 'a', queued: 2 },
    { type: 'chat.delta', id: 'a', seq: 1, reasoning: 'Think' },
    { type: 'chat.delta', id: 'a', seq: 2, text: 'Hel' },
    { type: 'chat.delta', id: 'a', seq: 3, text: 'lo' },
    { type: 'chat.done', id: 'a', seq: 4, finishReason: 'stop', model: 'm' },
  ]);
  assert.equal(answer.text, 'Hello');
  assert.equal(answer.reasoning, 'Think');
  assert.equal(answer.status, 'done');
  assert.equal(answer.lastSeq, 4);
  assert.equal(answer.queued, undefined, 'the queue position is gone once text flows');
});

test('a restart discards everything received before it', () => {
  const answer = fold([
    { type: 'chat.delta', id: 'a', seq: 1, text: 'half an ans' },
    { type: 'chat.restart', id: 'a', seq: 2 },
    { type: 'chat.delta', id: 'a', seq: 3, text: 'A whole answer.' },
    { type: 'chat.done', id: 'a', seq: 4, finishReason: 'stop', model: 'm' },
  ]);
  assert.equal(answer.text, 'A whole answer.');
});

test('an error keeps the text so far and says when a retry may work', () => {
  const answer = fold([
    { type: 'chat.delta', id: 'a', seq: 1, text: 'partial' },
    {
      type: 'chat.error',
      id: 'a',
      seq: 2,
      code: 'rate_limited',
      message: 'slow down',
      retryable: true,
      retryAfterMs: 5_000,
    },
  ]);
  assert.equal(answer.status, 'error');
  assert.equal(answer.text, 'partial');
  assert.deepEqual(answer.error, {
    code: 'rate_limited',
    message: 'slow down',
    retryable: true,
    retryAt: 6_000,
  });
});

test("a web search's outcome is kept with the answer; a restart forgets it until the new search's", () => {
  const first = { query: 'q', sources: [{ n: 1, url: 'https://a.example/', title: 'A' }] };
  const second = { query: 'q', sources: [], error: 'The web search failed: it answered HTTP 500.' };
  const kept = fold([
    { type: 'chat.delta', id: 'a', seq: 1, webSearch: first },
    { type: 'chat.delta', id: 'a', seq: 2, text: 'See [1].' },
  ]);
  assert.deepEqual(kept.webSearch, first);
  assert.equal(kept.text, 'See [1].');
  const restarted = fold([
    { type: 'chat.delta', id: 'a', seq: 1, webSearch: first },
    { type: 'chat.restart', id: 'a', seq: 2 },
  ]);
  assert.equal(restarted.webSearch, undefined);
  assert.deepEqual(
    applyAnswerEvent(restarted, { type: 'chat.delta', id: 'a', seq: 3, webSearch: second }).webSearch,
    second,
  );
});
