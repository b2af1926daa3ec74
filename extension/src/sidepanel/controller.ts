// The side panel's composition: one chat client, the live answers, the shown conversation, the page and
// selection, the history; plus what belongs to the panel as a whole (settings, the model list, uploads).

import { ChatClient, type ChatClientOptions } from '@chrome-plus/client';
import type { ModelInfo } from '@chrome-plus/protocol';
import { presetsOf } from '../shared/presets.ts';
import type { Settings } from '../shared/settings.ts';
import type { ConversationStore } from '../store/conversation-store.ts';
import { AnswerStreams } from './answer-streams.ts';
import { startUpload } from './attachments.ts';
import { ContextActions } from './context-actions.ts';
import { ConversationSession } from './conversation-session.ts';
import type { PanelEnvironment } from './environment.ts';
import { HistoryActions, undoWindowMs } from './history-actions.ts';
import type { Upload } from './upload.ts';
import type { PanelView } from './view.ts';

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

export class PanelController {
  readonly client: ChatClient;
  readonly answers: AnswerStreams;
  readonly conversation: ConversationSession;
  readonly context: ContextActions;
  readonly history: HistoryActions;
  private readonly options: PanelControllerOptions;
  private settings: Settings;
  private models: { list: ModelInfo[]; serverDefault: string } | undefined;

  constructor(options: PanelControllerOptions) {
    const { store, view, environment } = options;
    this.options = options;
    this.settings = options.settings;
    const now = options.now ?? Date.now;
    const settings = () => this.settings;
    this.client = new ChatClient({
      ...options.client,
      url: options.settings.serverUrl,
      token: options.settings.token || undefined,
      onEvent: (event) => this.answers.handleEvent(event),
      onStatus: (status) => {
        view.setConnection(status);
        if (status.state === 'connected') void this.refreshModels();
      },
    });
    this.answers = new AnswerStreams({
      client: this.client,
      store,
      answerView: (messageId) => view.answer(messageId),
      onFinished: (message) => this.conversation.answerFinished(message),
      now,
      onStorageError: this.storageError,
    });
    this.conversation = new ConversationSession({
      store,
      view,
      answers: this.answers,
      settings,
      now,
      newId: options.newId ?? (() => crypto.randomUUID()),
    });
    this.context = new ContextActions({ environment, view, conversation: this.conversation, settings });
    this.history = new HistoryActions({
      store,
      view,
      conversation: this.conversation,
      answers: this.answers,
      download: environment.download,
      now,
    });
  }

  /** Picks up answers that were streaming when the panel closed, shows the latest conversation, connects. */
  async start(): Promise<void> {
    const { store, view } = this.options;
    // Deletes whose undo ran out while the panel was closed.
    await store.purgeDeleted((this.options.now ?? Date.now)() - undoWindowMs).catch(this.storageError);
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

  private readonly storageError = (error: unknown): void => {
    this.options.onStorageError?.(error);
  };
}
