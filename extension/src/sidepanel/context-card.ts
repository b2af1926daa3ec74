// The page or selection a message is about, as shown above it: a titled link, or the quoted selection.
import { t } from '../shared/i18n.ts';
import type { MessageContext } from '../store/types.ts';
import { icon } from './icons.ts';

/** A link to where the context came from; only web and file addresses become clickable. */
function sourceLink(title: string, url: string): HTMLElement {
  const safe = /^(https?|file):/i.test(url);
  const link = document.createElement(safe ? 'a' : 'span');
  link.className = 'context-link';
  link.textContent = title || url;
  link.title = url;
  if (link instanceof HTMLAnchorElement) {
    link.href = url;
    link.target = '_blank';
    link.rel = 'noopener noreferrer';
  }
  return link;
}

export function contextCard(context: MessageContext, onRemove?: () => void): HTMLElement {
  const card = document.createElement('div');
  card.className = `context-card context-${context.kind}`;
  card.dataset.testid = 'message-context';
  card.dataset.kind = context.kind;

  const head = document.createElement('div');
  head.className = 'context-head';
  head.append(icon(context.kind === 'page' ? 'page' : 'quote'));
  const label = document.createElement('span');
  label.className = 'context-label';
  label.textContent = context.kind === 'page' ? t('contextPage') : t('contextSelection');
  head.append(label, sourceLink(context.title, context.url));
  if (onRemove) {
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.className = 'chip-remove';
    remove.dataset.testid = 'context-remove';
    remove.title = t('removeContext');
    remove.setAttribute('aria-label', t('removeContext'));
    remove.append(icon('close'));
    remove.addEventListener('click', onRemove);
    head.append(remove);
  }
  card.append(head);

  if (context.kind === 'selection') {
    const quote = document.createElement('blockquote');
    quote.className = 'context-quote';
    quote.dataset.testid = 'context-quote';
    quote.textContent = context.text;
    card.append(quote);
  } else {
    const note = document.createElement('div');
    note.className = 'context-note';
    const cut = context.totalCharacters > context.text.length;
    note.dataset.testid = cut ? 'context-cut-note' : 'context-size';
    note.dataset.cut = String(cut);
    note.textContent = cut
      ? t('contextPageCut', [context.text.length.toLocaleString(), context.totalCharacters.toLocaleString()])
      : t('contextPageSize', [context.text.length.toLocaleString()]);
    card.append(note);
  }
  return card;
}
