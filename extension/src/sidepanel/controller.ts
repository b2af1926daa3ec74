// The side panel's composition: one chat client, the live answers, the shown conversation, the page and
// selection, the history; plus what belongs to the panel as a whole (settings, the model list, uploads).

import { ChatClient, type ChatClientOptions, type RequestEvent } from '@chrome-plus/client';
import type { ModelInfo } from '@chrome-plus/protocol';
import { presetsOf } from '../shared/presets.ts';
import type { Settings } from '../shared/settings.ts';
import type { ConversationStore } from '../store/conversation-store.ts';
import { SyncStore } from '../store/sync-store.ts';
import type { AssistantMessage } from '../store/types.ts';
import { AnswerStreams } from './answer-streams.ts';
import { startUpload } from './attachments.ts';
import { ContextActions } from './context-actions.ts';
import { ConversationSession } from './conversation-session.ts';
import type { PanelEnvironment } from './environment.ts';
import { HistoryActions, undoWindowMs } from './history-actions.ts';
import { HistoryChannel } from './history-channel.ts';
import { HistorySync } from './history-sync.ts';
import type { Upload } from './upload.ts';
import type { PanelView } from './view.ts';
import { WebSearchToggle } from './web-search.ts';

export interface PanelControllerOptions {
  store: ConversationStore;
  view: PanelView;
  settings: Settings;
  environment: PanelEnvironment;
  client: Omit<ChatClientOptions, 'onEvent' | 'onStatus' | 'url' | 'token'>;
  now?: () => number;
  newId?: () => string;
  onStorageError?: (error: unknown) => void;
  /** Takes the events of requests that are not the chat's (page translation's batches): true when taken. */
  onRequestEvent?: (event: RequestEvent) => boolean;
}

export class PanelController {
  readonly client: ChatClient;
  readonly answers: AnswerStreams;
  readonly conversation: ConversationSession;
  readonly context: ContextActions;
  readonly history: HistoryActions;
  readonly sync: HistorySync;
  /** The composer's web search toggle, shown when the server can search. */
  readonly webSearch: WebSearchToggle | undefined;
  private readonly syncStore: SyncStore;
  private readonly options: PanelControllerOptions;
  private settings: Settings;
  private models: { list: ModelInfo[]; serverDefault: string } | undefined;

  constructor(options: PanelControllerOptions) {
    const { store, view, environment } = options;
    this.options = options;
    this.settings = options.settings;
    const now = options.now ?? Date.now;
    const settings = () => this.settings;
    const channel = new HistoryChannel((frame) => this.client.connection.send(frame));
    this.client = new ChatClient({
      ...options.client,
      url: options.settings.serverUrl,
      token: options.settings.token || undefined,
      onEvent: (event) => {
        if (!options.onRequestEvent?.(event)) this.answers.handleEvent(event);
      },
      onStatus: (status) => {
        view.setConnection(status);
        if (status.state === 'connected') {
          void this.refreshModels();
          this.webSearch?.setAvailable(this.client.connection.welcome?.features?.webSearch === true);
          this.sync.connected(this.settings.serverUrl, this.client.connection.welcome?.user ?? '');
        } else {
          channel.disconnected();
          this.sync.disconnected();
        }
      },
      onOtherFrame: (frame) => {
        if (channel.receive(frame)) return;
        if (frame.type === 'history.changed') this.sync.changed(frame);
      },
    });
    this.answers = new AnswerStreams({
      client: this.client,
      store,
      answerView: (messageId) => view.answer(messageId),
      onFinished: (message) => this.conversation.answerFinished(message),
      onAccepted: (message) => void this.recorded(message),
      onVanished: (message) => this.conversation.vanished(message),
      now,
      onStorageError: this.storageError,
    });
    this.syncStore = new SyncStore(store.database);
    this.sync = new HistorySync({
      store: this.syncStore,
      conversations: store,
      channel,
      answers: this.answers,
      onChanged: (conversationId, removed) => void this.synced(conversationId, removed),
      now,
      onError: (error) => console.warn('Chrome Plus: history sync', error),
    });
    const bar = document.querySelector<HTMLElement>('.composer-bar');
    this.webSearch = bar ? new WebSearchToggle(bar, bar.querySelector('.model-picker')) : undefined;
    this.conversation = new ConversationSession({
      store,
      view,
      answers: this.answers,
      settings,
      webSearch: (asked) => this.webSearch?.requestFor(asked),
      compareModels: () => view.compareModels(),
      syncMode: () => this.sync.mode,
      now,
      newId: options.newId ?? (() => crypto.randomUUID()),
    });
    this.context = new ContextActions({ environment, view, conversation: this.conversation, settings });
    this.history = new HistoryActions({
      store,
      view,
      conversation: this.conversation,
      answers: this.answers,
      sync: this.sync,
      pendingConversations: () => this.pendingConversations(),
      download: environment.download,
      now,
    });
  }

  /** Picks up answers that were streaming when the panel closed, shows the latest conversation, connects. */
  async start(): Promise<void> {
    const { store, view } = this.options;
    await this.sync.load().catch(this.storageError);
    // Deletes whose undo ran out while the panel was closed (the server hears of them once connected).
    const purged = await store
      .purgeDeleted((this.options.now ?? Date.now)() - undoWindowMs)
      .catch((error: unknown) => {
        this.storageError(error);
        return [];
      });
    for (const conversationId of purged) await this.sync.delete(conversationId);
    for (const message of await store.unfinishedAnswers()) this.answers.follow(message);
    const [latest] = await store.listConversations();
    if (latest) await this.conversation.open(latest.id);
    else this.conversation.newChat();
    view.setPresets(presetsOf(this.settings));
    this.client.start();
    await this.context.takeSelection();
  }

  applySettings(settings: Settings): void {
    const reconnect =
      settings.serverUrl !== this.settings.serverUrl || settings.token !== this.settings.token;
    this.settings = settings;
    if (reconnect)
      this.client.connection.configure({ url: settings.serverUrl, token: settings.token || undefined });
    else if (this.models)
      this.options.view.setModels(this.models.list, this.models.serverDefault, settings.defaultModel);
    this.options.view.setPresets(presetsOf(settings));
  }

  /** The model for the next answers: remembered for the panel and the options page alike. */
  /** The model the user picked, or undefined for the server's default. */
  get model(): string | undefined {
    return this.settings.defaultModel || undefined;
  }

  async pickModel(modelId: string): Promise<void> {
    this.settings = { ...this.settings, defaultModel: modelId };
    await this.options.environment.saveSettings({ defaultModel: modelId });
  }

  /** Starts an upload to the server's /v1/files; a file over the server's limit fails at once. */
  startUpload(file: File, onProgress: (fraction: number) => void): { upload: Upload; maxBytes?: number } {
    return startUpload(file, onProgress, {
      settings: this.settings,
      maxBytes: this.client.connection.welcome?.limits.maxUploadBytes,
      upload: this.options.environment.upload,
    });
  }

  reconnectNow(): void {
    this.client.connection.reconnectNow();
  }

  private async refreshModels(): Promise<void> {
    try {
      const frame = await this.client.listModels();
      this.models = { list: frame.models, serverDefault: frame.default };
      this.options.view.setModels(frame.models, frame.default, this.settings.defaultModel);
    } catch {
      // Not connected after all: the next connect asks again.
    }
  }

  /** The server accepted a send: with a server history, its question is recorded there now. */
  private async recorded(answer: AssistantMessage): Promise<void> {
    const conversationId = answer.request?.conversationId;
    if (this.sync.mode !== 'server' || conversationId === undefined) return;
    const message = await this.syncStore
      .markRecorded(conversationId, answer.requestId)
      .catch(this.storageError);
    if (!message) return;
    this.conversation.recorded(message);
    await this.refreshHistory();
  }

  /** A conversation changed in the copy (from the server, or its marks): the panel shows it as it now is. */
  private async synced(conversationId: string, removed: boolean): Promise<void> {
    await this.conversation.refresh(conversationId, removed);
    await this.refreshHistory();
  }

  private async refreshHistory(): Promise<void> {
    const history = this.options.view.history;
    if (history.isOpen) await this.history.search(history.query);
  }

  /** Conversations with something the server has not heard yet (a message, a rename), with a server history. */
  private async pendingConversations(): Promise<ReadonlySet<string>> {
    if (this.sync.mode !== 'server') return new Set();
    const [messages, outbox] = await Promise.all([this.syncStore.pendingMessages(), this.syncStore.outbox()]);
    return new Set([...messages, ...outbox].map((pending) => pending.conversationId));
  }

  private readonly storageError = (error: unknown): void => {
    this.options.onStorageError?.(error);
  };
}
