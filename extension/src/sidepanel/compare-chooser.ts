// The composer's model compare: a button beside the model picker opens a chooser of the server's models; with two to
// four chosen, each send asks each of them (kept for the panel's session in sessionStorage).
import { t } from '../shared/i18n.ts';

const compareIcon =
  '<svg viewBox="0 0 24 24" aria-hidden="true"><rect x="3" y="4" width="7.5" height="16" rx="1.5" /><rect x="13.5" y="4" width="7.5" height="16" rx="1.5" /></svg>';

const storageKey = 'chrome-plus.compare-models';
export const maxCompared = 4;

function loadChosen(): string[] {
  try {
    const saved: unknown = JSON.parse(sessionStorage.getItem(storageKey) ?? '[]');
    return Array.isArray(saved) ? saved.filter((id): id is string => typeof id === 'string') : [];
  } catch {
    return [];
  }
}

export class CompareChooser {
  readonly button: HTMLButtonElement;
  readonly menu: HTMLElement;
  private readonly list: HTMLElement;
  private available: string[] = [];
  private chosen: string[] = loadChosen();

  /** The button goes into `bar` before `before`; the menu into `area`, above the composer. */
  constructor(bar: HTMLElement, before: Element | null, area: HTMLElement) {
    this.button = document.createElement('button');
    this.button.type = 'button';
    this.button.className = 'icon-button compare-toggle';
    this.button.dataset.testid = 'compare-toggle';
    this.button.setAttribute('aria-haspopup', 'true');
    this.button.innerHTML = compareIcon; // a constant of ours, no outside text
    const count = document.createElement('span');
    count.className = 'compare-count';
    this.button.append(count);
    this.button.hidden = true;
    this.button.addEventListener('click', () => (this.isOpen ? this.close() : this.open()));
    bar.insertBefore(this.button, before);

    this.menu = document.createElement('div');
    this.menu.className = 'menu compare-menu';
    this.menu.dataset.testid = 'compare-menu';
    this.menu.hidden = true;
    const hint = document.createElement('p');
    hint.className = 'compare-menu-hint';
    hint.textContent = t('compareHint');
    this.list = document.createElement('div');
    this.list.className = 'compare-options';
    const off = document.createElement('button');
    off.type = 'button';
    off.className = 'link-button compare-off';
    off.dataset.testid = 'compare-off';
    off.textContent = t('compareOff');
    off.addEventListener('click', () => {
      this.choose([]);
      this.close(true);
    });
    this.menu.append(hint, this.list, off);
    area.prepend(this.menu);
    document.addEventListener('click', (event) => {
      const target = event.target as Node;
      if (this.isOpen && !this.menu.contains(target) && !this.button.contains(target)) this.close();
    });
    this.render();
  }

  get isOpen(): boolean {
    return !this.menu.hidden;
  }

  /** The models each send asks while comparing (two to four), or undefined when not comparing. */
  models(): string[] | undefined {
    const models = this.chosen.filter((id) => this.available.includes(id)).slice(0, maxCompared);
    return models.length >= 2 ? models : undefined;
  }

  /** The server's models (from each connect): compare needs two of them. */
  setModels(ids: readonly string[]): void {
    this.available = [...new Set(ids)];
    this.render();
  }

  close(focusButton = false): void {
    this.menu.hidden = true;
    this.button.setAttribute('aria-expanded', 'false');
    if (focusButton) this.button.focus();
  }

  private open(): void {
    this.menu.hidden = false;
    this.button.setAttribute('aria-expanded', 'true');
    this.list.querySelector('input')?.focus();
  }

  private choose(chosen: string[]): void {
    this.chosen = chosen;
    try {
      sessionStorage.setItem(storageKey, JSON.stringify(chosen));
    } catch {
      // Storage refused: kept for this page only.
    }
    this.renderButton();
    // The boxes stay (and keep the focus); only which may be ticked changes.
    const full = this.isFull();
    for (const box of this.list.querySelectorAll('input')) {
      box.checked = chosen.includes(box.value);
      box.disabled = full && !box.checked;
    }
  }

  private isFull(): boolean {
    return this.chosen.filter((id) => this.available.includes(id)).length >= maxCompared;
  }

  private render(): void {
    this.renderButton();
    const full = this.isFull();
    this.list.replaceChildren(
      ...this.available.map((id) => {
        const option = document.createElement('label');
        option.className = 'compare-option';
        option.dataset.testid = 'compare-model';
        option.dataset.model = id;
        const box = document.createElement('input');
        box.type = 'checkbox';
        box.value = id;
        box.checked = this.chosen.includes(id);
        box.disabled = full && !box.checked;
        box.addEventListener('change', () =>
          this.choose(box.checked ? [...this.chosen, id] : this.chosen.filter((other) => other !== id)),
        );
        const name = document.createElement('span');
        name.textContent = id;
        option.append(box, name);
        return option;
      }),
    );
  }

  private renderButton(): void {
    this.button.hidden = this.available.length < 2;
    const models = this.models();
    const label = models ? t('compareOn', [String(models.length)]) : t('compareModels');
    this.button.title = label;
    this.button.setAttribute('aria-label', label);
    this.button.setAttribute('aria-pressed', String(models !== undefined));
    const count = this.button.querySelector<HTMLElement>('.compare-count');
    if (count) count.textContent = models ? String(models.length) : '';
  }
}
