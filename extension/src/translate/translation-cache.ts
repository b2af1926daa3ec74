// Translations already made, in IndexedDB, by source text, language and model: translating a page again (or a page
// sharing its paragraphs) shows them without a request. Bounded: past `maxEntries` the oldest go first.
import { openDatabase, requestResult, transactionDone } from '../store/idb.ts';

interface Entry {
  key: string;
  translation: string;
  at: number;
}

const storeName = 'translations';

async function keyOf(source: string, language: string, model: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(source));
  const hex = [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, '0')).join('');
  return `${language}\n${model}\n${hex}`;
}

export class TranslationCache {
  private readonly database: Promise<IDBDatabase>;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(
    options: { factory?: IDBFactory; name?: string; maxEntries?: number; now?: () => number } = {},
  ) {
    this.maxEntries = options.maxEntries ?? 20_000;
    this.now = options.now ?? Date.now;
    this.database = openDatabase(
      options.factory ?? indexedDB,
      options.name ?? 'chrome-plus-translations',
      1,
      (database) => {
        database.createObjectStore(storeName, { keyPath: 'key' }).createIndex('at', 'at');
      },
    );
  }

  /** The cached translation of each source, or undefined, in the order given. */
  async getMany(
    sources: readonly string[],
    language: string,
    model: string,
  ): Promise<(string | undefined)[]> {
    const keys = await Promise.all(sources.map((source) => keyOf(source, language, model)));
    const database = await this.database;
    const store = database.transaction(storeName, 'readonly').objectStore(storeName);
    const entries = await Promise.all(
      keys.map((key) => requestResult(store.get(key) as IDBRequest<Entry | undefined>)),
    );
    return entries.map((entry) => entry?.translation);
  }

  async putMany(
    items: readonly { source: string; translation: string }[],
    language: string,
    model: string,
  ): Promise<void> {
    if (items.length === 0) return;
    const keys = await Promise.all(items.map((item) => keyOf(item.source, language, model)));
    const database = await this.database;
    const transaction = database.transaction(storeName, 'readwrite');
    const store = transaction.objectStore(storeName);
    const at = this.now();
    for (const [position, item] of items.entries())
      store.put({ key: keys[position]!, translation: item.translation, at } satisfies Entry);
    const count = await requestResult(store.count());
    let excess = count - this.maxEntries;
    if (excess > 0) {
      const cursor = store.index('at').openCursor();
      cursor.onsuccess = () => {
        const current = cursor.result;
        if (current === null || excess <= 0) return;
        current.delete();
        excess -= 1;
        current.continue();
      };
    }
    await transactionDone(transaction);
  }
}
