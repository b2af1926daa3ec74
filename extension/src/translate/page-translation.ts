// Translates the current tab from the panel: collects its blocks (page-translator.ts, injected), sends each batch as
// a chat request of its own, so that the workers translate them in parallel, and shows each batch's translations on
// the page as soon as its answer ends, the visible part first. A batch answered before (same text, language and
// model) comes from the cache without a request.

import {
  batchMessage,
  defaultBatchLimits,
  type PageBlock,
  parseTranslations,
  planBatches,
  type RequestEvent,
  translationSystemPrompt,
} from '@chrome-plus/client';
import type { ChatSendFrame } from '@chrome-plus/protocol';
import { targetTab } from '../page/current-page.ts';
import type { CollectLimits } from './page-translator.ts';
import { callTranslator, injectTranslator } from './tab-translator.ts';
import type { TranslationCache } from './translation-cache.ts';

/** What a translation reports as it goes; `done` and `total` count blocks. */
export interface TranslationProgress {
  done: number;
  total: number;
  failed: number;
  /** The page had more blocks than `maxBlocks`: the rest is left untranslated. */
  truncated: boolean;
  finished: boolean;
}

export interface PageTranslationOptions {
  send: (frame: ChatSendFrame) => void;
  cancel: (id: string) => void;
  cache: TranslationCache;
  newId: () => string;
  /** Batches in flight at once: the server's per-user concurrent generations (its welcome says how many). */
  concurrency: () => number;
  collectLimits?: CollectLimits;
}

export type TranslateResult =
  | { ok: true; progress: TranslationProgress }
  | { ok: false; problem: 'no-tab' | 'unreadable' | 'empty' };

/** A request's end: the answer's text, or none (with how long to wait first when the server said to retry). */
interface Ending {
  answer?: string;
  retryAfterMs?: number;
}

interface InFlight {
  text: string;
  settle: (ending: Ending) => void;
}

const defaultCollectLimits: CollectLimits = { maxBlocks: 2_000, maxBlockChars: 4_000 };

export class PageTranslation {
  private readonly options: PageTranslationOptions;
  private readonly requests = new Map<string, InFlight>();
  private running: { tabId: number; stopped: boolean } | undefined;
  hidden = false;

  constructor(options: PageTranslationOptions) {
    this.options = options;
  }

  /** Takes the events of translation requests (true), leaving every other request's to the chat. */
  handleEvent(event: RequestEvent): boolean {
    const request = this.requests.get(event.id);
    if (request === undefined) return false;
    if (event.type === 'chat.delta') request.text += event.text ?? '';
    else if (event.type === 'chat.restart') request.text = '';
    else if (event.type === 'chat.done') request.settle({ answer: request.text });
    else if (event.type === 'chat.error')
      request.settle(event.retryable ? { retryAfterMs: event.retryAfterMs ?? 1_000 } : {});
    else if (event.type === 'chat.cancelled') request.settle({});
    return true;
  }

  /** Translates the panel's tab into `language` with `model`; `onProgress` hears each batch land. */
  async translate(
    language: string,
    model: string | undefined,
    onProgress: (progress: TranslationProgress) => void,
  ): Promise<TranslateResult> {
    const tab = await targetTab();
    if (tab?.id === undefined) return { ok: false, problem: 'no-tab' };
    let collected: { blocks: PageBlock[]; truncated: boolean } | undefined;
    try {
      await injectTranslator(tab.id);
      collected = await callTranslator(tab.id, 'collect', this.options.collectLimits ?? defaultCollectLimits);
    } catch {
      return { ok: false, problem: 'unreadable' };
    }
    if (!collected || collected.blocks.length === 0) return { ok: false, problem: 'empty' };
    this.stop();
    const run = { tabId: tab.id, stopped: false };
    this.running = run;
    this.hidden = false;
    const progress: TranslationProgress = {
      done: 0,
      total: collected.blocks.length,
      failed: 0,
      truncated: collected.truncated,
      finished: false,
    };
    onProgress({ ...progress });
    const show = async (items: { index: number; text: string }[]) => {
      if (items.length === 0 || run.stopped) return;
      await callTranslator(run.tabId, 'insert', items, language, this.hidden).catch(() => undefined);
    };
    const queue = planBatches(collected.blocks, defaultBatchLimits);
    const worker = async () => {
      for (let batch = queue.shift(); batch !== undefined && !run.stopped; batch = queue.shift()) {
        const items = await this.translateBatch(batch, language, model);
        await show(items);
        progress.done += items.length;
        progress.failed += batch.length - items.length;
        onProgress({ ...progress });
      }
    };
    const lanes = Math.max(1, Math.min(this.options.concurrency(), queue.length));
    await Promise.all(Array.from({ length: lanes }, worker));
    progress.finished = true;
    onProgress({ ...progress });
    return { ok: true, progress };
  }

  /**
   * Translates a selection alone and shows it in a popup beside it on the panel's tab (the context menu's
   * *Translate*): one block, through the cache and the same request as a page's batch.
   */
  async translateSelection(
    text: string,
    language: string,
    model: string | undefined,
    labels: { pending: string; failed: string; close: string },
  ): Promise<void> {
    const tab = await targetTab();
    if (tab?.id === undefined) return;
    const tabId = tab.id;
    const show = (shown: string, pending: boolean) =>
      callTranslator(tabId, 'popup', shown, pending, labels.close).catch(() => undefined);
    try {
      await injectTranslator(tabId);
    } catch {
      return;
    }
    await show(labels.pending, true);
    const block: PageBlock = {
      index: 0,
      text: text.replace(/\s+/g, ' ').trim().slice(0, 4_000),
      visible: true,
    };
    const [translated] = await this.translateBatch([block], language, model);
    await show(translated?.text ?? labels.failed, false);
  }

  /** Stops the translation under way: its requests are cancelled, what has landed stays on the page. */
  stop(): void {
    if (this.running !== undefined) this.running.stopped = true;
    for (const [id, request] of this.requests) {
      this.options.cancel(id);
      request.settle({});
    }
  }

  /** Shows or hides the translations on the tab they were made on. */
  async setHidden(hidden: boolean): Promise<void> {
    this.hidden = hidden;
    if (this.running === undefined) return;
    await callTranslator(this.running.tabId, 'setHidden', hidden).catch(() => undefined);
  }

  /** One batch: from the cache, else one request (retried once for the blocks its answer left out). */
  private async translateBatch(
    batch: PageBlock[],
    language: string,
    model: string | undefined,
  ): Promise<{ index: number; text: string }[]> {
    const { cache } = this.options;
    const found = await cache.getMany(
      batch.map((block) => block.text),
      language,
      model ?? '',
    );
    const items: { index: number; text: string }[] = [];
    let todo: PageBlock[] = [];
    for (const [position, block] of batch.entries()) {
      const cached = found[position];
      if (cached !== undefined) items.push({ index: block.index, text: cached });
      else todo.push(block);
    }
    // Two answers at most for a batch's blocks; a refusal to retry later (rate limits) waits as told, 4 times.
    for (let answers = 0, waits = 0; answers < 2 && waits <= 4 && todo.length > 0; ) {
      const { answer, retryAfterMs } = await this.request(todo, language, model);
      if (answer === undefined) {
        if (retryAfterMs === undefined) answers += 1;
        else {
          waits += 1;
          await new Promise((resolve) => setTimeout(resolve, Math.min(retryAfterMs, 30_000)));
        }
        continue;
      }
      answers += 1;
      const { translations, missing } = parseTranslations(answer, todo);
      const fresh = todo
        .filter((block) => translations.has(block.index))
        .map((block) => ({ block, text: translations.get(block.index)! }));
      items.push(...fresh.map(({ block, text }) => ({ index: block.index, text })));
      await cache
        .putMany(
          fresh.map(({ block, text }) => ({ source: block.text, translation: text })),
          language,
          model ?? '',
        )
        .catch(() => undefined);
      todo = todo.filter((block) => missing.includes(block.index));
    }
    return items.sort((left, right) => left.index - right.index);
  }

  private request(batch: PageBlock[], language: string, model: string | undefined): Promise<Ending> {
    const id = this.options.newId();
    return new Promise((resolve) => {
      this.requests.set(id, {
        text: '',
        settle: (ending) => {
          this.requests.delete(id);
          resolve(ending);
        },
      });
      this.options.send({
        type: 'chat.send',
        id,
        ...(model !== undefined && { model }),
        messages: [
          { role: 'system', content: translationSystemPrompt(language) },
          { role: 'user', content: batchMessage(batch) },
        ],
      });
    });
  }
}
