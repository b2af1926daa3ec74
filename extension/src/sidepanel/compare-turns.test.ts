import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AssistantMessage, StoredMessage, UserMessage } from '../store/types.ts';
import { charactersPerSecond, timeToFirstText, timingAfter } from './answer-timing.ts';
import { firstFinished, pickAnswer, shownMessages, unpickedAnswers } from './compare-turns.ts';
import { historyFor } from './model-messages.ts';

function question(id: string, content: string): UserMessage {
  return { id, conversationId: 'c', role: 'user', content, createdAt: 0 };
}

function answer(id: string, content: string, extra: Partial<AssistantMessage> = {}): AssistantMessage {
  return {
    id,
    conversationId: 'c',
    role: 'assistant',
    content,
    createdAt: 0,
    requestId: `r-${id}`,
    status: 'done',
    reasoning: '',
    lastSeq: 1,
    ...extra,
  };
}

function compared(id: string, content: string, model: string, endedAt: number, status = 'done' as const) {
  return answer(id, content, { compare: { group: 'g', model }, status, timing: { sentAt: 0, endedAt } });
}

function conversation(): StoredMessage[] {
  return [
    question('q1', 'hi'),
    answer('a1', 'hello'),
    question('q2', 'compare this'),
    compared('x', 'from model x', 'model-x', 300),
    compared('y', 'from model y', 'model-y', 200),
  ];
}

test('an unpicked comparison is shown whole and sends none of its answers as history', () => {
  const messages = conversation();
  assert.deepEqual(
    shownMessages(messages).map((message) => message.id),
    ['q1', 'a1', 'q2', 'x', 'y'],
  );
  assert.deepEqual(
    unpickedAnswers(messages).answers.map((message) => message.id),
    ['x', 'y'],
  );
  assert.deepEqual(
    historyFor([...messages, question('q3', 'next')]).map((entry) => entry.content),
    ['hi', 'hello', 'compare this', 'next'],
  );
});

test('picking one keeps it as the assistant turn; the others leave what is shown and what is sent', () => {
  const messages = conversation();
  const picked = pickAnswer(messages, 'y');
  assert.ok(picked);
  assert.equal(picked.question.pickedAnswer, 'y');
  assert.deepEqual(
    picked.dropped.map((message) => message.id),
    ['x'],
  );
  assert.deepEqual(
    picked.messages.map((message) => message.id),
    ['q1', 'a1', 'q2', 'y'],
  );
  // Reloaded from storage, where the dropped answer stays (a server merge finds it there): hidden, and not sent.
  assert.deepEqual(
    shownMessages(messages).map((message) => message.id),
    ['q1', 'a1', 'q2', 'y'],
  );
  assert.deepEqual(
    historyFor([...messages, question('q3', 'next')]).map((entry) => entry.content),
    ['hi', 'hello', 'compare this', 'from model y', 'next'],
  );
  assert.deepEqual(unpickedAnswers(messages).answers, [], 'nothing left to pick');
  assert.equal(pickAnswer(messages, 'x'), undefined, 'a settled comparison is not picked again');
});

test('only an answer that ended with text can be picked; sending again takes the first that finished well', () => {
  const messages: StoredMessage[] = [
    question('q', 'compare'),
    compared('slow', 'slow text', 'a', 900),
    compared('failed', '', 'b', 100, 'error' as 'done'),
    compared('fast', 'fast text', 'c', 400),
    answer('live', '', { compare: { group: 'g', model: 'd' }, status: 'streaming' }),
  ];
  assert.equal(pickAnswer(messages, 'failed'), undefined);
  assert.equal(pickAnswer(messages, 'live'), undefined);
  assert.equal(firstFinished(unpickedAnswers(messages).answers)?.id, 'fast');
  const picked = pickAnswer(messages, 'slow');
  assert.deepEqual(picked?.dropped.map((message) => message.id).sort(), ['failed', 'fast', 'live']);
});

test('TTFT is from the send to the first text; speed is characters per second from the first text to the end', () => {
  let timing = { sentAt: 1_000 };
  const streaming = { text: '', status: 'streaming' as const };
  timing = timingAfter(timing, streaming, { ...streaming, text: '' }, 1_100);
  assert.equal(timeToFirstText(timing), undefined, 'no text yet');
  timing = timingAfter(timing, streaming, { ...streaming, text: 'Hello' }, 1_250);
  assert.equal(timeToFirstText(timing), 250);
  timing = timingAfter(timing, { ...streaming, text: 'Hello' }, { ...streaming, text: 'Hello world' }, 1_400);
  assert.equal(timeToFirstText(timing), 250, 'later text does not move it');
  assert.equal(charactersPerSecond(timing, 11, 1_300), undefined, 'too short a span to mean anything');
  timing = timingAfter(
    timing,
    { ...streaming, text: 'Hello world' },
    { text: 'x'.repeat(300), status: 'done' },
    2_250,
  );
  assert.equal(charactersPerSecond(timing, 300, 99_999), 300, 'the end, not now, bounds a finished answer');
  // Restored with text already in it: the first text was not seen here, so TTFT stays unknown.
  const restored = timingAfter(
    { sentAt: 0 },
    { text: 'abc', status: 'streaming' },
    { text: 'abcd', status: 'streaming' },
    5,
  );
  assert.equal(timeToFirstText(restored), undefined);
});
