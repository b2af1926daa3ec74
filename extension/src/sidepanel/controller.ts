// The side panel's behaviour: conversations, sending, stopping, regenerating, and keeping answers alive.
import type { ChatMessage, ChatSendFrame } from '@chrome-plus/protocol';
import { type AnswerState, applyAnswerEvent } from '../client/answer.ts';
import { ChatClient, type ChatClientOptions, type RequestEvent } from '../client/chat-client.ts';
import type { Settings } from '../shared/settings.ts';
import { ChunkBatcher } from '../store/chunk-batcher.ts';
import type { ConversationStore } from '../store/conversation-store.ts';
import type { AssistantMessage, Conversation, StoredMessage, UserMessage } from '../store/types.ts';
import type { PanelView } from './view.ts';

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

export interface PanelControllerOptions {
  store: ConversationStore;
  view: PanelView;
  settings: Settings;
  client: Omit<ChatClientOptions, 'onEvent' | 'onStatus' | 'url' | 'token'>;
  now?: () => number;
  newId?: () => string;
  onStorageError?: (error: unknown) => void;
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
  };
}

/** What the model sees of a conversation: its messages, minus answers that have nothing to say. */
export function historyFor(messages: readonly StoredMessage[]): ChatMessage[] {
  return messages
    .filter(
      (message) => message.role === 'user' || (message.status !== 'streaming' && message.content.length > 0),
    )
    .map((message) => ({ role: message.role, content: message.content }));
}

export function titleFor(text: string): string {
  const firstLine = text.trim().split('\n')[0] ?? '';
  return firstLine.length > 60 ? `${firstLine.slice(0, 59)}…` : firstLine;
}

export class PanelController {
  readonly client: ChatClient;
  private readonly options: PanelControllerOptions;
  private readonly store: ConversationStore;
  private readonly view: PanelView;
  private settings: Settings;
  private readonly active = new Map<string, ActiveAnswer>();
  private current: { conversation: Conversation; messages: StoredMessage[] } | undefined;

  constructor(options: PanelControllerOptions) {
    this.options = options;
    this.store = options.store;
    this.view = options.view;
    this.settings = options.settings;
    this.client = new ChatClient({
      ...options.client,
      url: options.settings.serverUrl,
      token: options.settings.token || undefined,
      onEvent: (event) => this.handleEvent(event),
      onStatus: (status) => this.view.setConnection(status),
    });
  }

  /** Picks up answers that were streaming when the panel closed, shows the latest conversation, connects. */
  async start(): Promise<void> {
    for (const message of await this.store.unfinishedAnswers()) this.follow(message);
    const [latest] = await this.store.listConversations();
    if (latest) await this.open(latest.id);
    else this.view.showMessages([]);
    this.client.start();
  }

  applySettings(settings: Settings): void {
    const reconnect =
      settings.serverUrl !== this.settings.serverUrl || settings.token !== this.settings.token;
    this.settings = settings;
    if (reconnect)
      this.client.connection.configure({ url: settings.serverUrl, token: settings.token || undefined });
  }

  async open(conversationId: string): Promise<void> {
    const loaded = await this.store.getConversation(conversationId);
    if (!loaded) return;
    // The memory copy of a live answer is ahead of what storage has so far.
    const messages = loaded.messages.map((message) => {
      if (message.role !== 'assistant') return message;
      const live = this.active.get(message.requestId);
      return live ? withAnswer(live.message, live.answer) : message;
    });
    this.current = { conversation: loaded.conversation, messages };
    this.view.showMessages(messages);
    this.updateBusy();
  }

  newChat(): void {
    this.current = undefined;
    this.view.showMessages([]);
    this.updateBusy();
    this.view.focusComposer();
  }

  async send(text: string): Promise<void> {
    if (this.isBusy()) return;
    const now = this.now();
    if (!this.current) {
      const conversation: Conversation = {
        id: this.newId(),
        title: titleFor(text),
        createdAt: now,
        updatedAt: now,
      };
      this.current = { conversation, messages: [] };
      await this.store.putConversation(conversation);
    }
    const user: UserMessage = {
      id: this.newId(),
      conversationId: this.current.conversation.id,
      role: 'user',
      content: text,
      createdAt: now,
    };
    this.current.messages.push(user);
    this.view.addMessage(user);
    await this.store.putMessage(user, now);
    this.startAnswer(historyFor(this.current.messages));
  }

  stop(): void {
    const entry = this.currentStreaming();
    if (!entry) return;
    const requestId = entry.message.requestId;
    if (this.client.connection.state !== 'connected' && entry.answer.lastSeq === 0) {
      // Never started anywhere we know of: end it here rather than wait for a server that is away.
      this.client.forget(requestId);
      this.handleEvent({ type: 'chat.cancelled', id: requestId, seq: 0 });
      return;
    }
    this.client.cancel(requestId);
  }

  async regenerate(messageId: string): Promise<void> {
    const current = this.current;
    if (!current || this.isBusy()) return;
    const last = current.messages.at(-1);
    if (!last || last.id !== messageId || last.role !== 'assistant') return;
    current.messages.pop();
    this.view.removeMessage(messageId);
    await this.store.deleteMessage(messageId);
    this.startAnswer(historyFor(current.messages));
  }

  reconnectNow(): void {
    this.client.connection.reconnectNow();
  }

  private startAnswer(history: ChatMessage[]): void {
    const current = this.current;
    if (!current) return;
    const requestId = this.newId();
    const model = this.settings.defaultModel || undefined;
    const message: AssistantMessage = {
      id: this.newId(),
      conversationId: current.conversation.id,
      role: 'assistant',
      content: '',
      reasoning: '',
      createdAt: this.now(),
      requestId,
      status: 'streaming',
      lastSeq: 0,
      request: { messages: history, model },
    };
    current.messages.push(message);
    this.view.addMessage(message);
    const entry = this.track(message);
    entry.writes = this.store.putMessage(message, message.createdAt).catch(this.storageError);
    const frame: ChatSendFrame = { type: 'chat.send', id: requestId, messages: history };
    if (model) frame.model = model;
    this.client.send(frame);
    this.updateBusy();
  }

  /** Follows an answer restored from storage: resume after its last stored seq, or send it again. */
  private follow(message: AssistantMessage): void {
    this.track(message);
    const request = message.request;
    const frame: ChatSendFrame | undefined = request
      ? { type: 'chat.send', id: message.requestId, messages: request.messages, model: request.model }
      : undefined;
    this.client.track(message.requestId, message.lastSeq, frame);
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

  private handleEvent(event: RequestEvent): void {
    const entry = this.active.get(event.id);
    if (!entry) return;
    entry.answer = applyAnswerEvent(entry.answer, event, this.now());
    this.view.answer(entry.message.id)?.apply(event, entry.answer);
    if (entry.answer.status !== 'streaming') {
      this.finish(entry);
      return;
    }
    if (event.type === 'chat.delta' || event.type === 'chat.restart') {
      entry.batcher.add(event);
      entry.flushTimer ??= setTimeout(() => this.flush(entry), flushIntervalMs);
    }
  }

  private flush(entry: ActiveAnswer): void {
    entry.flushTimer = undefined;
    const chunk = entry.batcher.take();
    if (!chunk) return;
    entry.writes = entry.writes.then(() => this.store.appendChunk(chunk)).catch(this.storageError);
  }

  private finish(entry: ActiveAnswer): void {
    clearTimeout(entry.flushTimer);
    this.active.delete(entry.message.requestId);
    const final = withAnswer(entry.message, entry.answer);
    entry.writes = entry.writes.then(() => this.store.finishAnswer(final)).catch(this.storageError);
    if (this.current) {
      const index = this.current.messages.findIndex((message) => message.id === final.id);
      if (index >= 0) this.current.messages[index] = final;
    }
    this.updateBusy();
  }

  private currentStreaming(): ActiveAnswer | undefined {
    for (const message of this.current?.messages ?? []) {
      if (message.role === 'assistant') {
        const entry = this.active.get(message.requestId);
        if (entry) return entry;
      }
    }
    return undefined;
  }

  private isBusy(): boolean {
    return this.currentStreaming() !== undefined;
  }

  private updateBusy(): void {
    this.view.setBusy(this.isBusy());
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  private newId(): string {
    return (this.options.newId ?? (() => crypto.randomUUID()))();
  }

  private readonly storageError = (error: unknown): void => {
    this.options.onStorageError?.(error);
  };
}
