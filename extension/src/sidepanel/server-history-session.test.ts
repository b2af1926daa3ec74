// The panel's session as the server's history sees it: what each send names, and answers of another device.
import 'fake-indexeddb/auto';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ScriptedGateway, waitUntil } from '@chrome-plus/client/testing';
import { answerWith, lastAnswer, logOf, startPanel, storedAnswer } from '../../test/panel-session.ts';
import type { AssistantMessage } from '../store/types.ts';

test('each send names its conversation, title and page for the server history; a regenerate sends its question anew', async (t) => {
  const gateway = await new ScriptedGateway({
    onFrame: (frame, socket) => {
      if (frame.type === 'chat.send') answerWith(socket, frame, ['ok']);
    },
  }).start();
  t.after(() => gateway.stop());
  const panel = await startPanel(gateway.url);
  t.after(panel.stop);
  const { session, view, client, store } = panel;
  await waitUntil(() => client.connection.state === 'connected');

  const context = {
    kind: 'page' as const,
    title: 'Docs',
    url: 'https://example.com',
    text: 'body',
    totalCharacters: 4,
  };
  await session.send({ text: 'summarize', context, attachments: [] });
  await waitUntil(() => !session.isBusy(), 3_000, 'the first answer');
  const [first] = gateway.framesOfType('chat.send');
  assert.equal(first?.conversationId, view.conversationId);
  assert.equal(first?.title, 'summarize · Docs');
  assert.deepEqual(first?.context, context);

  await session.regenerate(lastAnswer(view.shown).id);
  await waitUntil(() => !session.isBusy(), 3_000, 'the second answer');
  const second = gateway.framesOfType('chat.send')[1];
  assert.notEqual(second?.id, first?.id);
  const stored = await store.getConversation(view.conversationId ?? '');
  const question = stored?.messages.find((message) => message.role === 'user');
  assert.equal(
    question?.role === 'user' && question.requestId,
    second?.id,
    'the question is named by its last send',
  );
});

test("another device's answer is followed from its first event; one the server no longer knows is removed", async (t) => {
  const gateway = await new ScriptedGateway({
    onFrame: (frame, socket) => {
      if (frame.type !== 'chat.resume') return;
      if (frame.id === 'gone')
        socket.send({
          type: 'chat.error',
          id: 'gone',
          code: 'expired',
          message: 'too old',
          retryable: false,
        });
      else
        for (const event of logOf(frame.id, ['from ', 'elsewhere']))
          if (event.seq > frame.after) socket.send(event);
    },
  }).start();
  t.after(() => gateway.stop());
  const panel = await startPanel(gateway.url);
  t.after(panel.stop);
  const { answers, store } = panel;
  await store.putConversation({ id: 'c1', title: 'remote', createdAt: 1, updatedAt: 1 });
  const placeholder = (requestId: string): AssistantMessage => ({
    id: `server:assistant:${requestId}`,
    conversationId: 'c1',
    role: 'assistant',
    content: '',
    reasoning: '',
    createdAt: 2,
    requestId,
    status: 'streaming',
    lastSeq: 0,
    remote: true,
  });
  for (const requestId of ['live', 'gone']) {
    await store.putMessage(placeholder(requestId));
    answers.follow(placeholder(requestId));
  }
  await waitUntil(() => !answers.isStreaming('live') && !answers.isStreaming('gone'), 3_000, 'both ended');
  assert.deepEqual(
    gateway.framesOfType('chat.resume').map((frame) => [frame.id, frame.after]),
    [
      ['live', 0],
      ['gone', 0],
    ],
    'each from its first event',
  );
  const stored = await storedAnswer(store, 'c1');
  assert.equal(stored.content, 'from elsewhere');
  const loaded = await store.getConversation('c1');
  assert.deepEqual(
    loaded?.messages.map((message) => message.id),
    ['server:assistant:live'],
    'the expired one is gone',
  );
});
