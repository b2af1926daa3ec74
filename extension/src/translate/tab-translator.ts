// The panel's calls into page-translator.ts on a tab: the script injected (a no-op when it is there already), then
// one of its functions run there with arguments that cross as JSON.
import type { PageBlock } from '@chrome-plus/client';
import type { CollectLimits } from './page-translator.ts';

/** What page-translator.ts leaves on the page. */
export interface Translator {
  collect(limits: CollectLimits): { blocks: PageBlock[]; truncated: boolean };
  insert(items: { index: number; text: string }[], language: string, hidden: boolean): number;
  setHidden(hidden: boolean): number;
  popup(text: string, pending: boolean, closeLabel: string): void;
}

export async function injectTranslator(tabId: number): Promise<void> {
  await chrome.scripting.executeScript({ target: { tabId }, files: ['page-translator.js'] });
}

/** Runs `method` of the injected translator in the tab; undefined when the tab has none (navigated meanwhile). */
export async function callTranslator<Method extends keyof Translator>(
  tabId: number,
  method: Method,
  ...args: Parameters<Translator[Method]>
): Promise<ReturnType<Translator[Method]> | undefined> {
  const [result] = await chrome.scripting.executeScript({
    target: { tabId },
    func: (name: string, given: unknown[]) => {
      const translator = (
        globalThis as { __chromePlusTranslator?: Record<string, (...values: unknown[]) => unknown> }
      ).__chromePlusTranslator;
      return translator?.[name]?.(...given);
    },
    args: [method, args],
  });
  return result?.result as ReturnType<Translator[Method]> | undefined;
}
