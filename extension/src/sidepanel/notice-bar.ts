// Short messages to the user: a notice above the composer (with an optional action) and a toast with Undo.
import { required } from '../shared/dom.ts';

/** A message above the composer; `action` adds a button (it runs inside the click: a user gesture). */
export interface Notice {
  kind: 'info' | 'error';
  text: string;
  action?: { label: string; run(): void };
}

export class NoticeBar {
  private readonly notice = required<HTMLElement>('[data-testid="notice"]');
  private readonly toast = required<HTMLElement>('[data-testid="toast"]');
  private toastTimer: ReturnType<typeof setTimeout> | undefined;

  constructor() {
    required('[data-testid="notice-close"]').addEventListener('click', () => this.hideNotice());
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
}
