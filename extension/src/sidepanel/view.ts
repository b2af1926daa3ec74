// The side panel's DOM: header status, message list, composer. It reports intents and draws state.
import type { ConnectionStatus } from '../client/connection.ts';
import { t } from '../shared/i18n.ts';
import type { AssistantMessage, StoredMessage } from '../store/types.ts';
import { AssistantMessageView, createUserMessage } from './message-view.ts';

export interface PanelIntents {
  onSend(text: string): void;
  onStop(): void;
  onRegenerate(messageId: string): void;
  onNewChat(): void;
  onOpenSettings(): void;
  onReconnectNow(): void;
}

function required<T extends Element>(selector: string): T {
  const element = document.querySelector<T>(selector);
  if (!element) throw new Error(`side panel markup lacks ${selector}`);
  return element;
}

export class PanelView {
  private readonly intents: PanelIntents;
  private readonly scroller = required<HTMLElement>('.messages');
  private readonly list = required<HTMLElement>('.message-list');
  private readonly empty = required<HTMLElement>('[data-testid="empty-state"]');
  private readonly composer = required<HTMLTextAreaElement>('[data-testid="composer"]');
  private readonly sendButton = required<HTMLButtonElement>('[data-testid="send"]');
  private readonly stopButton = required<HTMLButtonElement>('[data-testid="stop"]');
  private readonly status = required<HTMLElement>('[data-testid="connection-status"]');
  private readonly statusLabel = required<HTMLElement>('.connection-label');
  private readonly banner = required<HTMLElement>('[data-testid="unauthorized-banner"]');
  private readonly answers = new Map<string, AssistantMessageView>();
  private busy = false;
  /** Follow new text only while the reader is at the bottom; never yank them back from above. */
  private stickToBottom = true;
  private statusTimer: ReturnType<typeof setTimeout> | undefined;
  private connectionProblem: 'none' | 'reconnecting' | 'offline' = 'none';
  private everConnected = false;

  constructor(intents: PanelIntents) {
    this.intents = intents;
    const form = required<HTMLFormElement>('.composer');
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.submit();
    });
    this.composer.addEventListener('keydown', (event) => {
      // Enter sends; Shift+Enter is a new line; Enter while composing CJK input confirms the candidate.
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.submit();
      }
      if (event.key === 'Escape' && this.busy) intents.onStop();
    });
    this.composer.addEventListener('input', () => this.updateComposer());
    this.stopButton.addEventListener('click', () => intents.onStop());
    required<HTMLButtonElement>('[data-testid="new-chat"]').addEventListener('click', () =>
      intents.onNewChat(),
    );
    for (const button of document.querySelectorAll<HTMLButtonElement>('[data-action="settings"]')) {
      button.addEventListener('click', () => intents.onOpenSettings());
    }
    for (const suggestion of document.querySelectorAll<HTMLButtonElement>('.suggestion')) {
      suggestion.addEventListener('click', () => {
        if (this.busy) return;
        intents.onSend(suggestion.textContent ?? '');
      });
    }
    this.scroller.addEventListener('scroll', () => {
      const distance = this.scroller.scrollHeight - this.scroller.scrollTop - this.scroller.clientHeight;
      this.stickToBottom = distance < 60;
    });
    new ResizeObserver(() => this.followBottom()).observe(this.list);
    this.updateComposer();
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
    this.stopButton.hidden = !busy;
    this.sendButton.hidden = busy;
    this.updateComposer();
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

  private submit(): void {
    const text = this.composer.value.trim();
    if (!text || this.busy) return;
    this.composer.value = '';
    this.updateComposer();
    this.stickToBottom = true;
    this.intents.onSend(text);
  }

  private updateComposer(): void {
    this.sendButton.disabled = this.composer.value.trim().length === 0 || this.busy;
    // Grow with the text up to the CSS max-height.
    this.composer.style.height = 'auto';
    this.composer.style.height = `${this.composer.scrollHeight}px`;
  }

  private updateEmpty(): void {
    this.empty.hidden = this.list.childElementCount > 0;
  }

  private followBottom(): void {
    if (this.stickToBottom) this.scroller.scrollTop = this.scroller.scrollHeight;
  }
}
