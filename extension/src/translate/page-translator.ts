// Injected into the current tab (chrome.scripting, a classic script): finds the page's readable blocks and shows a
// translation under each. Translations are inserted as text (textContent), never as markup, and carry
// `data-chrome-plus-translation`; code, formulas, navigation and editable areas are left alone.
import type { PageBlock } from '@chrome-plus/client';

/** The elements read as blocks; a block inside another keeps the inner one (a <p> in an <li>). */
const blockSelector =
  'p, li, h1, h2, h3, h4, h5, h6, blockquote, dd, dt, figcaption, td, th, summary, caption';
/** What is never translated, nor anything inside it. */
const skipSelector = [
  'nav, header, footer, aside, [role="navigation"], [role="banner"], [role="contentinfo"]',
  'pre, code, kbd, samp, var, math, svg, script, style, noscript, template, textarea, input, select, button',
  '[contenteditable=""], [contenteditable="true"], [aria-hidden="true"], [hidden], [translate="no"], .notranslate',
  '.katex, .MathJax, mjx-container',
  '[data-chrome-plus-translation]',
].join(', ');
const translationAttribute = 'data-chrome-plus-translation';
const blockAttribute = 'data-chrome-plus-block';

export interface CollectLimits {
  /** Blocks read from one page (default 2,000): a longer page is translated up to there. */
  maxBlocks: number;
  /** Characters of one block (default 4,000): the rest of a longer block is left untranslated. */
  maxBlockChars: number;
}

function textOf(element: Element): string {
  // The block's own text, without a translation already shown inside it.
  const copy = element.cloneNode(true) as Element;
  for (const shown of copy.querySelectorAll(`[${translationAttribute}]`)) shown.remove();
  return (copy.textContent ?? '').replace(/\s+/g, ' ').trim();
}

function collect(limits: CollectLimits): { blocks: PageBlock[]; truncated: boolean } {
  const candidates = [...document.body.querySelectorAll(blockSelector)].filter(
    (element) => element.closest(skipSelector) === null && element.querySelector(blockSelector) === null,
  );
  const blocks: PageBlock[] = [];
  const viewportHeight = window.innerHeight;
  for (const element of candidates) {
    const text = textOf(element);
    // Only text with letters: numbers, symbols and empty cells are left as they are.
    if (text.length < 2 || !/\p{L}/u.test(text)) continue;
    if (blocks.length >= limits.maxBlocks) return { blocks, truncated: true };
    const index = blocks.length;
    element.setAttribute(blockAttribute, String(index));
    const rect = element.getBoundingClientRect();
    const visible = rect.bottom > 0 && rect.top < viewportHeight && rect.height > 0;
    blocks.push({ index, text: text.slice(0, limits.maxBlockChars), visible });
  }
  return { blocks, truncated: false };
}

/** Shows each translation as the last child of its block, styled apart; a block shown twice keeps one. */
function insert(items: { index: number; text: string }[], language: string, hidden: boolean): number {
  let shown = 0;
  for (const { index, text } of items) {
    const block = document.querySelector(`[${blockAttribute}="${index}"]`);
    if (block === null) continue;
    let translation = block.querySelector(`:scope > [${translationAttribute}]`) as HTMLElement | null;
    if (translation === null) {
      translation = document.createElement('span');
      translation.setAttribute(translationAttribute, String(index));
      // Styled through the CSSOM: allowed under any page's Content-Security-Policy, unlike a style element.
      Object.assign(translation.style, {
        display: 'block',
        margin: '0.3em 0 0',
        paddingLeft: '0.6em',
        borderLeft: '3px solid rgba(37, 99, 235, 0.55)',
        opacity: '0.88',
        fontSize: '0.95em',
        fontWeight: 'normal',
        fontStyle: 'normal',
      });
      block.append(translation);
    }
    translation.lang = language;
    translation.textContent = text;
    translation.hidden = hidden;
    shown += 1;
  }
  return shown;
}

function setHidden(hidden: boolean): number {
  const translations = document.querySelectorAll<HTMLElement>(`[${translationAttribute}]`);
  for (const translation of translations) translation.hidden = hidden;
  return translations.length;
}

function remove(): void {
  for (const translation of document.querySelectorAll(`[${translationAttribute}]`)) translation.remove();
  for (const block of document.querySelectorAll(`[${blockAttribute}]`)) block.removeAttribute(blockAttribute);
}

const popupAttribute = 'data-chrome-plus-popup';

/**
 * A selection's translation in a small box beside it (in a shadow root, so the page's styles do not reach it):
 * `text` as text, or a note while it is on its way. Esc, the close button or a click elsewhere closes it. Styled
 * through the CSSOM, as the translations are: a style element could be refused by the page's policy.
 */
function popup(text: string, pending: boolean, closeLabel: string): void {
  let host = document.querySelector<HTMLElement>(`[${popupAttribute}]`);
  if (host === null) {
    const created = document.createElement('div');
    host = created;
    created.setAttribute(popupAttribute, '');
    const selection = window.getSelection();
    const rect =
      selection !== null && selection.rangeCount > 0
        ? selection.getRangeAt(0).getBoundingClientRect()
        : undefined;
    Object.assign(created.style, {
      position: 'absolute',
      zIndex: '2147483647',
      left: `${Math.max(8, (rect?.left ?? 16) + window.scrollX)}px`,
      top: `${(rect?.bottom ?? 16) + window.scrollY + 6}px`,
    });
    const dark = window.matchMedia('(prefers-color-scheme: dark)').matches;
    const box = document.createElement('div');
    Object.assign(box.style, {
      position: 'relative',
      maxWidth: 'min(420px, 90vw)',
      padding: '10px 30px 10px 12px',
      borderRadius: '8px',
      font: '14px/1.5 system-ui, sans-serif',
      whiteSpace: 'pre-wrap',
      color: dark ? '#e5e7eb' : '#1f2937',
      background: dark ? '#1f2937' : '#ffffff',
      border: `1px solid ${dark ? '#4b5563' : '#d1d5db'}`,
      boxShadow: '0 6px 24px rgba(0, 0, 0, 0.18)',
    });
    const body = document.createElement('p');
    body.className = 'text';
    body.style.margin = '0';
    const close = document.createElement('button');
    close.type = 'button';
    close.textContent = '×';
    close.setAttribute('aria-label', closeLabel);
    Object.assign(close.style, {
      position: 'absolute',
      top: '4px',
      right: '6px',
      border: '0',
      background: 'none',
      fontSize: '18px',
      lineHeight: '1',
      cursor: 'pointer',
      color: 'inherit',
    });
    box.append(body, close);
    created.attachShadow({ mode: 'open' }).append(box);
    document.body.append(created);
    const onKey = (event: KeyboardEvent) => {
      if (event.key === 'Escape') dismiss();
    };
    const onOutside = (event: MouseEvent) => {
      if (!event.composedPath().includes(created)) dismiss();
    };
    const dismiss = () => {
      created.remove();
      document.removeEventListener('keydown', onKey, true);
      document.removeEventListener('mousedown', onOutside, true);
    };
    close.addEventListener('click', dismiss);
    document.addEventListener('keydown', onKey, true);
    document.addEventListener('mousedown', onOutside, true);
  }
  const body = host.shadowRoot?.querySelector<HTMLElement>('.text');
  if (body) {
    body.textContent = text;
    body.classList.toggle('pending', pending);
    body.style.opacity = pending ? '0.6' : '1';
  }
}

(globalThis as { __chromePlusTranslator?: unknown }).__chromePlusTranslator = {
  collect,
  insert,
  setHidden,
  remove,
  popup,
};
