// The DOM of an assistant answer that streams, fails, or is stopped (a user's message: user-message.ts). Over 250
// lines: one answer's whole life on screen, a compared answer's header included (compare-header.ts).
import type { AnswerState, RequestEvent } from '@chrome-plus/client';
import { StreamingMarkdown } from '../render/streaming-markdown.ts';
import { describeError } from '../shared/error-text.ts';
import { t } from '../shared/i18n.ts';
import type { AssistantMessage } from '../store/types.ts';
import { copyText } from './clipboard.ts';
import { CompareHeader, type CompareHeaderActions } from './compare-header.ts';
import { icon } from './icons.ts';
import { SourcesView } from './sources-view.ts';

/** Adds a copy button to each code block of freshly rendered markdown. */
export function decorateCodeBlocks(element: HTMLElement): void {
  for (const block of element.querySelectorAll<HTMLElement>('.code-block')) {
    if (block.querySelector('.copy-code')) continue;
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'copy-code';
    button.dataset.testid = 'copy-code';
    button.textContent = t('copy');
    button.title = t('copyCode');
    button.addEventListener('click', () => {
      void copyText(block.querySelector('code')?.textContent ?? '', button);
    });
    block.append(button);
  }
}

export type NoteKind = 'none' | 'waiting' | 'queued' | 'reconnecting' | 'offline';

export interface AssistantMessageActions extends Partial<CompareHeaderActions> {
  onRegenerate(messageId: string): void;
  onReconnectNow(): void;
}

export class AssistantMessageView {
  readonly element: HTMLElement;
  readonly messageId: string;
  private readonly markdown = new StreamingMarkdown({ decorate: decorateCodeBlocks });
  private readonly reasoning: HTMLDetailsElement;
  private readonly reasoningSummary: HTMLElement;
  private readonly reasoningText: HTMLElement;
  private readonly note: HTMLElement;
  private readonly error: HTMLElement;
  private readonly regenerateButton: HTMLButtonElement;
  private readonly meta: HTMLElement;
  private readonly sources = new SourcesView();
  private readonly actions: AssistantMessageActions;
  /** Model compare: the answer's model, speed and pick button; undefined for a plain answer. */
  private readonly compare: CompareHeader | undefined;
  private state: AnswerState;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private connectionProblem: 'none' | 'reconnecting' | 'offline' = 'none';
  private isLast = true;

  /** `picked`: a compared answer that its question picked (a plain answer ignores it). */
  constructor(message: AssistantMessage, actions: AssistantMessageActions, picked = false) {
    this.messageId = message.id;
    this.actions = actions;
    this.state = {
      text: message.content,
      reasoning: message.reasoning,
      status: message.status,
      lastSeq: message.lastSeq,
      model: message.model,
      usage: message.usage,
      error: message.error,
    };
    const element = document.createElement('div');
    element.className = 'message-assistant';
    element.dataset.testid = 'message-assistant';
    element.dataset.messageId = message.id;
    this.element = element;
    const compare = message.compare;
    if (compare) {
      element.dataset.model = compare.model;
      this.compare = new CompareHeader({ ...message, compare }, picked, {
        onPick: (id) => actions.onPick?.(id),
        onStopAnswer: (id) => actions.onStopAnswer?.(id),
      });
      element.append(this.compare.element);
    }

    this.reasoning = document.createElement('details');
    this.reasoning.className = 'reasoning';
    this.reasoningSummary = document.createElement('summary');
    this.reasoningText = document.createElement('div');
    this.reasoningText.className = 'reasoning-text';
    this.reasoning.append(this.reasoningSummary, this.reasoningText);

    this.note = document.createElement('div');
    this.note.className = 'message-note';

    this.error = document.createElement('div');
    this.error.className = 'message-error';
    this.error.dataset.testid = 'message-error';

    const toolbar = document.createElement('div');
    toolbar.className = 'toolbar';
    const copyButton = this.toolButton('copy', t('copy'), 'copy-message');
    copyButton.addEventListener('click', () =>
      copyText(this.markdown.text, copyButton, copyButton.querySelector('span') ?? undefined),
    );
    this.regenerateButton = this.toolButton('regenerate', t('regenerate'), 'regenerate');
    this.regenerateButton.addEventListener('click', () => actions.onRegenerate(this.messageId));
    this.meta = document.createElement('span');
    this.meta.className = 'toolbar-meta';
    toolbar.append(copyButton, this.regenerateButton, this.meta);

    element.append(
      this.reasoning,
      this.note,
      this.markdown.element,
      this.sources.element,
      this.error,
      toolbar,
    );
    this.sources.show(message.webSearch);
    this.markdown.reset(message.content);
    this.reasoningText.textContent = message.reasoning;
    this.refresh();
  }

  get status(): AnswerState['status'] {
    return this.state.status;
  }

  /** Applies one event; `state` is the answer after it. Text is appended, never re-rendered whole. */
  apply(event: RequestEvent, state: AnswerState): void {
    this.compare?.update(this.state, state);
    this.state = state;
    this.sources.show(state.webSearch);
    if (event.type === 'chat.delta') {
      if (event.text) this.markdown.append(event.text);
      if (event.reasoning) this.reasoningText.append(event.reasoning);
    } else if (event.type === 'chat.restart') {
      this.markdown.reset();
      this.reasoningText.textContent = '';
    } else if (event.type !== 'chat.accepted') {
      this.markdown.flush();
    }
    this.refresh();
  }

  /** Whether this is the conversation's last answer: only that one offers "regenerate". */
  setLast(isLast: boolean): void {
    this.isLast = isLast;
    // A comparison is settled by a pick, not regenerated.
    this.regenerateButton.hidden = !isLast || this.compare?.picked === false;
    this.regenerateButton.dataset.testid = isLast ? 'regenerate' : 'regenerate-older';
    this.renderError();
  }

  /** Model compare: the conversation goes on with this answer. */
  setPicked(): void {
    this.compare?.setPicked(this.state);
    this.setLast(this.isLast);
  }

  setConnectionProblem(problem: 'none' | 'reconnecting' | 'offline'): void {
    this.connectionProblem = problem;
    this.refresh();
  }

  dispose(): void {
    clearTimeout(this.retryTimer);
  }

  private toolButton(name: 'copy' | 'regenerate', label: string, testId: string): HTMLButtonElement {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'tool-button';
    button.dataset.testid = testId;
    button.title = label;
    const text = document.createElement('span');
    text.textContent = label;
    button.append(icon(name), text);
    return button;
  }

  private refresh(): void {
    const state = this.state;
    this.element.dataset.status = state.status;
    if (state.model && !this.compare) this.element.dataset.model = state.model;
    this.compare?.update(undefined, state);
    const streaming = state.status === 'streaming';

    this.reasoning.hidden = state.reasoning.length === 0;
    this.reasoningSummary.textContent = streaming && state.text.length === 0 ? t('thinking') : t('thoughts');

    this.renderNote(this.noteKind());
    this.renderError();

    const parts: string[] = [];
    if (state.model) parts.push(state.model);
    if (state.usage) {
      parts.push(t('tokensUsed', [String(state.usage.promptTokens), String(state.usage.completionTokens)]));
    }
    if (state.status === 'cancelled') parts.unshift(t('cancelled'));
    this.meta.textContent = parts.join(' · ');
  }

  private noteKind(): NoteKind {
    if (this.state.status !== 'streaming') return 'none';
    // Nothing arrived yet: the request may not have left; once text flows, it continues on reconnect.
    if (this.connectionProblem !== 'none') return this.state.lastSeq === 0 ? 'offline' : 'reconnecting';
    if (this.state.queued) return 'queued';
    if (this.state.text.length === 0 && this.state.reasoning.length === 0) return 'waiting';
    return 'none';
  }

  private renderNote(kind: NoteKind): void {
    if (this.note.dataset.kind === kind && kind !== 'queued') return;
    this.note.dataset.kind = kind;
    this.note.replaceChildren();
    this.note.hidden = kind === 'none';
    if (kind === 'waiting') {
      const dots = document.createElement('span');
      dots.className = 'typing';
      dots.setAttribute('aria-label', t('waitingForServer'));
      dots.append(
        document.createElement('span'),
        document.createElement('span'),
        document.createElement('span'),
      );
      this.note.append(dots);
    } else if (kind === 'queued') {
      this.note.textContent = t('queued', [String(this.state.queued ?? 0)]);
    } else if (kind === 'reconnecting') {
      this.note.textContent = t('reconnecting');
    } else if (kind === 'offline') {
      const text = document.createElement('span');
      text.textContent = t('offlinePending');
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'link-button';
      button.textContent = t('reconnectNow');
      button.addEventListener('click', () => this.actions.onReconnectNow());
      this.note.append(text, button);
    }
  }

  private renderError(): void {
    clearTimeout(this.retryTimer);
    const error = this.state.error;
    if (this.state.status !== 'error' || !error) {
      this.error.hidden = true;
      return;
    }
    const description = describeError(error);
    const text = document.createElement('span');
    text.textContent = t(description.key, description.substitutions);
    this.error.replaceChildren(text);
    // Retrying means regenerating, which only the last answer of a conversation can do.
    if (description.canRetry && this.isLast) {
      const retry = document.createElement('button');
      retry.type = 'button';
      retry.className = 'retry-button';
      retry.dataset.testid = 'retry';
      retry.textContent = t('retry');
      retry.addEventListener('click', () => this.actions.onRegenerate(this.messageId));
      this.error.append(retry);
    }
    this.error.hidden = false;
    // A rate limit counts down: redraw each second until a retry can work.
    if (description.retryAt !== undefined && description.retryAt > Date.now()) {
      this.retryTimer = setTimeout(() => this.renderError(), 1_000);
    }
  }
}
