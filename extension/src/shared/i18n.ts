// UI strings through chrome.i18n (_locales/en, _locales/zh_CN), with keys checked against the English file.
import type englishMessages from '../../static/_locales/en/messages.json';

export type MessageKey = keyof typeof englishMessages;

/** The string for `key` in the browser's language; the key itself if it is missing (never blank UI). */
export function t(key: MessageKey, substitutions?: string | string[]): string {
  return chrome.i18n.getMessage(key, substitutions) || key;
}

/**
 * Fills static markup: `data-i18n` sets the text, `data-i18n-placeholder`, `data-i18n-title`
 * and `data-i18n-aria-label` set those attributes.
 */
export function localizePage(root: ParentNode = document): void {
  for (const element of root.querySelectorAll<HTMLElement>('[data-i18n]')) {
    element.textContent = t(element.dataset.i18n as MessageKey);
  }
  const attributes = [
    ['i18nPlaceholder', 'placeholder'],
    ['i18nTitle', 'title'],
    ['i18nAriaLabel', 'aria-label'],
  ] as const;
  for (const [dataKey, attribute] of attributes) {
    const selector = `[data-${dataKey.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}]`;
    for (const element of root.querySelectorAll<HTMLElement>(selector)) {
      element.setAttribute(attribute, t(element.dataset[dataKey] as MessageKey));
    }
  }
  document.documentElement.lang = chrome.i18n.getUILanguage();
}
