// The composer's web search toggle: shown only when the server's welcome says it can search; when on, each send
// asks the worker to search the web first, for the user's own words and the title of the page they are about.
import { t } from '../shared/i18n.ts';
import type { SentRequest, UserMessage } from '../store/types.ts';

const globeIcon =
  '<svg viewBox="0 0 24 24" aria-hidden="true"><circle cx="12" cy="12" r="9" /><path d="M3 12h18M12 3a14 14 0 0 1 0 18M12 3a14 14 0 0 0 0 18" /></svg>';

/** Characters of a query the panel sends (the server cuts at 400 too). */
const maxQueryChars = 400;

/** What to search for: the user's words, then the page's or selection's title when the message is about one. */
export function searchQueryFor(message: Pick<UserMessage, 'content' | 'context'>): string {
  const words = message.content.replace(/\s+/g, ' ').trim();
  const title = message.context?.title?.replace(/\s+/g, ' ').trim() ?? '';
  const query = [words, title].filter((part) => part !== '').join(' ');
  return query.slice(0, maxQueryChars);
}

export class WebSearchToggle {
  readonly button: HTMLButtonElement;
  private available = false;
  private on = false;

  /** Puts the toggle into `bar` before `before` (the composer's row of buttons). */
  constructor(bar: HTMLElement, before: Element | null) {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'icon-button web-search-toggle';
    button.dataset.testid = 'web-search-toggle';
    button.innerHTML = globeIcon; // a constant of ours, no outside text
    button.hidden = true;
    button.addEventListener('click', () => this.set(!this.on));
    bar.insertBefore(button, before);
    this.button = button;
    this.render();
  }

  /** From each welcome: the toggle exists only where the server can search. */
  setAvailable(available: boolean): void {
    this.available = available;
    this.button.hidden = !available;
  }

  get active(): boolean {
    return this.available && this.on;
  }

  /** The send's web search fields, or undefined when off (or the server cannot search). */
  requestFor(asked: UserMessage): Pick<SentRequest, 'webSearch' | 'searchQuery'> | undefined {
    if (!this.active) return undefined;
    const searchQuery = searchQueryFor(asked);
    return searchQuery === '' ? undefined : { webSearch: true, searchQuery };
  }

  private set(on: boolean): void {
    this.on = on;
    this.render();
  }

  private render(): void {
    const label = this.on ? t('webSearchOn') : t('webSearchOff');
    this.button.setAttribute('aria-pressed', String(this.on));
    this.button.title = label;
    this.button.setAttribute('aria-label', label);
  }
}
