// Untrusted model markdown to safe HTML: marked renders, DOMPurify sanitizes, links open safely.
import DOMPurify from 'dompurify';
import { Marked } from 'marked';
import { highlighterPending, highlightIfLoaded, loadHighlighter } from './highlighter.ts';

// highlight.js is a chunk of its own, requested as soon as the panel loads this module and never waited
// for: code rendered before it arrives is plain escaped text, rendered again once it is here (see
// `renderMarkdownBlock` and streaming-markdown.ts).
void loadHighlighter();

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

/** Set by the code renderer while one block renders: it had code that highlight.js was not there for. */
let codeAwaitsHighlighter = false;

const marked = new Marked({
  gfm: true,
  renderer: {
    code({ text, lang }) {
      const language = (lang ?? '').split(/\s/)[0] ?? '';
      const highlighted = highlightIfLoaded(text, language);
      if (language && highlighterPending()) codeAwaitsHighlighter = true;
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
  } else {
    // Only a link may carry a URL, and only one the user chooses to open (see allowedAttributes).
    node.removeAttribute('href');
  }
});

/**
 * What an answer may contain, as an allowlist: model output is attacker-controlled (a page's hidden text
 * goes into the prompt), and any element or attribute that fetches a URL on sight (img, srcset, poster,
 * <table background>, <svg><image href>, <feImage>, <link>, style's url() and @import, <object>, <base>,
 * <meta refresh>, frames...) would carry page or conversation data to a server of the attacker's choosing
 * with no click. So: the elements marked and highlight.js produce and a few harmless inline ones; no SVG,
 * no MathML, no forms, no media, no style; and among attributes only `href`, on links alone.
 */
const allowedTags = [
  'p',
  'br',
  'hr',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'blockquote',
  'ul',
  'ol',
  'li',
  'dl',
  'dt',
  'dd',
  'pre',
  'code',
  'div',
  'span',
  'a',
  'em',
  'strong',
  'b',
  'i',
  'u',
  's',
  'del',
  'ins',
  'mark',
  'small',
  'sub',
  'sup',
  'kbd',
  'samp',
  'var',
  'abbr',
  'q',
  'cite',
  'time',
  'details',
  'summary',
  'figure',
  'figcaption',
  'ruby',
  'rt',
  'rp',
  'wbr',
  'table',
  'caption',
  'thead',
  'tbody',
  'tfoot',
  'tr',
  'th',
  'td',
  'col',
  'colgroup',
];

// None of these is a URL: `cite`, `longdesc`, `background`, `poster`, `srcset`, `src`, `xlink:href`, `action`,
// `formaction`, `ping`, `usemap`, `data` and `style` are left out on purpose.
const allowedAttributes = [
  'href',
  'class',
  'title',
  'align',
  'colspan',
  'rowspan',
  'scope',
  'start',
  'reversed',
  'open',
  'dir',
  'lang',
  'datetime',
];

const sanitizeConfig = {
  ALLOWED_TAGS: allowedTags,
  ALLOWED_ATTR: allowedAttributes,
  // Whatever DOMPurify treats as a URL must be a web or mail link (the hook above narrows it to <a href>).
  ALLOWED_URI_REGEXP: /^(?:https?:|mailto:)/i,
  ALLOW_DATA_ATTR: false,
  ALLOW_ARIA_ATTR: false,
};

export interface RenderedMarkdown {
  /** Sanitized HTML, safe to assign to innerHTML. */
  html: string;
  /** It has code in a named language shown plain because highlight.js had not loaded: render it again then. */
  awaitsHighlighter: boolean;
}

/** Sanitized HTML of a markdown block, and whether it should be rendered again once highlight.js loads. */
export function renderMarkdownBlock(markdown: string): RenderedMarkdown {
  codeAwaitsHighlighter = false;
  const html = DOMPurify.sanitize(marked.parse(markdown, { async: false }), sanitizeConfig);
  return { html, awaitsHighlighter: codeAwaitsHighlighter };
}

/** Sanitized HTML of a markdown block, safe to assign to innerHTML. */
export function renderMarkdown(markdown: string): string {
  return renderMarkdownBlock(markdown).html;
}

/** Resolves once highlight.js has loaded (true) or failed to (false). */
export function whenHighlighterLoads(): Promise<boolean> {
  return loadHighlighter();
}
