// The side panel's DOM, put together from its parts (message list, composer, history, notices, header): it reports intents and draws state.

import type { ConnectionStatus } from '@chrome-plus/client';
import type { ModelInfo } from '@chrome-plus/protocol';
import { required } from '../shared/dom.ts';
import { t } from '../shared/i18n.ts';
import type { PromptPreset } from '../shared/settings.ts';
import type { SearchHit } from '../store/conversation-store.ts';
import type { MessageContext, StoredMessage, UserMessage } from '../store/types.ts';
import { CompareChooser } from './compare-chooser.ts';
import { Composer, type Draft } from './composer.ts';
import { ConnectionIndicator } from './connection-indicator.ts';
import { acceptFileDrops } from './file-drop.ts';
import { type HistoryIntents, HistoryView } from './history-view.ts';
import { MessageList } from './message-list.ts';
import type { AssistantMessageView } from './message-view.ts';
import { type Notice, NoticeBar } from './notice-bar.ts';
import { PresetsMenu } from './presets-menu.ts';
import type { Upload } from './upload.ts';

export interface PanelIntents extends HistoryIntents {
  onSend(draft: Draft): void;
  onStop(): void;
  onRegenerate(messageId: string): void;
  onNewChat(): void;
  onOpenSettings(): void;
  onReconnectNow(): void;
  onEditLast(): void;
  onSummarizePage(): void;
  onAskAboutPage(): void;
  onPickModel(modelId: string): void;
  /** Model compare: go on with this answer; stop one of the compared answers. */
  onPickAnswer(messageId: string): void;
  onStopAnswer(requestId: string): void;
  startUpload(file: File, onProgress: (fraction: number) => void): { upload: Upload; maxBytes?: number };
}

export class PanelView {
  readonly composer: Composer;
  readonly history: HistoryView;
  private readonly intents: PanelIntents;
  private readonly messages: MessageList;
  private readonly connection = new ConnectionIndicator();
  private readonly notices = new NoticeBar();
  private readonly modelPicker = required<HTMLSelectElement>('[data-testid="model-picker"]');
  private readonly presets: PresetsMenu;
  private readonly compare: CompareChooser;
  private readonly historyButton = required<HTMLButtonElement>('[data-testid="history-button"]');
  private busy = false;

  constructor(intents: PanelIntents) {
    this.intents = intents;
    this.messages = new MessageList({
      onRegenerate: (id) => intents.onRegenerate(id),
      onReconnectNow: () => intents.onReconnectNow(),
      onPick: (id) => intents.onPickAnswer(id),
      onStopAnswer: (id) => intents.onStopAnswer(id),
    });
    this.composer = new Composer(document, {
      onSubmit: (draft) => {
        this.messages.followNext();
        intents.onSend(draft);
      },
      onEditLast: () => intents.onEditLast(),
      startUpload: (file, onProgress) => intents.startUpload(file, onProgress),
    });
    acceptFileDrops(required('.app'), required('[data-testid="drop-overlay"]'), (files) =>
      this.composer.addFiles(files),
    );
    this.history = new HistoryView(document, {
      ...intents,
      onOpen: (conversationId) => {
        this.history.close();
        intents.onOpen(conversationId);
      },
    });

    required<HTMLButtonElement>('[data-testid="stop"]').addEventListener('click', () => intents.onStop());
    required<HTMLButtonElement>('[data-testid="new-chat"]').addEventListener('click', () => {
      this.history.close();
      intents.onNewChat();
    });
    this.historyButton.addEventListener('click', () => this.toggleHistory());
    required<HTMLButtonElement>('[data-testid="history-close"]').addEventListener('click', () =>
      this.toggleHistory(),
    );
    for (const button of document.querySelectorAll<HTMLButtonElement>('[data-action="settings"]')) {
      button.addEventListener('click', () => intents.onOpenSettings());
    }
    for (const button of document.querySelectorAll<HTMLButtonElement>('[data-action="summarize-page"]')) {
      button.addEventListener('click', () => intents.onSummarizePage());
    }
    for (const button of document.querySelectorAll<HTMLButtonElement>('[data-action="ask-page"]')) {
      button.addEventListener('click', () => intents.onAskAboutPage());
    }
    for (const suggestion of document.querySelectorAll<HTMLButtonElement>('.suggestion:not([data-action])')) {
      suggestion.addEventListener('click', () => {
        if (this.busy) return;
        intents.onSend({ text: suggestion.textContent ?? '', attachments: [] });
      });
    }
    this.modelPicker.addEventListener('change', () => intents.onPickModel(this.modelPicker.value));
    this.compare = new CompareChooser(
      required('.composer-bar'),
      this.modelPicker.nextElementSibling,
      required('.composer-area'),
    );
    this.presets = new PresetsMenu((text) => this.composer.insertText(text));
    document.addEventListener('keydown', (event) => this.handleKey(event));
  }

  focusComposer(): void {
    this.composer.focus();
  }

  /** Replaces the list with a conversation (or the empty state when there is none). */
  showMessages(messages: readonly StoredMessage[]): void {
    this.messages.show(messages);
  }

  addMessage(message: StoredMessage): AssistantMessageView | undefined {
    return this.messages.add(message);
  }

  removeMessage(messageId: string): void {
    this.messages.remove(messageId);
  }

  /** The server recorded a message: its "not synced yet" mark goes. */
  markRecorded(messageId: string): void {
    document.querySelector(`[data-message-id="${CSS.escape(messageId)}"] .sync-pending`)?.remove();
  }

  answer(messageId: string): AssistantMessageView | undefined {
    return this.messages.answer(messageId);
  }

  /** Model compare: the conversation goes on with this answer. */
  answerPicked(messageId: string): void {
    this.messages.answerPicked(messageId);
  }

  /** The models the next send compares (two to four), or undefined for one answer. */
  compareModels(): string[] | undefined {
    return this.compare.models();
  }

  /** Whether an answer of the shown conversation is streaming: Stop replaces Send. */
  setBusy(busy: boolean): void {
    this.busy = busy;
    this.composer.setBusy(busy);
  }

  /** Puts a sent message back in the composer: sending replaces it and what followed. */
  editMessage(message: UserMessage): void {
    this.composer.edit(message);
  }

  setComposerContext(context: MessageContext): void {
    this.composer.setContext(context);
    this.composer.focus();
  }

  /** The server's models; `selected` is the user's choice ('' for the server's default). */
  setModels(models: readonly ModelInfo[], serverDefault: string, selected: string): void {
    const first = document.createElement('option');
    first.value = '';
    first.textContent = serverDefault
      ? t('modelServerDefaultNamed', [serverDefault])
      : t('optionsModelServerDefault');
    const options = [first];
    for (const id of new Set([...models.map((model) => model.id), ...(selected ? [selected] : [])])) {
      const option = document.createElement('option');
      option.value = id;
      option.textContent = id;
      options.push(option);
    }
    this.modelPicker.replaceChildren(...options);
    this.compare.setModels(models.map((model) => model.id));
    this.modelPicker.value = selected;
    this.modelPicker.disabled = false;
  }

  setPresets(presets: readonly PromptPreset[]): void {
    this.presets.set(presets);
  }

  showNotice(notice: Notice): void {
    this.notices.showNotice(notice);
  }

  hideNotice(): void {
    this.notices.hideNotice();
  }

  /** A short message at the bottom with an Undo button, gone after `durationMs`. */
  showUndo(text: string, onUndo: () => void, durationMs: number): void {
    this.notices.showUndo(text, onUndo, durationMs);
  }

  /** Marks which conversation is shown, so the history can highlight it. */
  setConversation(conversationId: string | undefined): void {
    this.messages.conversationId = conversationId;
  }

  showHistory(hits: readonly SearchHit[]): void {
    this.history.show(hits);
  }

  private toggleHistory(): void {
    if (this.history.isOpen) {
      this.history.close();
      this.composer.focus();
    } else {
      this.presets.close();
      this.history.open(this.messages.conversationId);
    }
    this.historyButton.setAttribute('aria-pressed', String(this.history.isOpen));
  }

  /** Esc closes what is open on top, else leaves an edit, else stops the answer. */
  private handleKey(event: KeyboardEvent): void {
    if (event.key !== 'Escape' || event.isComposing) return;
    if (this.presets.isOpen) {
      this.presets.close(true);
    } else if (this.compare.isOpen) {
      this.compare.close(true);
    } else if (this.history.isOpen) {
      this.toggleHistory();
    } else if (this.composer.cancelEdit()) {
      // Left the edit; the message stays as it was.
    } else if (this.busy) {
      this.intents.onStop();
    } else {
      return;
    }
    event.preventDefault();
  }

  setConnection(status: ConnectionStatus): void {
    this.messages.setConnectionProblem(this.connection.show(status));
  }
}
