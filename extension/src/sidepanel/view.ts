// The side panel's DOM: header, message list, history, notices and the composer. It reports intents and draws state.
import type { ModelInfo } from '@chrome-plus/protocol';
import type { ConnectionStatus } from '../client/connection.ts';
import { required } from '../shared/dom.ts';
import { t } from '../shared/i18n.ts';
import type { PromptPreset } from '../shared/settings.ts';
import type { SearchHit } from '../store/conversation-store.ts';
import type { AssistantMessage, MessageContext, StoredMessage, UserMessage } from '../store/types.ts';
import { Composer, type Draft } from './composer.ts';
import { type HistoryIntents, HistoryView } from './history-view.ts';
import { AssistantMessageView, createUserMessage } from './message-view.ts';
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
  startUpload(file: File, onProgress: (fraction: number) => void): { upload: Upload; maxBytes?: number };
}

/** A message above the composer; `action` adds a button (it runs inside the click: a user gesture). */
export interface Notice {
  kind: 'info' | 'error';
  text: string;
  action?: { label: string; run(): void };
}

export class PanelView {
  readonly composer: Composer;
  readonly history: HistoryView;
  private readonly intents: PanelIntents;
  private readonly scroller = required<HTMLElement>('.messages');
  private readonly list = required<HTMLElement>('.message-list');
  private readonly empty = required<HTMLElement>('[data-testid="empty-state"]');
  private readonly status = required<HTMLElement>('[data-testid="connection-status"]');
  private readonly statusLabel = required<HTMLElement>('.connection-label');
  private readonly banner = required<HTMLElement>('[data-testid="unauthorized-banner"]');
  private readonly notice = required<HTMLElement>('[data-testid="notice"]');
  private readonly toast = required<HTMLElement>('[data-testid="toast"]');
  private readonly modelPicker = required<HTMLSelectElement>('[data-testid="model-picker"]');
  private readonly presetsMenu = required<HTMLElement>('[data-testid="presets-menu"]');
  private readonly presetsButton = required<HTMLButtonElement>('[data-testid="presets-button"]');
  private readonly historyButton = required<HTMLButtonElement>('[data-testid="history-button"]');
  private readonly answers = new Map<string, AssistantMessageView>();
  private busy = false;
  /** Follow new text only while the reader is at the bottom; never yank them back from above. */
  private stickToBottom = true;
  private statusTimer: ReturnType<typeof setTimeout> | undefined;
  private toastTimer: ReturnType<typeof setTimeout> | undefined;
  private connectionProblem: 'none' | 'reconnecting' | 'offline' = 'none';
  private everConnected = false;
  private presets: readonly PromptPreset[] = [];

  constructor(intents: PanelIntents) {
    this.intents = intents;
    this.composer = new Composer(document, {
      onSubmit: (draft) => {
        this.stickToBottom = true;
        intents.onSend(draft);
      },
      onEditLast: () => intents.onEditLast(),
      startUpload: (file, onProgress) => intents.startUpload(file, onProgress),
    });
    this.composer.acceptDrops(required('.app'), required('[data-testid="drop-overlay"]'));
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
    this.presetsButton.addEventListener('click', () => this.togglePresets());
    required('[data-testid="notice-close"]').addEventListener('click', () => this.hideNotice());
    document.addEventListener('keydown', (event) => this.handleKey(event));
    document.addEventListener('click', (event) => {
      const target = event.target as Node;
      if (
        !this.presetsMenu.hidden &&
        !this.presetsMenu.contains(target) &&
        !this.presetsButton.contains(target)
      )
        this.presetsMenu.hidden = true;
    });
    this.scroller.addEventListener('scroll', () => {
      const distance = this.scroller.scrollHeight - this.scroller.scrollTop - this.scroller.clientHeight;
      this.stickToBottom = distance < 60;
    });
    new ResizeObserver(() => this.followBottom()).observe(this.list);
  }

  focusComposer(): void {
    this.composer.focus();
  }

  /** Replaces the list with a conversation (or the empty state when there is none). */
  showMessages(messages: readonly StoredMessage[]): void {
    for (const view of this.answers.values()) view.dispose();
    this.answers.clear();
    this.list.replaceChildren();
    for (const message of messages) this.addMessage(message);
    this.stickToBottom = true;
    this.updateEmpty();
    this.followBottom();
  }

  addMessage(message: StoredMessage): AssistantMessageView | undefined {
    let result: AssistantMessageView | undefined;
    if (message.role === 'user') {
      this.list.append(createUserMessage(message));
    } else {
      result = this.addAnswer(message);
    }
    this.updateEmpty();
    return result;
  }

  removeMessage(messageId: string): void {
    this.answers.get(messageId)?.dispose();
    this.answers.delete(messageId);
    this.list.querySelector(`[data-message-id="${CSS.escape(messageId)}"]`)?.remove();
    this.markLastAnswer();
    this.updateEmpty();
  }

  answer(messageId: string): AssistantMessageView | undefined {
    return this.answers.get(messageId);
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
    this.modelPicker.value = selected;
    this.modelPicker.disabled = false;
  }

  setPresets(presets: readonly PromptPreset[]): void {
    this.presets = presets;
    this.presetsButton.hidden = presets.length === 0;
  }

  showNotice(notice: Notice): void {
    const text = required<HTMLElement>('[data-testid="notice-text"]');
    const action = required<HTMLButtonElement>('[data-testid="notice-action"]');
    this.notice.dataset.kind = notice.kind;
    text.textContent = notice.text;
    action.hidden = !notice.action;
    action.textContent = notice.action?.label ?? '';
    action.onclick = notice.action
      ? () => {
          this.hideNotice();
          notice.action?.run();
        }
      : null;
    this.notice.hidden = false;
  }

  hideNotice(): void {
    this.notice.hidden = true;
  }

  /** A short message at the bottom with an Undo button, gone after `durationMs`. */
  showUndo(text: string, onUndo: () => void, durationMs: number): void {
    clearTimeout(this.toastTimer);
    required<HTMLElement>('[data-testid="toast-text"]').textContent = text;
    required<HTMLButtonElement>('[data-testid="undo"]').onclick = () => {
      clearTimeout(this.toastTimer);
      this.toast.hidden = true;
      onUndo();
    };
    this.toast.hidden = false;
    this.toastTimer = setTimeout(() => {
      this.toast.hidden = true;
    }, durationMs);
  }

  /** Marks which conversation is shown, so the history can highlight it. */
  setConversation(conversationId: string | undefined): void {
    if (conversationId) this.list.dataset.conversationId = conversationId;
    else delete this.list.dataset.conversationId;
  }

  showHistory(hits: readonly SearchHit[]): void {
    this.history.show(hits);
  }

  private toggleHistory(): void {
    if (this.history.isOpen) {
      this.history.close();
      this.composer.focus();
    } else {
      this.presetsMenu.hidden = true;
      this.history.open(this.currentConversationId());
    }
    this.historyButton.setAttribute('aria-pressed', String(this.history.isOpen));
  }

  private currentConversationId(): string | undefined {
    return this.list.dataset.conversationId;
  }

  private togglePresets(): void {
    if (!this.presetsMenu.hidden) {
      this.presetsMenu.hidden = true;
      return;
    }
    this.presetsMenu.replaceChildren(
      ...this.presets.map((preset) => {
        const item = document.createElement('button');
        item.type = 'button';
        item.className = 'menu-item';
        item.dataset.testid = 'preset';
        const name = document.createElement('span');
        name.className = 'menu-item-name';
        name.textContent = preset.name;
        const text = document.createElement('span');
        text.className = 'menu-item-text';
        text.textContent = preset.text;
        item.append(name, text);
        item.addEventListener('click', () => {
          this.presetsMenu.hidden = true;
          this.composer.insertText(preset.text);
        });
        return item;
      }),
    );
    this.presetsMenu.hidden = false;
    this.presetsMenu.querySelector<HTMLButtonElement>('.menu-item')?.focus();
  }

  /** Esc closes what is open on top, else leaves an edit, else stops the answer. */
  private handleKey(event: KeyboardEvent): void {
    if (event.key !== 'Escape' || event.isComposing) return;
    if (!this.presetsMenu.hidden) {
      this.presetsMenu.hidden = true;
      this.presetsButton.focus();
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
    clearTimeout(this.statusTimer);
    const state =
      status.state === 'connected' ? 'connected' : status.state === 'connecting' ? 'connecting' : 'offline';
    this.status.dataset.state = state;
    this.status.dataset.reason = status.state;
    this.banner.hidden = status.state !== 'unauthorized';
    if (status.state === 'connected') this.statusLabel.textContent = t('statusConnected');
    else if (status.state === 'connecting') this.statusLabel.textContent = t('statusConnecting');
    else if (status.state === 'unauthorized') this.statusLabel.textContent = t('statusUnauthorized');
    else this.showRetryCountdown(status.retryAt);

    if (status.state === 'connected') this.everConnected = true;
    // A panel that never reached the server is offline; one that lost it is reconnecting.
    this.connectionProblem =
      status.state === 'connected' || (status.state === 'connecting' && !this.everConnected)
        ? 'none'
        : this.everConnected && status.state !== 'unauthorized'
          ? 'reconnecting'
          : 'offline';
    for (const view of this.answers.values()) view.setConnectionProblem(this.connectionProblem);
  }

  private showRetryCountdown(retryAt: number | undefined): void {
    const seconds = retryAt !== undefined ? Math.ceil((retryAt - Date.now()) / 1000) : 0;
    this.statusLabel.textContent =
      seconds > 0 ? t('statusOfflineRetry', [String(seconds)]) : t('statusOffline');
    if (seconds > 0) this.statusTimer = setTimeout(() => this.showRetryCountdown(retryAt), 1_000);
  }

  private addAnswer(message: AssistantMessage): AssistantMessageView {
    const view = new AssistantMessageView(message, {
      onRegenerate: (id) => this.intents.onRegenerate(id),
      onReconnectNow: () => this.intents.onReconnectNow(),
    });
    view.setConnectionProblem(this.connectionProblem);
    this.answers.set(message.id, view);
    this.list.append(view.element);
    this.markLastAnswer();
    return view;
  }

  private markLastAnswer(): void {
    const views = [...this.answers.values()];
    views.forEach((view, index) => {
      view.setLast(index === views.length - 1);
    });
  }

  private updateEmpty(): void {
    this.empty.hidden = this.list.childElementCount > 0;
  }

  private followBottom(): void {
    if (this.stickToBottom) this.scroller.scrollTop = this.scroller.scrollHeight;
  }
}
