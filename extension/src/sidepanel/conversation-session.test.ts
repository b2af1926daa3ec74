import 'fake-indexeddb/auto';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ChatSendFrame, GenerationEvent } from '@chrome-plus/protocol';
import { FakePanelView } from '../../test/fake-panel-view.ts';
import { type GatewaySocket, ScriptedGateway, waitUntil } from '../../test/scripted-gateway.ts';
import { openWsSocket } from '../../test/ws-socket.ts';
import { ChatClient } from '../client/chat-client.ts';
import { ConversationStore } from '../store/conversation-store.ts';
import type { AssistantMessage, StoredMessage } from '../store/types.ts';
import { AnswerStreams } from './answer-streams.ts';
import { ConversationSession } from './conversation-session.ts';

const fastBackoff = { initialMs: 20, maxMs: 100, factor: 2, random: () => 0.5 };

let databaseCount = 0;

/** The session and its live answers as the controller wires them, on a real client, store and gateway. */
async function startPanel(url: string) {
  databaseCount += 1;
  const store = await ConversationStore.open(indexedDB, `session-test-${process.pid}-${databaseCount}`);
  const view = new FakePanelView();
  let ids = 0;
  const storageErrors: unknown[] = [];
  const client: ChatClient = new ChatClient({
    url,
    openSocket: openWsSocket,
    backoff: fastBackoff,
    onEvent: (event) => answers.handleEvent(event),
  });
  const answers: AnswerStreams = new AnswerStreams({
    client,
    store,
    answerView: (messageId) => view.answer(messageId),
    onFinished: (message) => session.answerFinished(message),
    now: Date.now,
    onStorageError: (error) => storageErrors.push(error),
  });
  const session: ConversationSession = new ConversationSession({
    store,
    view,
    answers,
    settings: () => ({ systemPrompt: '', defaultModel: '' }),
    now: Date.now,
    newId: () => {
      ids += 1;
      return `id-${ids}`;
    },
  });
  client.start();
  const stop = () => {
    client.stop();
    store.close();
    assert.deepEqual(storageErrors, []);
  };
  return { store, view, client, answers, session, stop };
}

function lastAnswer(messages: readonly StoredMessage[]): AssistantMessage {
  const last = messages.at(-1);
  assert.equal(last?.role, 'assistant');
  return last as AssistantMessage;
}

/** Polls storage until the conversation's last answer is no longer streaming. */
async function storedAnswer(store: ConversationStore, conversationId: string): Promise<AssistantMessage> {
  const deadline = Date.now() + 3_000;
  for (;;) {
    const loaded = await store.getConversation(conversationId);
    const answer = loaded && lastAnswer(loaded.messages);
    if (answer && answer.status !== 'streaming') return answer;
    if (Date.now() > deadline) throw new Error('the answer never ended in storage');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function answerWith(socket: GatewaySocket, frame: ChatSendFrame, pieces: string[], after = 0): void {
  socket.send({ type: 'chat.accepted', id: frame.id });
  const log = logOf(frame.id, pieces);
  for (const event of log) if (event.seq > after) socket.send(event);
}

function logOf(id: string, pieces: string[]): GenerationEvent[] {
  const events: GenerationEvent[] = pieces.map((text, index) => ({
    type: 'chat.delta',
    id,
    seq: index + 1,
    text,
  }));
  events.push({ type: 'chat.done', id, seq: pieces.length + 1, finishReason: 'stop', model: 'fake' });
  return events;
}

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

  await session.regenerate(firstAnswer.id);
  assert.equal(gateway.framesOfType('chat.send').length, 2, 'only the last answer can be regenerated');

  await session.regenerate(secondAnswer.id);
  assert.ok(!view.shown.some((message) => message.id === secondAnswer.id), 'the old answer is gone');
  await waitUntil(() => !view.busy, 3_000, 'regenerated answer');
  const [, second, third] = gateway.framesOfType('chat.send');
  assert.deepEqual(third?.messages, second?.messages, 'the same history is asked again');
  assert.notEqual(third?.id, second?.id);
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
  session.editLast();
  assert.equal(view.edited?.content, 'frist question');
  await session.send({ text: 'first question', attachments: [], replaces: view.edited?.id ?? '' });
  await waitUntil(() => !view.busy, 3_000, 'answer to the edit');
  const stored = await store.getConversation(view.conversationId ?? '');
  assert.equal(stored?.conversation.title, 'first question');
  assert.deepEqual(
    stored?.messages.map((message) => message.content),
    ['first question', 'ok'],
  );
});
