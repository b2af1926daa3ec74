// The panel's session and live answers wired as the controller wires them, on a real chat client and store
// (fake-indexeddb) and a fake view, for tests that drive them against a scripted gateway.
import 'fake-indexeddb/auto';
import assert from 'node:assert/strict';
import { ChatClient } from '@chrome-plus/client';
import { type GatewaySocket, openWsSocket } from '@chrome-plus/client/testing';
import type { ChatSendFrame, GenerationEvent } from '@chrome-plus/protocol';
import { AnswerStreams } from '../src/sidepanel/answer-streams.ts';
import {
  ConversationSession,
  type ConversationSessionOptions,
} from '../src/sidepanel/conversation-session.ts';
import { ConversationStore } from '../src/store/conversation-store.ts';
import type { AssistantMessage, StoredMessage } from '../src/store/types.ts';
import { FakePanelView } from './fake-panel-view.ts';

const fastBackoff = { initialMs: 20, maxMs: 100, factor: 2, random: () => 0.5 };

let databaseCount = 0;

/** The session and its live answers as the controller wires them, on a real client, store and gateway. */
export async function startPanel(url: string, sessionOptions: Partial<ConversationSessionOptions> = {}) {
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
    ...sessionOptions,
  });
  client.start();
  const stop = () => {
    client.stop();
    store.close();
    assert.deepEqual(storageErrors, []);
  };
  return { store, view, client, answers, session, stop };
}

export function lastAnswer(messages: readonly StoredMessage[]): AssistantMessage {
  const last = messages.at(-1);
  assert.equal(last?.role, 'assistant');
  return last as AssistantMessage;
}

/** Polls storage until the conversation's last answer is no longer streaming. */
export async function storedAnswer(
  store: ConversationStore,
  conversationId: string,
): Promise<AssistantMessage> {
  const deadline = Date.now() + 3_000;
  for (;;) {
    const loaded = await store.getConversation(conversationId);
    const answer = loaded && lastAnswer(loaded.messages);
    if (answer && answer.status !== 'streaming') return answer;
    if (Date.now() > deadline) throw new Error('the answer never ended in storage');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export function answerWith(socket: GatewaySocket, frame: ChatSendFrame, pieces: string[], after = 0): void {
  socket.send({ type: 'chat.accepted', id: frame.id });
  const log = logOf(frame.id, pieces);
  for (const event of log) if (event.seq > after) socket.send(event);
}

export function logOf(id: string, pieces: string[]): GenerationEvent[] {
  const events: GenerationEvent[] = pieces.map((text, index) => ({
    type: 'chat.delta',
    id,
    seq: index + 1,
    text,
  }));
  events.push({ type: 'chat.done', id, seq: pieces.length + 1, finishReason: 'stop', model: 'fake' });
  return events;
}
