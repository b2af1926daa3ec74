// The side panel's behaviour: conversations, sending, stopping, regenerating, and keeping answers alive;
// the page and selection a message is about, attachments, the model, and the conversation history.
import type { ChatMessage, ChatSendFrame, ModelInfo } from '@chrome-plus/protocol';
import { type AnswerState, applyAnswerEvent } from '../client/answer.ts';
import { ChatClient, type ChatClientOptions, type RequestEvent } from '../client/chat-client.ts';
import type { PageResult } from '../page/current-page.ts';
import { type MessageKey, t } from '../shared/i18n.ts';
import { presetsOf } from '../shared/presets.ts';
import type { PendingSelection, SelectionAction } from '../shared/selection-handoff.ts';
import { filesUrl, type Settings } from '../shared/settings.ts';
import { ChunkBatcher } from '../store/chunk-batcher.ts';
import type { ConversationStore } from '../store/conversation-store.ts';
import type {
  AssistantMessage,
  Conversation,
  MessageContext,
  PageContext,
  StoredMessage,
  UserMessage,
} from '../store/types.ts';
import type { Draft } from './composer.ts';
import { conversationMarkdown, exportFileName } from './export-markdown.ts';
import { historyFor, titleForMessage } from './model-messages.ts';
import type { Upload, UploadTarget } from './upload.ts';
import type { Notice, PanelView } from './view.ts';

/** How often a streaming answer's new text is written to IndexedDB. */
const flushIntervalMs = 250;

/** How long a deleted conversation can be brought back. */
export const undoWindowMs = 6_000;

const selectionPrompts: Record<Exclude<SelectionAction, 'ask'>, MessageKey> = {
  explain: 'promptExplainSelection',
  summarize: 'promptSummarizeSelection',
  translate: 'promptTranslateSelection',
};

const pageProblemText: Record<Exclude<PageResult, { ok: true }>['problem'], MessageKey> = {
  restricted: 'pageRestricted',
  webstore: 'pageWebStore',
  file: 'pageFile',
  pdf: 'pagePdf',
  permission: 'pageNoPermission',
  empty: 'pageEmpty',
  'no-tab': 'pageNoTab',
  failed: 'pageFailed',
};

interface ActiveAnswer {
  message: AssistantMessage;
  answer: AnswerState;
  batcher: ChunkBatcher;
  flushTimer: ReturnType<typeof setTimeout> | undefined;
  /** Writes of one answer run in order, so a late chunk can never land after its final record. */
  writes: Promise<void>;
}

/** What the panel needs of the browser beyond the socket and storage, injected so tests can stand in. */
export interface PanelEnvironment {
  readPage(budget: number): Promise<PageResult>;
  /** Must call chrome.permissions.request before its first await: it runs inside a click. */
  requestPageAccess(): Promise<boolean>;
  /** The file a tab shows (a PDF), to attach; undefined when it cannot be fetched. */
  fetchPageFile(url: string): Promise<File | undefined>;
  takeSelection(): Promise<PendingSelection | undefined>;
  upload(target: UploadTarget, file: File, onProgress: (fraction: number) => void): Upload;
  download(fileName: string, text: string): void;
  saveSettings(settings: Partial<Settings>): Promise<void>;
}

export interface PanelControllerOptions {
  store: ConversationStore;
  view: PanelView;
  settings: Settings;
  environment: PanelEnvironment;
  client: Omit<ChatClientOptions, 'onEvent' | 'onStatus' | 'url' | 'token'>;
  now?: () => number;
  newId?: () => string;
  onStorageError?: (error: unknown) => void;
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

export class PanelController {
  readonly client: ChatClient;
  private readonly options: PanelControllerOptions;
  private readonly store: ConversationStore;
  private readonly view: PanelView;
  private settings: Settings;
  private readonly active = new Map<string, ActiveAnswer>();
  private current: { conversation: Conversation; messages: StoredMessage[] } | undefined;
  private models: { list: ModelInfo[]; serverDefault: string } | undefined;
  private searchSequence = 0;

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
      onStatus: (status) => {
        this.view.setConnection(status);
        if (status.state === 'connected') void this.refreshModels();
      },
    });
  }

  /** Picks up answers that were streaming when the panel closed, shows the latest conversation, connects. */
  async start(): Promise<void> {
    // Deletes whose undo ran out while the panel was closed.
    await this.store.purgeDeleted(this.now() - undoWindowMs).catch(this.storageError);
    for (const message of await this.store.unfinishedAnswers()) this.follow(message);
    const [latest] = await this.store.listConversations();
    if (latest) await this.open(latest.id);
    else this.newChat();
    this.view.setPresets(presetsOf(this.settings));
    this.client.start();
    await this.takeSelection();
  }

  applySettings(settings: Settings): void {
    const reconnect =
      settings.serverUrl !== this.settings.serverUrl || settings.token !== this.settings.token;
    this.settings = settings;
    if (reconnect)
      this.client.connection.configure({ url: settings.serverUrl, token: settings.token || undefined });
    else if (this.models)
      this.view.setModels(this.models.list, this.models.serverDefault, settings.defaultModel);
    this.view.setPresets(presetsOf(settings));
  }

  /** The model for the next answers: remembered for the panel and the options page alike. */
  async pickModel(modelId: string): Promise<void> {
    this.settings = { ...this.settings, defaultModel: modelId };
    await this.options.environment.saveSettings({ defaultModel: modelId });
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
    this.view.setConversation(conversationId);
    this.view.showMessages(messages);
    this.updateBusy();
  }

  newChat(): void {
    this.current = undefined;
    this.view.setConversation(undefined);
    this.view.showMessages([]);
    this.updateBusy();
    this.view.focusComposer();
  }

  /** Sends a message; a draft that `replaces` one drops it and everything after it first (an edit). */
  async send(draft: Draft): Promise<void> {
    if (this.isBusy()) return;
    const now = this.now();
    if (draft.replaces) await this.dropFrom(draft.replaces, draft);
    if (!this.current) {
      const conversation: Conversation = {
        id: this.newId(),
        title: titleForMessage({
          content: draft.text,
          context: draft.context,
          attachments: draft.attachments,
        }),
        createdAt: now,
        updatedAt: now,
      };
      this.current = { conversation, messages: [] };
      this.view.setConversation(conversation.id);
      await this.store.putConversation(conversation);
    }
    const user: UserMessage = {
      id: this.newId(),
      conversationId: this.current.conversation.id,
      role: 'user',
      content: draft.text,
      createdAt: now,
    };
    if (draft.context) user.context = draft.context;
    if (draft.attachments.length > 0) user.attachments = draft.attachments;
    this.current.messages.push(user);
    this.view.addMessage(user);
    await this.store.putMessage(user, now);
    this.startAnswer(historyFor(this.current.messages, this.settings.systemPrompt));
  }

  /** ↑ in an empty composer: the last message goes back into the composer, to be changed and sent again. */
  editLast(): void {
    if (this.isBusy()) return;
    const last = this.current?.messages.findLast((message) => message.role === 'user');
    if (last?.role === 'user') this.view.editMessage(last);
  }

  async summarizePage(): Promise<void> {
    if (this.isBusy()) {
      this.view.showNotice({ kind: 'info', text: t('waitForAnswer') });
      return;
    }
    const context = await this.readPage('summarize');
    if (context) await this.send({ text: t('promptSummarizePage'), context, attachments: [] });
  }

  async askAboutPage(): Promise<void> {
    const context = await this.readPage('ask');
    if (context) this.view.setComposerContext(context);
  }

  /** Acts on a selection handed over by the context menu, if one waits for this panel. */
  async takeSelection(): Promise<void> {
    const pending = await this.options.environment.takeSelection();
    if (!pending) return;
    const context: MessageContext = {
      kind: 'selection',
      text: pending.text,
      title: pending.title,
      url: pending.url,
    };
    this.view.history.close();
    if (pending.action === 'ask') {
      this.view.setComposerContext(context);
      return;
    }
    const text = t(selectionPrompts[pending.action]);
    if (this.isBusy()) {
      // Another answer is on its way: the selection waits in the composer for the user's send.
      this.view.setComposerContext(context);
      this.view.composer.insertText(text);
      return;
    }
    this.newChat();
    await this.send({ text, context, attachments: [] });
  }

  /** Starts an upload to the server's /v1/files; a file over the server's limit fails at once. */
  startUpload(file: File, onProgress: (fraction: number) => void): { upload: Upload; maxBytes?: number } {
    const maxBytes = this.client.connection.welcome?.limits.maxUploadBytes;
    if (maxBytes !== undefined && file.size > maxBytes) {
      return {
        upload: { result: Promise.resolve({ ok: false, problem: 'too_large', detail: '' }), abort() {} },
        maxBytes,
      };
    }
    const target: UploadTarget = { url: filesUrl(this.settings.serverUrl) };
    if (this.settings.token) target.token = this.settings.token;
    return { upload: this.options.environment.upload(target, file, onProgress), maxBytes };
  }

  // ---- history ----

  async searchHistory(query: string): Promise<void> {
    this.searchSequence += 1;
    const sequence = this.searchSequence;
    const hits = await this.store.searchConversations(query);
    // A slower earlier search must not overwrite the answer to a later one.
    if (sequence === this.searchSequence) this.view.showHistory(hits);
  }

  async renameConversation(conversationId: string, title: string): Promise<void> {
    await this.store.renameConversation(conversationId, title);
    if (this.current?.conversation.id === conversationId) this.current.conversation.title = title;
  }

  async exportConversation(conversationId: string): Promise<void> {
    const loaded = await this.store.getConversation(conversationId);
    if (!loaded) return;
    const markdown = conversationMarkdown(loaded.conversation, loaded.messages, {
      you: t('you'),
      assistant: t('assistant'),
      page: t('contextPage'),
      selection: t('contextSelection'),
      attachments: t('attachments'),
      exported: t('exportedOn'),
    });
    this.options.environment.download(exportFileName(loaded.conversation.title), markdown);
  }

  /** Hides the conversation at once; it is removed for good when the undo window has passed. */
  async deleteConversation(conversationId: string): Promise<void> {
    const conversation = await this.store.markDeleted(conversationId, this.now());
    if (this.current?.conversation.id === conversationId) this.newChat();
    this.view.showUndo(
      t('conversationDeleted', [conversation?.title || t('untitled')]),
      () => void this.undoDelete(conversationId),
      undoWindowMs,
    );
    setTimeout(() => void this.purge(conversationId), undoWindowMs);
  }

  async undoDelete(conversationId: string): Promise<void> {
    await this.store.restoreConversation(conversationId);
    if (this.view.history.isOpen) await this.searchHistory(this.view.history.query);
    else await this.open(conversationId);
  }

  private async purge(conversationId: string): Promise<void> {
    const removed = await this.store.purgeDeleted(this.now() - undoWindowMs + 1);
    if (!removed.includes(conversationId)) return;
    // An answer still streaming into it has nowhere to go.
    for (const entry of [...this.active.values()]) {
      if (entry.message.conversationId !== conversationId) continue;
      this.client.cancel(entry.message.requestId);
      this.client.forget(entry.message.requestId);
      clearTimeout(entry.flushTimer);
      this.active.delete(entry.message.requestId);
    }
  }

  private async refreshModels(): Promise<void> {
    try {
      const frame = await this.client.listModels();
      this.models = { list: frame.models, serverDefault: frame.default };
      this.view.setModels(frame.models, frame.default, this.settings.defaultModel);
    } catch {
      // Not connected after all: the next connect asks again.
    }
  }

  /** The current page as context, or undefined after saying plainly why it cannot be read. */
  private async readPage(then: 'summarize' | 'ask'): Promise<PageContext | undefined> {
    this.view.showNotice({ kind: 'info', text: t('pageReading') });
    const result = await this.options.environment.readPage(this.settings.pageBudget);
    if (result.ok) {
      this.view.hideNotice();
      return result.context;
    }
    const notice: Notice = { kind: 'error', text: t(pageProblemText[result.problem]) };
    const url = result.url;
    if (result.problem === 'pdf' && url && /^(https?|file):/i.test(url)) {
      notice.action = { label: t('pageAttachPdf'), run: () => void this.attachPageFile(url, then) };
    }
    if (result.problem === 'permission') {
      notice.action = {
        label: t('pageAllowAccess'),
        run: () => {
          void this.options.environment.requestPageAccess().then((granted) => {
            if (!granted) this.view.showNotice({ kind: 'error', text: t('pageAccessDenied') });
            else if (then === 'summarize') void this.summarizePage();
            else void this.askAboutPage();
          });
        },
      };
    }
    this.view.showNotice(notice);
    return undefined;
  }

  /** A PDF tab: its file goes into the composer as an attachment, which the workers can read. */
  private async attachPageFile(url: string, then: 'summarize' | 'ask'): Promise<void> {
    const file = await this.options.environment.fetchPageFile(url);
    if (!file) {
      this.view.showNotice({ kind: 'error', text: t('pageFetchFailed') });
      return;
    }
    this.view.composer.addFiles([file]);
    // The user sends once the upload is done: the request waits in the composer, not in a timer.
    if (then === 'summarize' && !this.view.composer.text.trim()) {
      this.view.composer.insertText(t('promptSummarizeFile'));
    }
  }

  /** Removes a user message and everything after it (an edit replaces them). */
  private async dropFrom(messageId: string, draft: Draft): Promise<void> {
    const current = this.current;
    if (!current) return;
    const index = current.messages.findIndex((message) => message.id === messageId);
    if (index < 0) return;
    const dropped = current.messages.splice(index);
    for (const message of dropped) {
      this.view.removeMessage(message.id);
      await this.store.deleteMessage(message.id);
    }
    if (index === 0) {
      current.conversation.title = titleForMessage({
        content: draft.text,
        context: draft.context,
        attachments: draft.attachments,
      });
      await this.store.putConversation(current.conversation);
    }
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
    this.startAnswer(historyFor(current.messages, this.settings.systemPrompt));
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
    if (entry.answer.error && !entry.answer.error.withAttachments && carriesFiles(entry.message)) {
      entry.answer = { ...entry.answer, error: { ...entry.answer.error, withAttachments: true } };
    }
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
