import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AssistantMessage, StoredMessage, UserMessage } from '../store/types.ts';
import { historyFor, titleForMessage } from './model-messages.ts';

const base = { conversationId: 'c1', createdAt: 1 };

function user(content: string, extra: Partial<UserMessage> = {}): UserMessage {
  return { ...base, id: content, role: 'user', content, ...extra };
}

function assistant(content: string, status: AssistantMessage['status'] = 'done'): AssistantMessage {
  return {
    ...base,
    id: `a-${content}`,
    role: 'assistant',
    content,
    reasoning: '',
    requestId: 'r',
    status,
    lastSeq: 3,
  };
}

test('the model gets the system prompt, the page under a heading, and the files by id', () => {
  const messages: StoredMessage[] = [
    user('Summarize this page.', {
      context: {
        kind: 'page',
        title: 'Tides',
        url: 'https://example.com/tides',
        text: 'The moon pulls.',
        totalCharacters: 40,
      },
    }),
    assistant('The moon makes tides.'),
    user('And this file?', { attachments: [{ fileId: 'f1', name: 'a.csv', size: 10, type: 'text/csv' }] }),
    assistant('', 'error'),
    assistant('half an answ', 'streaming'),
  ];
  assert.deepEqual(historyFor(messages, '  Be brief.  '), [
    { role: 'system', content: 'Be brief.' },
    {
      role: 'user',
      content:
        'Summarize this page.\n\n### Page: Tides\nURL: https://example.com/tides\n\nThe moon pulls.\n\n' +
        '[Chrome Plus: the page text was cut to 15 of its 40 characters.]',
    },
    { role: 'assistant', content: 'The moon makes tides.' },
    { role: 'user', content: 'And this file?', attachments: [{ fileId: 'f1' }] },
  ]);
});

test('a selection goes under its own heading, with where it came from', () => {
  const [message] = historyFor([
    user('Explain this.', {
      context: { kind: 'selection', text: 'E = mc²', title: 'Physics', url: 'https://x.org' },
    }),
  ]);
  assert.equal(
    message?.content,
    'Explain this.\n\n### Selected text from: Physics\nURL: https://x.org\n\nE = mc²',
  );
  assert.equal(historyFor([user('hi')]).length, 1, 'no system prompt: no system message');
});

test('a title names what the conversation is about', () => {
  assert.equal(titleForMessage({ content: 'Hello there\nsecond line' }), 'Hello there');
  assert.equal(
    titleForMessage({
      content: 'Summarize this page.',
      context: { kind: 'page', title: 'Tides', url: 'u', text: '', totalCharacters: 0 },
    }),
    'Summarize this page. · Tides',
  );
  assert.equal(
    titleForMessage({ content: '', attachments: [{ fileId: 'f', name: 'report.pdf', size: 1, type: '' }] }),
    'report.pdf',
  );
  assert.ok(titleForMessage({ content: 'x'.repeat(100) }).length <= 60);
});
