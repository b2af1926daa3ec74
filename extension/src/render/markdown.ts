// Untrusted model markdown to safe HTML: marked renders, DOMPurify sanitizes, links open safely.
import DOMPurify from 'dompurify';
import { Marked } from 'marked';
import { highlight } from './highlight.ts';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

const marked = new Marked({
  gfm: true,
  renderer: {
    code({ text, lang }) {
      const language = (lang ?? '').split(/\s/)[0] ?? '';
      const highlighted = highlight(text, language);
      const languageClass = language ? ` language-${escapeHtml(language)}` : '';
      const label = language ? `<span class="code-language">${escapeHtml(language)}</span>` : '';
      return `<div class="code-block">${label}<pre><code class="hljs${languageClass}">${
        highlighted ?? escapeHtml(text)
      }</code></pre></div>`;
    },
    // An image URL chosen by the model could carry data out of the page the moment it loads
    // (prompt injection exfiltration): show images as links the user may choose to open.
    image({ href, text }) {
      return `<a href="${escapeHtml(href)}" class="image-link">${escapeHtml(text || href)}</a>`;
    },
  },
});

const safeLinkProtocols = /^(https?:|mailto:)/i;

DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A') {
    const href = node.getAttribute('href') ?? '';
    // DOMPurify already drops javascript: URLs; relative and other schemes have no meaning in a panel.
    if (!safeLinkProtocols.test(href.trim())) node.removeAttribute('href');
    node.setAttribute('target', '_blank');
    node.setAttribute('rel', 'noopener noreferrer');
  }
});

const sanitizeConfig = {
  // Forms and frames have no place in an answer; style could hide or spoof the panel's own UI;
  // images and media would load from URLs the model chose (see the image renderer above).
  FORBID_TAGS: [
    'style',
    'form',
    'input',
    'button',
    'textarea',
    'select',
    'iframe',
    'frame',
    'object',
    'embed',
    'img',
    'picture',
    'video',
    'audio',
    'source',
    'link',
    'meta',
    'base',
  ],
  FORBID_ATTR: ['style', 'srcset', 'action', 'formaction'],
  ALLOW_DATA_ATTR: false,
};

/** Sanitized HTML of a markdown block, safe to assign to innerHTML. */
export function renderMarkdown(markdown: string): string {
  const html = marked.parse(markdown, { async: false });
  return DOMPurify.sanitize(html, sanitizeConfig);
}
