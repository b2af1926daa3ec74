import 'fake-indexeddb/auto';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ScriptedGateway, waitUntil } from '@chrome-plus/client/testing';
import { answerWith, lastAnswer, logOf, startPanel, storedAnswer } from '../../test/panel-session.ts';

test('a message sent while disconnected waits as streaming, and Stop ends it at once without the server', async (t) => {
  // A port nothing listens on: the client stays offline and retries.
  const gone = await new ScriptedGateway().start();
  const url = gone.url;
  await gone.stop();
  const panel = await startPanel(url);
  t.after(panel.stop);
  const { session, view, store, client } = panel;

  await session.send({ text: 'hello', attachments: [] });
  const conversationId = view.conversationId;
  assert.ok(conversationId, 'the first message makes a conversation');
  assert.deepEqual(
    view.shown.map((message) => message.role),
    ['user', 'assistant'],
  );
  assert.equal(lastAnswer(view.shown).status, 'streaming');
  assert.equal(view.busy, true, 'Stop replaces Send');
  assert.deepEqual(
    client.unfinished(),
    [lastAnswer(view.shown).requestId],
    'the request waits for a connection',
  );

  await session.send({ text: 'again', attachments: [] });
  assert.equal(view.shown.length, 2, 'nothing else is sent while an answer is on its way');

  session.stop();
  assert.equal(view.busy, false);
  assert.equal(view.answers.get(lastAnswer(view.shown).id)?.status, 'cancelled');
  assert.deepEqual(client.unfinished(), [], 'a stopped request is not sent when the connection comes back');
  const stored = await storedAnswer(store, conversationId);
  assert.equal(stored.status, 'cancelled');

  await session.send({ text: 'once more', attachments: [] });
  assert.equal(view.shown.length, 4, 'after Stop the next message goes');
});

test('Stop while connected asks the server to cancel; the answer keeps what it had', async (t) => {
  const gateway = await new ScriptedGateway({
    onFrame: (frame, socket) => {
      if (frame.type === 'chat.send') {
        socket.send({ type: 'chat.accepted', id: frame.id });
        socket.send({ type: 'chat.delta', id: frame.id, seq: 1, text: 'Partial' });
      }
      if (frame.type === 'chat.cancel') socket.send({ type: 'chat.cancelled', id: frame.id, seq: 2 });
    },
  }).start();
  t.after(() => gateway.stop());
  const panel = await startPanel(gateway.url);
  t.after(panel.stop);
  const { session, view, client, store } = panel;
  await waitUntil(() => client.connection.state === 'connected');

  await session.send({ text: 'hello', attachments: [] });
  const answerId = lastAnswer(view.shown).id;
  await waitUntil(() => view.answers.get(answerId)?.text === 'Partial', 3_000, 'the first delta');
  session.stop();
  await waitUntil(() => view.answers.get(answerId)?.status === 'cancelled', 3_000, 'cancelled');
  assert.equal(gateway.framesOfType('chat.cancel').length, 1);
  assert.equal(view.busy, false);
  const stored = await storedAnswer(store, view.conversationId ?? '');
  assert.equal(stored.status, 'cancelled');
  assert.equal(stored.content, 'Partial');
});

test('regenerate replaces the last answer with a new request for the same history; an older answer cannot be', async (t) => {
  let answersSent = 0;
  const gateway = await new ScriptedGateway({
    onFrame: (frame, socket) => {
      if (frame.type !== 'chat.send') return;
      answersSent += 1;
      answerWith(socket, frame, [`answer ${answersSent}`]);
    },
  }).start();
  t.after(() => gateway.stop());
  const panel = await startPanel(gateway.url);
  t.after(panel.stop);
  const { session, view, store } = panel;

  await session.send({ text: 'first', attachments: [] });
  await waitUntil(() => !view.busy && lastAnswer(view.shown).status === 'done', 3_000, 'first answer');
  const firstAnswer = lastAnswer(view.shown);
  await session.send({ text: 'second', attachments: [] });
  await waitUntil(() => !view.busy && lastAnswer(view.shown).status === 'done', 3_000, 'second answer');
  const secondAnswer = lastAnswer(view.shown);
  assert.equal(secondAnswer.content, 'answer 2');
  // Its final record is written after it is drawn; a regenerate in between would race that write.
  await storedAnswer(store, view.conversationId ?? '');

  await session.regenerate(firstAnswer.id);
  assert.equal(gateway.framesOfType('chat.send').length, 2, 'only the last answer can be regenerated');

  await session.regenerate(secondAnswer.id);
  assert.ok(!view.shown.some((message) => message.id === secondAnswer.id), 'the old answer is gone');
  await waitUntil(() => !view.busy, 3_000, 'regenerated answer');
  const [, second, third] = gateway.framesOfType('chat.send');
  assert.deepEqual(third?.messages, second?.messages, 'the same history is asked again');
  assert.notEqual(third?.id, second?.id);
  // The view is drawn before the final record is written: wait for storage.
  await storedAnswer(store, view.conversationId ?? '');
  const stored = await store.getConversation(view.conversationId ?? '');
  assert.deepEqual(
    stored?.messages.map((message) => message.content),
    ['first', 'answer 1', 'second', 'answer 3'],
  );
});

test('an answer resumed after a reconnect completes in its own conversation while another one is shown', async (t) => {
  const pieces = ['one ', 'two ', 'three ', 'four'];
  let sendId = '';
  const gateway = await new ScriptedGateway({
    onFrame: (frame, socket) => {
      if (frame.type === 'chat.send' && !sendId) {
        sendId = frame.id;
        socket.send({ type: 'chat.accepted', id: frame.id });
        for (const event of logOf(frame.id, pieces).slice(0, 2)) socket.send(event);
        // The gateway restarts mid-answer.
        setTimeout(() => socket.close(1012), 20);
      } else if (frame.type === 'chat.send') {
        answerWith(socket, frame, ['other answer']);
      }
      if (frame.type === 'chat.resume') {
        for (const event of logOf(frame.id, pieces)) if (event.seq > frame.after) socket.send(event);
      }
    },
  }).start();
  t.after(() => gateway.stop());
  const panel = await startPanel(gateway.url);
  t.after(panel.stop);
  const { session, view, store, client } = panel;

  await session.send({ text: 'count', attachments: [] });
  const first = view.conversationId ?? '';
  const firstAnswer = lastAnswer(view.shown);
  await waitUntil(() => view.answers.get(firstAnswer.id)?.text === 'one two ', 3_000, 'the first deltas');

  // While the first answer waits for the reconnect, the user starts another conversation and sends.
  session.newChat();
  assert.equal(view.busy, false, 'the new conversation has no answer on its way');
  await session.send({ text: 'something else', attachments: [] });
  const second = view.conversationId ?? '';
  assert.notEqual(second, first);

  await waitUntil(() => gateway.framesOfType('chat.resume').length > 0, 3_000, 'the resume');
  const resumed = await storedAnswer(store, first);
  assert.equal(resumed.content, 'one two three four', 'every piece once, in order');
  assert.equal(resumed.status, 'done');
  await waitUntil(() => client.unfinished().length === 0, 3_000, 'both answers done');
  assert.deepEqual(
    view.shown.map((message) => message.content),
    ['something else', 'other answer'],
    'the shown conversation is untouched by the other one',
  );
  assert.equal(view.answers.has(firstAnswer.id), false, 'the hidden answer was not drawn');

  await session.open(first);
  assert.equal(lastAnswer(view.shown).content, 'one two three four');
});

test('an edit of the first message drops it and what followed, and retitles the conversation', async (t) => {
  const gateway = await new ScriptedGateway({
    onFrame: (frame, socket) => {
      if (frame.type === 'chat.send') answerWith(socket, frame, ['ok']);
    },
  }).start();
  t.after(() => gateway.stop());
  const panel = await startPanel(gateway.url);
  t.after(panel.stop);
  const { session, view, store } = panel;

  await session.send({ text: 'frist question', attachments: [] });
  await waitUntil(() => !view.busy && lastAnswer(view.shown).status === 'done', 3_000, 'answer');
  await storedAnswer(store, view.conversationId ?? '');
  session.editLast();
  assert.equal(view.edited?.content, 'frist question');
  await session.send({ text: 'first question', attachments: [], replaces: view.edited?.id ?? '' });
  await waitUntil(() => !view.busy, 3_000, 'answer to the edit');
  // The view is drawn before the final record is written: wait for storage.
  await storedAnswer(store, view.conversationId ?? '');
  const stored = await store.getConversation(view.conversationId ?? '');
  assert.equal(stored?.conversation.title, 'first question');
  assert.deepEqual(
    stored?.messages.map((message) => message.content),
    ['first question', 'ok'],
  );
});
