// Injected into the current tab (chrome.scripting): reads the page's main text with Mozilla's Readability.
import { Readability } from '@mozilla/readability';
import { articleText } from './article-text.ts';

export interface PageReading {
  title: string;
  url: string;
  /** `document.contentType`: a PDF shows in Chrome's viewer, whose text is out of a script's reach. */
  contentType: string;
  text: string;
}

/** Below this, Readability found no article: the page's own text (minus its chrome) is used instead. */
const minimumArticleCharacters = 200;

/** The page's text without what frames it: navigation, headers, footers, sidebars, scripts. */
function bodyText(): string {
  const body = document.body?.cloneNode(true) as HTMLElement | undefined;
  if (!body) return '';
  for (const element of body.querySelectorAll(
    'nav, header, footer, aside, script, style, noscript, template, [role="navigation"], [role="banner"], [role="contentinfo"], [aria-hidden="true"], [hidden]',
  )) {
    element.remove();
  }
  return articleText(body);
}

function readPage(): PageReading {
  const base = { title: document.title, url: location.href, contentType: document.contentType };
  if (document.contentType === 'application/pdf') return { ...base, text: '' };
  // Readability changes the document it is given: hand it a copy, never the page itself.
  const copy = document.cloneNode(true) as Document;
  let article: ReturnType<Readability<Node>['parse']> = null;
  try {
    article = new Readability<Node>(copy, { serializer: (node) => node }).parse();
  } catch {
    article = null;
  }
  const text = article?.content ? articleText(article.content) : '';
  if (text.length >= minimumArticleCharacters) {
    return { ...base, title: article?.title?.trim() || base.title, text };
  }
  const fallback = bodyText();
  return { ...base, text: fallback.length > text.length ? fallback : text };
}

(globalThis as { __chromePlusReadPage?: () => PageReading }).__chromePlusReadPage = readPage;
