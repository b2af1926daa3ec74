// The conversation list: search over titles and messages, open, rename in place, export, delete.
import { required } from '../shared/dom.ts';
import { t } from '../shared/i18n.ts';
import type { SearchHit } from '../store/conversation-store.ts';
import { icon } from './icons.ts';
import { syncPendingLabel } from './sync-label.ts';

export interface HistoryIntents {
  onSearch(query: string): void;
  onOpen(conversationId: string): void;
  onRename(conversationId: string, title: string): void;
  onExport(conversationId: string): void;
  onDelete(conversationId: string): void;
}

const sameDay = (left: Date, right: Date) => left.toDateString() === right.toDateString();

function when(timestamp: number, now = new Date()): string {
  const date = new Date(timestamp);
  const locale = chrome.i18n.getUILanguage();
  if (sameDay(date, now)) return date.toLocaleTimeString(locale, { hour: '2-digit', minute: '2-digit' });
  return date.toLocaleDateString(locale, {
    month: 'short',
    day: 'numeric',
    ...(date.getFullYear() !== now.getFullYear() && { year: 'numeric' }),
  });
}

export class HistoryView {
  readonly element: HTMLElement;
  private readonly intents: HistoryIntents;
  private readonly search: HTMLInputElement;
  private readonly list: HTMLElement;
  private readonly empty: HTMLElement;
  private searchTimer: ReturnType<typeof setTimeout> | undefined;
  private currentId: string | undefined;

  constructor(root: ParentNode, intents: HistoryIntents) {
    this.intents = intents;
    this.element = required('[data-testid="history"]', root);
    this.search = required('[data-testid="history-search"]', this.element);
    this.list = required('[data-testid="history-list"]', this.element);
    this.empty = required('[data-testid="history-empty"]', this.element);
    this.search.addEventListener('input', () => {
      clearTimeout(this.searchTimer);
      this.searchTimer = setTimeout(() => intents.onSearch(this.search.value), 120);
    });
    this.search.addEventListener('keydown', (event) => {
      // Enter opens the first match: search, then go, without the mouse.
      if (event.key === 'Enter') this.list.querySelector<HTMLButtonElement>('.history-open')?.click();
    });
  }

  get isOpen(): boolean {
    return !this.element.hidden;
  }

  get query(): string {
    return this.search.value;
  }

  open(currentId: string | undefined): void {
    this.currentId = currentId;
    this.element.hidden = false;
    this.search.focus();
    this.search.select();
    this.intents.onSearch(this.search.value);
  }

  close(): void {
    this.element.hidden = true;
  }

  /** Draws the hits of the current query; a rename in progress is not interrupted by a redraw. */
  show(hits: readonly SearchHit[]): void {
    if (this.list.querySelector('.history-rename-input')) return;
    this.list.replaceChildren(...hits.map((hit) => this.item(hit)));
    this.empty.hidden = hits.length > 0;
    this.empty.textContent = this.search.value.trim() ? t('historyNoMatch') : t('historyEmpty');
  }

  private item({ conversation, snippet, pending }: SearchHit): HTMLElement {
    const item = document.createElement('li');
    item.className = 'history-item';
    item.dataset.testid = 'history-item';
    item.dataset.conversationId = conversation.id;
    if (conversation.id === this.currentId) item.dataset.current = '';

    const open = document.createElement('button');
    open.type = 'button';
    open.className = 'history-open';
    const title = document.createElement('span');
    title.className = 'history-title';
    title.dataset.testid = 'history-title';
    title.textContent = conversation.title || t('untitled');
    const meta = document.createElement('span');
    meta.className = 'history-meta';
    meta.textContent = when(conversation.updatedAt);
    open.append(title, meta);
    if (pending) open.append(syncPendingLabel());
    if (snippet) {
      const excerpt = document.createElement('span');
      excerpt.className = 'history-snippet';
      excerpt.dataset.testid = 'history-snippet';
      excerpt.textContent = snippet;
      open.append(excerpt);
    }
    open.addEventListener('click', () => this.intents.onOpen(conversation.id));

    const actions = document.createElement('div');
    actions.className = 'history-actions';
    const rename = this.action('pencil', t('rename'), 'history-rename');
    rename.addEventListener('click', () => this.startRename(item, title, conversation.id));
    const exportButton = this.action('download', t('exportMarkdown'), 'history-export');
    exportButton.addEventListener('click', () => this.intents.onExport(conversation.id));
    const remove = this.action('trash', t('delete'), 'history-delete');
    remove.addEventListener('click', () => {
      item.remove();
      this.empty.hidden = this.list.childElementCount > 0;
      this.intents.onDelete(conversation.id);
    });
    actions.append(rename, exportButton, remove);
    item.append(open, actions);
    return item;
  }

  private action(name: 'pencil' | 'download' | 'trash', label: string, testId: string): HTMLButtonElement {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'icon-button small';
    button.dataset.testid = testId;
    button.title = label;
    button.setAttribute('aria-label', label);
    button.append(icon(name));
    return button;
  }

  private startRename(item: HTMLElement, title: HTMLElement, conversationId: string): void {
    const input = document.createElement('input');
    input.className = 'history-rename-input';
    input.dataset.testid = 'history-rename-input';
    input.value = title.textContent ?? '';
    input.setAttribute('aria-label', t('rename'));
    item.classList.add('renaming');
    item.prepend(input);
    input.focus();
    input.select();
    let done = false;
    const finish = (save: boolean) => {
      if (done) return;
      done = true;
      const next = input.value.trim();
      input.remove();
      item.classList.remove('renaming');
      if (save && next && next !== title.textContent) {
        title.textContent = next;
        this.intents.onRename(conversationId, next);
      }
    };
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') finish(true);
      if (event.key === 'Escape') {
        // Esc leaves the rename only, not the history list.
        event.stopPropagation();
        finish(false);
      }
    });
    input.addEventListener('blur', () => finish(true));
  }
}
