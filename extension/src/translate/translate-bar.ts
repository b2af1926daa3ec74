// The panel's page translation: the header's translate button, and while a page is translated a bar under the
// header with the progress, the target language (default: the UI language; the choice is kept on this device) and a
// toggle that hides or shows the translations on the page.

import { languageName, translationLanguages } from '@chrome-plus/client';
import { t } from '../shared/i18n.ts';
import type { PageTranslation, TranslationProgress } from './page-translation.ts';

const languageKey = 'translateLanguage';

/** The UI language as a target: Chinese UIs translate into Simplified Chinese, every other into English. */
export function defaultTargetLanguage(uiLanguage = chrome.i18n.getUILanguage()): string {
  if (/^zh-(TW|HK|MO|Hant)/i.test(uiLanguage)) return 'zh-TW';
  if (/^zh/i.test(uiLanguage)) return 'zh-CN';
  const base = uiLanguage.split('-')[0] ?? 'en';
  return translationLanguages.includes(base) ? base : 'en';
}

export class TranslateBar {
  private readonly translation: PageTranslation;
  private readonly model: () => string | undefined;
  private readonly bar: HTMLElement;
  private readonly status: HTMLElement;
  private readonly languageSelect: HTMLSelectElement;
  private readonly toggle: HTMLButtonElement;

  constructor(options: {
    translation: PageTranslation;
    model: () => string | undefined;
    header: HTMLElement;
  }) {
    this.translation = options.translation;
    this.model = options.model;
    const button = options.header.querySelector<HTMLButtonElement>('[data-testid="translate-page"]');
    button?.addEventListener('click', () => void this.translate());

    this.bar = document.createElement('div');
    this.bar.className = 'translate-bar';
    this.bar.dataset.testid = 'translate-bar';
    this.bar.hidden = true;
    this.status = document.createElement('span');
    this.status.className = 'translate-status';
    this.status.dataset.testid = 'translate-status';
    this.status.setAttribute('role', 'status');
    this.languageSelect = document.createElement('select');
    this.languageSelect.dataset.testid = 'translate-language';
    this.languageSelect.setAttribute('aria-label', t('translateLanguage'));
    for (const tag of translationLanguages) this.languageSelect.append(new Option(languageName(tag), tag));
    this.languageSelect.value = defaultTargetLanguage();
    this.languageSelect.addEventListener('change', () => {
      void chrome.storage.local.set({ [languageKey]: this.languageSelect.value });
      void this.translate();
    });
    this.toggle = document.createElement('button');
    this.toggle.type = 'button';
    this.toggle.className = 'link-button';
    this.toggle.dataset.testid = 'translate-toggle';
    this.toggle.textContent = t('hideTranslations');
    this.toggle.addEventListener('click', () => void this.flip());
    const close = document.createElement('button');
    close.type = 'button';
    close.className = 'link-button';
    close.dataset.testid = 'translate-stop';
    close.textContent = t('translateClose');
    close.addEventListener('click', () => {
      this.translation.stop();
      this.bar.hidden = true;
    });
    this.bar.append(this.status, this.languageSelect, this.toggle, close);
    options.header.after(this.bar);
    void chrome.storage.local.get(languageKey).then((stored) => {
      const saved = stored[languageKey];
      if (typeof saved === 'string' && translationLanguages.includes(saved))
        this.languageSelect.value = saved;
    });
  }

  /** The language translations go into: the chosen one, else the UI's. */
  get language(): string {
    return this.languageSelect.value;
  }

  /** Translates the panel's tab into the chosen language (the button, the context menu, the shortcut). */
  async translate(): Promise<void> {
    this.bar.hidden = false;
    this.toggle.textContent = t('hideTranslations');
    this.status.textContent = t('translateReading');
    const result = await this.translation.translate(this.languageSelect.value, this.model(), (progress) =>
      this.show(progress),
    );
    if (!result.ok)
      this.status.textContent = t(result.problem === 'empty' ? 'translateNothing' : 'translateUnreadable');
  }

  private show(progress: TranslationProgress): void {
    const counts = [String(progress.done), String(progress.total)];
    let text = progress.finished ? t('translateFinished', counts) : t('translateProgress', counts);
    if (progress.failed > 0) text += ` · ${t('translateFailed', String(progress.failed))}`;
    if (progress.truncated) text += ` · ${t('translateTruncated')}`;
    this.status.textContent = text;
    this.bar.dataset.state = progress.finished ? 'finished' : 'running';
  }

  private async flip(): Promise<void> {
    const hidden = !this.translation.hidden;
    await this.translation.setHidden(hidden);
    this.toggle.textContent = t(hidden ? 'showTranslations' : 'hideTranslations');
  }
}
