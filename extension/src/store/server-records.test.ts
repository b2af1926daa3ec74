import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HistoryMessage } from '@chrome-plus/protocol';
import { mergeMessages } from './server-records.ts';
import type { AssistantMessage, StoredMessage, UserMessage } from './types.ts';

const at = (ms: number) => new Date(ms).toISOString();

function record(
  requestId: string,
  role: 'user' | 'assistant',
  content: string,
  seq: number,
  extra: Partial<HistoryMessage> = {},
): HistoryMessage {
  return {
    requestId,
    role,
    content,
    seq,
    createdAt: at(1_000 + seq),
    status: role === 'user' ? 'sent' : 'done',
    ...extra,
  };
}

const options = { cleared: false, isStreaming: () => false, now: 5_000 };

test('messages of another device become local ones, with their page, files, usage and error', () => {
  const merged = mergeMessages(
    'c1',
    [],
    [
      record('r1', 'user', 'what is this?', 1, {
        context: {
          kind: 'page',
          title: 'A page',
          url: 'https://example.com',
          text: 'body',
          totalCharacters: 10,
        },
        attachments: [{ fileId: 'f1', name: 'a.pdf', type: 'application/pdf', size: 42 }],
      }),
      record('r1', 'assistant', 'an answer', 2, {
        usage: { promptTokens: 3, completionTokens: 4, estimated: false },
        model: 'm',
        finishReason: 'stop',
      }),
      record('r2', 'user', 'and this?', 3),
      record('r2', 'assistant', 'half', 4, {
        status: 'error',
        error: { code: 'provider_error', message: 'down' },
      }),
    ],
    options,
  );
  assert.deepEqual(merged.remove, []);
  assert.deepEqual(merged.follow, []);
  const [question, answer, second, failed] = merged.put as [
    UserMessage,
    AssistantMessage,
    UserMessage,
    AssistantMessage,
  ];
  assert.deepEqual(question.context, {
    kind: 'page',
    title: 'A page',
    url: 'https://example.com',
    text: 'body',
    totalCharacters: 10,
  });
  assert.deepEqual(question.attachments, [
    { fileId: 'f1', name: 'a.pdf', type: 'application/pdf', size: 42 },
  ]);
  assert.equal(question.requestId, 'r1');
  assert.equal(answer.status, 'done');
  assert.deepEqual(answer.usage, { promptTokens: 3, completionTokens: 4 });
  assert.equal(second.content, 'and this?');
  assert.equal(failed.status, 'error');
  assert.deepEqual(failed.error, { code: 'provider_error', message: 'down', retryable: false });
  assert.ok(merged.put.every((message) => message.conversationId === 'c1'));
});

test("this device's own messages are found by their request: recorded, never doubled", () => {
  const local: StoredMessage[] = [
    {
      id: 'u1',
      conversationId: 'c1',
      role: 'user',
      content: 'hi',
      createdAt: 1,
      requestId: 'r1',
      syncState: 'pending',
    },
    {
      id: 'a1',
      conversationId: 'c1',
      role: 'assistant',
      content: 'hello',
      createdAt: 2,
      requestId: 'r1',
      status: 'done',
      reasoning: '',
      lastSeq: 3,
    },
  ];
  const merged = mergeMessages(
    'c1',
    local,
    [record('r1', 'user', 'hi', 1), record('r1', 'assistant', 'hello', 2)],
    options,
  );
  assert.deepEqual(merged.put, [
    { id: 'u1', conversationId: 'c1', role: 'user', content: 'hi', createdAt: 1, requestId: 'r1' },
  ]);
  assert.deepEqual(merged.follow, []);
});

test('an answer streaming here is left to its stream; an unanswered last question gets one placeholder to follow', () => {
  const streaming: AssistantMessage = {
    id: 'a1',
    conversationId: 'c1',
    role: 'assistant',
    content: 'so far',
    createdAt: 2,
    requestId: 'r1',
    status: 'streaming',
    reasoning: '',
    lastSeq: 2,
  };
  const live = mergeMessages(
    'c1',
    [
      { id: 'u1', conversationId: 'c1', role: 'user', content: 'q', createdAt: 1, requestId: 'r1' },
      streaming,
    ],
    [record('r1', 'assistant', 'the whole answer', 5)],
    { ...options, isStreaming: (id) => id === 'r1' },
  );
  assert.deepEqual(live.put, []);

  const followed = mergeMessages('c1', [], [record('r1', 'user', 'q', 1)], options);
  assert.equal(followed.follow.length, 1);
  assert.equal(followed.put.length, 2);
  const again = mergeMessages('c1', followed.put, [], options);
  assert.deepEqual(again.follow, [], 'the placeholder is there: nothing new to follow');
});

test('after a clear the recorded messages go; a question not sent yet stays', () => {
  const local: StoredMessage[] = [
    { id: 'u1', conversationId: 'c1', role: 'user', content: 'old', createdAt: 1, requestId: 'r1' },
    {
      id: 'u2',
      conversationId: 'c1',
      role: 'user',
      content: 'new',
      createdAt: 3,
      requestId: 'r2',
      syncState: 'pending',
    },
  ];
  const merged = mergeMessages('c1', local, [], { ...options, cleared: true });
  assert.deepEqual(merged.remove, ['u1']);
});
