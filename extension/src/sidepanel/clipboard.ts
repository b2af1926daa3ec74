// Copy to the clipboard, with a short "Copied" confirmation on the button that did it.
import { t } from '../shared/i18n.ts';

export async function copyText(text: string, button: HTMLElement, label?: HTMLElement): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // Clipboard access can be refused (e.g. the panel lost focus); the fallback needs a selection.
    const area = document.createElement('textarea');
    area.value = text;
    document.body.append(area);
    area.select();
    document.execCommand('copy');
    area.remove();
  }
  const target = label ?? button;
  const before = target.textContent;
  button.dataset.copied = '';
  target.textContent = t('copied');
  setTimeout(() => {
    target.textContent = before;
    delete button.dataset.copied;
  }, 1_500);
}
