// The conversation the panel shows: open one, start anew, send into it, edit its last message, regenerate, stop, pick
// one of compared answers (over 250 lines: every change of the shown conversation's messages is here).
import type { Settings } from '../shared/settings.ts';
import type { ConversationStore } from '../store/conversation-store.ts';
import { wireContext } from '../store/server-records.ts';
import type {
  AssistantMessage,
  Conversation,
  SentRequest,
  StoredMessage,
  UserMessage,
} from '../store/types.ts';
import type { AnswerStreams } from './answer-streams.ts';
import { firstFinished, pickAnswer, shownMessages, unpickedAnswers } from './compare-turns.ts';
import type { Draft } from './composer.ts';
import { historyFor, titleForMessage } from './model-messages.ts';

/** What the session draws: the message list, the busy state, an edit in the composer. */
export interface SessionView {
  setConversation(conversationId: string | undefined): void;
  showMessages(messages: readonly StoredMessage[]): void;
  addMessage(message: StoredMessage): void;
  removeMessage(messageId: string): void;
  setBusy(busy: boolean): void;
  focusComposer(): void;
  editMessage(message: UserMessage): void;
  /** The server recorded a message shown as not synced yet. */
  markRecorded?(messageId: string): void;
  /** Model compare: this answer was picked (its group's others were removed). */
  answerPicked?(messageId: string): void;
}

export interface ConversationSessionOptions {
  store: Pick<ConversationStore, 'getConversation' | 'putConversation' | 'putMessage' | 'deleteMessage'>;
  view: SessionView;
  answers: Pick<AnswerStreams, 'start' | 'latest' | 'isStreaming' | 'stop'>;
  /** 'server' when the server keeps this user's history: what it has not recorded yet is marked. */
  syncMode?(): 'server' | 'local' | undefined;
  /** Read at each send: the system prompt and model may change while the panel is open. */
  settings(): Pick<Settings, 'systemPrompt' | 'defaultModel'>;
  /** A send's web search fields, from the panel's toggle (web-search.ts): none when it is off. */
  webSearch?(asked: UserMessage): Pick<SentRequest, 'webSearch' | 'searchQuery'> | undefined;
  /** Model compare (the composer's chooser): 2-4 models to each answer the next send, or undefined. */
  compareModels?(): readonly string[] | undefined;
  now(): number;
  newId(): string;
}

function titleOf(draft: Draft): string {
  return titleForMessage({ content: draft.text, context: draft.context, attachments: draft.attachments });
}

export class ConversationSession {
  private readonly options: ConversationSessionOptions;
  private current: { conversation: Conversation; messages: StoredMessage[] } | undefined;

  constructor(options: ConversationSessionOptions) {
    this.options = options;
  }

  /** The shown conversation's id; undefined for a new chat not sent yet. */
  get id(): string | undefined {
    return this.current?.conversation.id;
  }

  async open(conversationId: string): Promise<void> {
    const loaded = await this.options.store.getConversation(conversationId);
    if (!loaded) return;
    const messages = shownMessages(loaded.messages).map((message) =>
      message.role === 'assistant' ? this.options.answers.latest(message) : message,
    );
    this.current = { conversation: loaded.conversation, messages };
    this.options.view.setConversation(conversationId);
    this.options.view.showMessages(messages);
    this.updateBusy();
  }

  newChat(): void {
    this.current = undefined;
    this.options.view.setConversation(undefined);
    this.options.view.showMessages([]);
    this.updateBusy();
    this.options.view.focusComposer();
  }

  /** Sends a message; a draft that `replaces` one drops it and everything after it first (an edit). */
  async send(draft: Draft): Promise<void> {
    if (this.isBusy()) return;
    const { store, view } = this.options;
    const now = this.options.now();
    if (draft.replaces) await this.dropFrom(draft.replaces, draft);
    // A comparison nobody picked from goes on with its first finished answer.
    else await this.pick(firstFinished(unpickedAnswers(this.current?.messages ?? []).answers)?.id ?? '');
    if (!this.current) {
      const conversation: Conversation = {
        id: this.options.newId(),
        title: titleOf(draft),
        createdAt: now,
        updatedAt: now,
      };
      this.current = { conversation, messages: [] };
      view.setConversation(conversation.id);
      await store.putConversation(conversation);
    }
    const user: UserMessage = {
      id: this.options.newId(),
      conversationId: this.current.conversation.id,
      role: 'user',
      content: draft.text,
      createdAt: now,
    };
    if (draft.context) user.context = draft.context;
    if (draft.attachments.length > 0) user.attachments = draft.attachments;
    if (this.options.syncMode?.() === 'server') user.syncState = 'pending';
    this.current.messages.push(user);
    view.addMessage(user);
    await store.putMessage(user, now);
    const models = this.options.compareModels?.();
    if (!models) this.startAnswer();
    const group = models && this.options.newId();
    for (const [index, model] of models?.entries() ?? [])
      this.startAnswer({ group: group ?? '', model, index });
  }

  /** ↑ in an empty composer: the last message goes back into the composer, to be changed and sent again. */
  editLast(): void {
    if (this.isBusy()) return;
    const last = this.current?.messages.findLast((message) => message.role === 'user');
    if (last?.role === 'user') this.options.view.editMessage(last);
  }

  async regenerate(messageId: string): Promise<void> {
    const current = this.current;
    if (!current || this.isBusy()) return;
    const last = current.messages.at(-1);
    if (!last || last.id !== messageId || last.role !== 'assistant') return;
    if (unpickedAnswers(current.messages).answers.length > 0) return;
    current.messages.pop();
    this.options.view.removeMessage(messageId);
    await this.options.store.deleteMessage(messageId);
    this.startAnswer();
  }

  /** Stops the shown conversation's answers (several when models are compared). */
  stop(): void {
    for (const message of this.current?.messages ?? [])
      if (message.role === 'assistant' && this.options.answers.isStreaming(message.requestId))
        this.options.answers.stop(message.requestId);
  }

  /** Model compare: goes on with this answer of the last question; its other answers leave the conversation. */
  async pick(answerId: string): Promise<void> {
    const current = this.current;
    const picked = current && pickAnswer(current.messages, answerId);
    if (!current || !picked) return;
    current.messages = picked.messages;
    for (const dropped of picked.dropped) {
      this.options.answers.stop(dropped.requestId);
      this.options.view.removeMessage(dropped.id);
    }
    this.options.view.answerPicked?.(answerId);
    this.updateBusy();
    await this.options.store.putMessage({ ...picked.question }, this.options.now());
  }

  /** Whether an answer of the shown conversation is streaming: nothing else can be sent meanwhile. */
  isBusy(): boolean {
    return this.streamingRequest() !== undefined;
  }

  /** An answer ended: its final record replaces the streaming one, if it belongs to the shown conversation. */
  answerFinished(final: AssistantMessage): void {
    if (this.current) {
      const index = this.current.messages.findIndex((message) => message.id === final.id);
      if (index >= 0) this.current.messages[index] = final;
    }
    this.updateBusy();
  }

  /** The copy of a conversation changed (synced from the server): shown again, or left if it was deleted. */
  async refresh(conversationId: string, removed: boolean): Promise<void> {
    if (this.current?.conversation.id !== conversationId) return;
    if (removed) this.newChat();
    else await this.open(conversationId);
  }

  /** The server recorded the shown message that was waiting for it. */
  recorded(message: UserMessage): void {
    const shown = this.current?.messages.find((candidate) => candidate.id === message.id);
    if (shown?.role !== 'user') return;
    delete shown.syncState;
    this.options.view.markRecorded?.(message.id);
  }

  /** An answer followed from another device is gone (see AnswerStreams.onVanished). */
  vanished(message: AssistantMessage): void {
    const current = this.current;
    if (!current) return;
    const index = current.messages.findIndex((candidate) => candidate.id === message.id);
    if (index < 0) return;
    current.messages.splice(index, 1);
    this.options.view.removeMessage(message.id);
    this.updateBusy();
  }

  /** A conversation was renamed in the history: the shown one keeps the new title for its next save. */
  renamed(conversationId: string, title: string): void {
    if (this.current?.conversation.id === conversationId) this.current.conversation.title = title;
  }

  /** Removes a user message and everything after it (an edit replaces them). */
  private async dropFrom(messageId: string, draft: Draft): Promise<void> {
    const current = this.current;
    if (!current) return;
    const index = current.messages.findIndex((message) => message.id === messageId);
    if (index < 0) return;
    const dropped = current.messages.splice(index);
    for (const message of dropped) {
      this.options.view.removeMessage(message.id);
      await this.options.store.deleteMessage(message.id);
    }
    if (index === 0) {
      current.conversation.title = titleOf(draft);
      await this.options.store.putConversation(current.conversation);
    }
  }

  /**
   * Sends the request for an answer. A compared one (`compare`) asks its own model; only the first of a comparison
   * names the conversation, so that a server history records the question once, with that answer.
   */
  private startAnswer(compare?: { group: string; model: string; index: number }): void {
    const current = this.current;
    if (!current) return;
    const settings = this.options.settings();
    const history = historyFor(current.messages, settings.systemPrompt);
    const model = compare?.model ?? (settings.defaultModel || undefined);
    const requestId = this.options.newId();
    const recorded = (compare?.index ?? 0) === 0;
    const request: SentRequest = { messages: history };
    if (recorded) request.conversationId = current.conversation.id;
    if (model) request.model = model;
    if (current.conversation.title) request.title = current.conversation.title;
    const asked = current.messages.findLast((message) => message.role === 'user');
    if (asked?.role === 'user') {
      if (recorded) {
        // The server's history names a message by its request: a regenerated answer's question is sent anew.
        if (asked.requestId !== undefined && this.options.syncMode?.() === 'server')
          asked.syncState = 'pending';
        asked.requestId = requestId;
        // Not awaited: the answer's own record follows in order; a failed write shows in the answer's.
        void this.options.store.putMessage({ ...asked }, this.options.now()).catch(() => undefined);
      }
      if (asked.context) request.context = wireContext(asked.context);
      Object.assign(request, this.options.webSearch?.(asked));
      const entry = history.findLast((message) => message.role === 'user');
      if (entry && asked.attachments?.length) {
        // Described for the history (name, type, size); the worker reads only the fileId.
        entry.attachments = asked.attachments.map(({ fileId, name, type, size }) => ({
          fileId,
          name,
          type,
          size,
        }));
      }
    }
    const message: AssistantMessage = {
      id: this.options.newId(),
      conversationId: current.conversation.id,
      role: 'assistant',
      content: '',
      reasoning: '',
      // Compared answers a millisecond apart: stored in the order they were asked.
      createdAt: this.options.now() + (compare?.index ?? 0),
      requestId,
      status: 'streaming',
      lastSeq: 0,
      request,
    };
    if (compare) {
      message.compare = { group: compare.group, model: compare.model };
      message.timing = { sentAt: this.options.now() };
    }
    current.messages.push(message);
    this.options.view.addMessage(message);
    this.options.answers.start(message);
    this.updateBusy();
  }

  private streamingRequest(): string | undefined {
    for (const message of this.current?.messages ?? []) {
      if (message.role === 'assistant' && this.options.answers.isStreaming(message.requestId)) {
        return message.requestId;
      }
    }
    return undefined;
  }

  private updateBusy(): void {
    this.options.view.setBusy(this.isBusy());
  }
}
