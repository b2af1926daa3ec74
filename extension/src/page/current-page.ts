// Reads the current tab's main text for the panel: which tab, whether it may be read, and the text cut to a budget.
import type { PageContext } from '../store/types.ts';
import { cutToBudget, type PageProblem, problemOfScriptError, problemOfUrl } from './page-access.ts';
import type { PageReading } from './read-page.ts';
import { runInTab } from './run-in-tab.ts';

export type PageResult =
  | { ok: true; context: PageContext }
  | { ok: false; problem: PageProblem; title?: string; url?: string };

/** Every site, asked for once (optional in the manifest): until then, activeTab covers the tab the user acted on. */
export const allSitesPermission: chrome.permissions.Permissions = { origins: ['<all_urls>'] };

/**
 * The tab the panel is about: the active tab of the panel's window. When the panel page is open in a
 * tab of its own, that is the panel itself; then the page meant is the tab used last before it.
 */
export async function targetTab(): Promise<chrome.tabs.Tab | undefined> {
  const own = await chrome.tabs.getCurrent();
  const [active] = await chrome.tabs.query({ active: true, currentWindow: true });
  if (active && active.id !== own?.id) return active;
  const ownPages = chrome.runtime.getURL('');
  const others = (await chrome.tabs.query({})).filter(
    (tab) => tab.id !== own?.id && !(tab.url ?? '').startsWith(ownPages),
  );
  others.sort((left, right) => (right.lastAccessed ?? 0) - (left.lastAccessed ?? 0));
  return others[0];
}

export async function readCurrentPage(budget: number): Promise<PageResult> {
  const tab = await targetTab();
  if (tab?.id === undefined) return { ok: false, problem: 'no-tab' };
  const about = { title: tab.title, url: tab.url ?? tab.pendingUrl };
  const known = problemOfUrl(about.url);
  // A .pdf URL may still be an HTML page: only schemes and the Web Store are refused without trying.
  if (known && known !== 'pdf') return { ok: false, problem: known, ...about };
  let reading: PageReading | undefined;
  try {
    reading = (await runInTab(tab.id, 'page-reader.js', '__chromePlusReadPage')) as PageReading | undefined;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // Chrome's PDF viewer may refuse the script outright: the address still says what it is.
    return { ok: false, problem: known ?? problemOfScriptError(message), ...about };
  }
  if (!reading) return { ok: false, problem: 'failed', ...about };
  const page = { title: reading.title || about.title, url: reading.url };
  if (reading.contentType === 'application/pdf') return { ok: false, problem: 'pdf', ...page };
  const text = reading.text.trim();
  if (!text) return { ok: false, problem: 'empty', ...page };
  return {
    ok: true,
    context: {
      kind: 'page',
      title: page.title ?? page.url,
      url: page.url,
      text: cutToBudget(text, budget),
      totalCharacters: text.length,
    },
  };
}

/** Asks for access to every site (a user gesture must be on the stack); true when granted. */
export async function requestPageAccess(): Promise<boolean> {
  try {
    return await chrome.permissions.request(allSitesPermission);
  } catch {
    return false;
  }
}

/**
 * The file a tab shows (a PDF in Chrome's viewer), fetched so it can be attached and read by the
 * workers. The extension may fetch it where it may read the tab (activeTab or the site permission).
 */
export async function fetchPageFile(url: string): Promise<File | undefined> {
  try {
    const response = await fetch(url, { credentials: 'include' });
    if (!response.ok) return undefined;
    const blob = await response.blob();
    const base = decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '') || 'page.pdf';
    const name = /\.pdf$/i.test(base) ? base : `${base}.pdf`;
    return new File([blob], name, { type: blob.type || 'application/pdf' });
  } catch {
    return undefined;
  }
}
