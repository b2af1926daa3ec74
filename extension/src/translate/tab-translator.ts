// The panel's calls into page-translator.ts on a tab, typed: its file injected, then one of its functions run there
// (page/run-in-tab.ts).
import type { PageBlock } from '@chrome-plus/client';
import { callInTab, injectFile } from '../page/run-in-tab.ts';
import type { CollectLimits } from './page-translator.ts';

/** What page-translator.ts leaves on the page. */
export interface Translator {
  collect(limits: CollectLimits): { blocks: PageBlock[]; truncated: boolean };
  insert(items: { index: number; text: string }[], language: string, hidden: boolean): number;
  setHidden(hidden: boolean): number;
  popup(text: string, pending: boolean, closeLabel: string): void;
}

export function injectTranslator(tabId: number): Promise<void> {
  return injectFile(tabId, 'page-translator.js');
}

/** Runs `method` of the injected translator in the tab; undefined when the tab has none (navigated meanwhile). */
export async function callTranslator<Method extends keyof Translator>(
  tabId: number,
  method: Method,
  ...args: Parameters<Translator[Method]>
): Promise<ReturnType<Translator[Method]> | undefined> {
  return (await callInTab(tabId, `__chromePlusTranslator.${method}`, args)) as
    | ReturnType<Translator[Method]>
    | undefined;
}
