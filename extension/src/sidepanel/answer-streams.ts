// Every answer still streaming, in whichever conversation: its events go to its view (when shown) and, batched, to IndexedDB.

import { type AnswerState, applyAnswerEvent, type ChatClient, type RequestEvent } from '@chrome-plus/client';
import type { ChatMessage, ChatSendFrame } from '@chrome-plus/protocol';
import { ChunkBatcher } from '../store/chunk-batcher.ts';
import type { ConversationStore } from '../store/conversation-store.ts';
import type { AssistantMessage } from '../store/types.ts';
import { timingAfter } from './answer-timing.ts';

/** How often a streaming answer's new text is written to IndexedDB. */
const flushIntervalMs = 250;

interface ActiveAnswer {
  message: AssistantMessage;
  answer: AnswerState;
  batcher: ChunkBatcher;
  flushTimer: ReturnType<typeof setTimeout> | undefined;
  /** Writes of one answer run in order, so a late chunk can never land after its final record. */
  writes: Promise<void>;
}

/** What answers need of the chat client. */
export type AnswerClient = Pick<ChatClient, 'send' | 'track' | 'cancel' | 'forget'> & {
  readonly connection: Pick<ChatClient['connection'], 'state'>;
};

export interface AnswerStreamsOptions {
  client: AnswerClient;
  store: Pick<ConversationStore, 'putMessage' | 'appendChunk' | 'finishAnswer' | 'deleteMessage'>;
  /** The view of an answer, when its conversation is shown. */
  answerView(messageId: string): { apply(event: RequestEvent, answer: AnswerState): void } | undefined;
  /** An answer ended (done, error, cancelled): `message` is its final record. */
  onFinished(message: AssistantMessage): void;
  /** The server accepted (and, for a user with a server history, recorded) the request of this answer. */
  onAccepted?(message: AssistantMessage): void;
  /** An answer followed from another device that the server no longer knows: it was removed. */
  onVanished?(message: AssistantMessage): void;
  now(): number;
  onStorageError(error: unknown): void;
}

/** The chat.send of an answer, from what it keeps of its request. */
function sendFrame(message: AssistantMessage): ChatSendFrame | undefined {
  const request = message.request;
  if (!request) return undefined;
  const frame: ChatSendFrame = { type: 'chat.send', id: message.requestId, messages: request.messages };
  if (request.model) frame.model = request.model;
  if (request.conversationId) frame.conversationId = request.conversationId;
  if (request.title) frame.title = request.title;
  if (request.context) frame.context = request.context;
  if (request.webSearch) Object.assign(frame, { webSearch: true, searchQuery: request.searchQuery });
  return frame;
}

function carriesFiles(message: AssistantMessage): boolean {
  return (message.request?.messages ?? []).some((entry: ChatMessage) => (entry.attachments?.length ?? 0) > 0);
}

function answerState(message: AssistantMessage): AnswerState {
  return {
    text: message.content,
    reasoning: message.reasoning,
    status: message.status,
    lastSeq: message.lastSeq,
    model: message.model,
    finishReason: message.finishReason,
    usage: message.usage,
    error: message.error,
    webSearch: message.webSearch,
  };
}

function withAnswer(message: AssistantMessage, answer: AnswerState): AssistantMessage {
  return {
    ...message,
    content: answer.text,
    reasoning: answer.reasoning,
    status: answer.status,
    lastSeq: answer.lastSeq,
    model: answer.model,
    finishReason: answer.finishReason,
    usage: answer.usage,
    error: answer.error,
    webSearch: answer.webSearch,
  };
}

export class AnswerStreams {
  private readonly options: AnswerStreamsOptions;
  private readonly active = new Map<string, ActiveAnswer>();

  constructor(options: AnswerStreamsOptions) {
    this.options = options;
  }

  /** Stores a new answer as streaming and sends its request (`message.request`). */
  start(message: AssistantMessage): void {
    const entry = this.track(message);
    entry.writes = this.options.store.putMessage(message, message.createdAt).catch(this.storageError);
    const frame = sendFrame(message);
    if (frame) this.options.client.send(frame);
  }

  /**
   * Follows an answer restored from storage, or one another device started (`remote`): resume after its last
   * stored seq, or send it again.
   */
  follow(message: AssistantMessage): void {
    if (this.active.has(message.requestId)) return;
    this.track(message);
    this.options.client.track(message.requestId, message.lastSeq, sendFrame(message));
  }

  isStreaming(requestId: string): boolean {
    return this.active.has(requestId);
  }

  /** The memory copy of a live answer, which is ahead of what storage has so far; else `message` itself. */
  latest(message: AssistantMessage): AssistantMessage {
    const live = this.active.get(message.requestId);
    return live ? withAnswer(live.message, live.answer) : message;
  }

  stop(requestId: string): void {
    const entry = this.active.get(requestId);
    if (!entry) return;
    const client = this.options.client;
    if (client.connection.state !== 'connected' && entry.answer.lastSeq === 0) {
      // Never started anywhere we know of: end it here rather than wait for a server that is away.
      client.forget(requestId);
      this.handleEvent({ type: 'chat.cancelled', id: requestId, seq: 0 });
      return;
    }
    client.cancel(requestId);
  }

  /** A conversation removed for good: an answer still streaming into it has nowhere to go. */
  drop(conversationId: string): void {
    for (const entry of [...this.active.values()]) {
      if (entry.message.conversationId !== conversationId) continue;
      this.options.client.cancel(entry.message.requestId);
      this.options.client.forget(entry.message.requestId);
      clearTimeout(entry.flushTimer);
      this.active.delete(entry.message.requestId);
    }
  }

  handleEvent(event: RequestEvent): void {
    const entry = this.active.get(event.id);
    if (!entry) return;
    const before = entry.answer;
    entry.answer = applyAnswerEvent(entry.answer, event, this.options.now());
    // A compared answer's TTFT and speed, kept with its final record.
    if (entry.message.timing)
      entry.message.timing = timingAfter(entry.message.timing, before, entry.answer, this.options.now());
    if (entry.answer.error && !entry.answer.error.withAttachments && carriesFiles(entry.message)) {
      entry.answer = { ...entry.answer, error: { ...entry.answer.error, withAttachments: true } };
    }
    this.options.answerView(entry.message.id)?.apply(event, entry.answer);
    if (event.type === 'chat.accepted') this.options.onAccepted?.(entry.message);
    if (entry.answer.status !== 'streaming') {
      this.finish(entry);
      return;
    }
    if (event.type === 'chat.delta' || event.type === 'chat.restart') {
      entry.batcher.add(event);
      entry.flushTimer ??= setTimeout(() => this.flush(entry), flushIntervalMs);
    }
  }

  private track(message: AssistantMessage): ActiveAnswer {
    const entry: ActiveAnswer = {
      message,
      answer: answerState(message),
      batcher: new ChunkBatcher(message.id),
      flushTimer: undefined,
      writes: Promise.resolve(),
    };
    this.active.set(message.requestId, entry);
    return entry;
  }

  private flush(entry: ActiveAnswer): void {
    entry.flushTimer = undefined;
    const chunk = entry.batcher.take();
    if (!chunk) return;
    entry.writes = entry.writes.then(() => this.options.store.appendChunk(chunk)).catch(this.storageError);
  }

  private finish(entry: ActiveAnswer): void {
    clearTimeout(entry.flushTimer);
    this.active.delete(entry.message.requestId);
    const final = withAnswer(entry.message, entry.answer);
    const code = final.error?.code;
    if (final.remote && final.lastSeq === 0 && (code === 'not_found' || code === 'expired')) {
      // Another device's question whose answer ended without a record, too long ago to replay: nothing to show.
      entry.writes = entry.writes
        .then(() => this.options.store.deleteMessage(final.id))
        .catch(this.storageError);
      this.options.onVanished?.(final);
      return;
    }
    entry.writes = entry.writes.then(() => this.options.store.finishAnswer(final)).catch(this.storageError);
    this.options.onFinished(final);
  }

  private readonly storageError = (error: unknown): void => {
    this.options.onStorageError(error);
  };
}
