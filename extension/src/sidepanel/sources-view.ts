// The sources of an answer's web search, under it: numbered links as the answer cites them ([1], [2]...), or a note
// that the search failed or found nothing. Text only (textContent), http(s) links only, nothing remote loaded.
import type { WebSearchOutcome } from '@chrome-plus/protocol';
import { t } from '../shared/i18n.ts';

/** The URL if it is http or https, else undefined: a `javascript:` or `data:` source is shown as text, not linked. */
export function safeSourceUrl(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.href : undefined;
  } catch {
    return undefined;
  }
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '';
  }
}

export class SourcesView {
  readonly element: HTMLElement;
  private shown: WebSearchOutcome | undefined;

  constructor() {
    this.element = document.createElement('section');
    this.element.className = 'web-sources';
    this.element.dataset.testid = 'web-sources';
    this.element.hidden = true;
  }

  /** Shows `outcome` (undefined: nothing, as after a restart); redrawn only when it changed. */
  show(outcome: WebSearchOutcome | undefined): void {
    if (outcome === this.shown) return;
    this.shown = outcome;
    this.element.replaceChildren();
    this.element.hidden = outcome === undefined;
    if (outcome === undefined) return;
    const heading = document.createElement('div');
    heading.className = 'web-sources-heading';
    heading.textContent = t('webSources');
    this.element.append(heading);
    if (outcome.error !== undefined || outcome.sources.length === 0) {
      const note = document.createElement('div');
      note.className = 'web-sources-note';
      note.dataset.testid = 'web-sources-note';
      note.textContent = outcome.error !== undefined ? t('webSearchFailed') : t('webSearchNothing');
      if (outcome.error !== undefined) note.title = outcome.error;
      this.element.append(note);
      return;
    }
    const list = document.createElement('ol');
    list.className = 'web-sources-list';
    for (const source of outcome.sources) {
      const item = document.createElement('li');
      item.className = 'web-source';
      item.dataset.testid = 'web-source';
      const number = document.createElement('span');
      number.className = 'web-source-number';
      number.textContent = `[${source.n}]`;
      const href = safeSourceUrl(source.url);
      const title = document.createElement(href === undefined ? 'span' : 'a');
      title.className = 'web-source-title';
      title.textContent = source.title;
      if (title instanceof HTMLAnchorElement && href !== undefined) {
        title.href = href;
        title.target = '_blank';
        title.rel = 'noopener noreferrer';
        title.referrerPolicy = 'no-referrer';
        title.title = href;
      }
      const host = document.createElement('span');
      host.className = 'web-source-host';
      host.textContent = hostOf(source.url);
      item.append(number, title, host);
      list.append(item);
    }
    this.element.append(list);
  }
}
