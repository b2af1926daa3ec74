// Which pages an extension may read, and a text cut to a budget: pure rules, shared by the panel and its tests.

/** Why the current page gave no text. Each one has its own message in the panel. */
export type PageProblem =
  /** chrome://, the extensions' own pages, about:, devtools: closed to every extension. */
  | 'restricted'
  /** The Chrome Web Store: Chrome lets no extension script it. */
  | 'webstore'
  /** A local file: needs "Allow access to file URLs" on the extension's details page. */
  | 'file'
  /** A PDF in Chrome's viewer: its text is out of a script's reach. */
  | 'pdf'
  /** Chrome Plus was not given access to this site. */
  | 'permission'
  /** The page has no text (an image, an empty page, a canvas app). */
  | 'empty'
  /** No tab to read. */
  | 'no-tab'
  | 'failed';

const restrictedSchemes =
  /^(chrome|chrome-extension|chrome-search|chrome-untrusted|devtools|edge|about|view-source|brave|opera|vivaldi|javascript|data|blob):/i;

/** The problem a URL has before any try, when the URL alone tells (undefined: try it). */
export function problemOfUrl(url: string | undefined): PageProblem | undefined {
  if (!url) return undefined;
  if (restrictedSchemes.test(url)) return 'restricted';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'failed';
  }
  if (
    parsed.hostname === 'chromewebstore.google.com' ||
    (parsed.hostname === 'chrome.google.com' && parsed.pathname.startsWith('/webstore'))
  ) {
    return 'webstore';
  }
  if (/\.pdf$/i.test(parsed.pathname)) return 'pdf';
  return undefined;
}

/** The problem behind an error of chrome.scripting.executeScript. */
export function problemOfScriptError(message: string): PageProblem {
  if (/gallery cannot be scripted/i.test(message)) return 'webstore';
  if (/file:\/\//i.test(message)) return 'file';
  if (/(chrome|chrome-extension|edge|devtools|about):/i.test(message)) return 'restricted';
  if (/permission|cannot access/i.test(message)) return 'permission';
  return 'failed';
}

/**
 * The text cut to at most `budget` characters, at a paragraph or sentence end when one is near the
 * budget (the model reads a clean end better than a word cut in two).
 */
export function cutToBudget(text: string, budget: number): string {
  if (text.length <= budget) return text;
  const head = text.slice(0, budget);
  const floor = Math.floor(budget * 0.8);
  const paragraph = head.lastIndexOf('\n\n');
  if (paragraph >= floor) return head.slice(0, paragraph).trimEnd();
  const sentence = Math.max(head.lastIndexOf('. '), head.lastIndexOf('。'), head.lastIndexOf('\n'));
  if (sentence >= floor) return head.slice(0, sentence + 1).trimEnd();
  return head.trimEnd();
}
