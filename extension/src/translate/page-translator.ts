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

(globalThis as { __chromePlusTranslator?: unknown }).__chromePlusTranslator = {
  collect,
  insert,
  setHidden,
  remove,
};
