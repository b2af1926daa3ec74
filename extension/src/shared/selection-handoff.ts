// What the service worker hands to a window's side panel through chrome.storage.session: the selected text of a
// context-menu click, and a request to translate the page (the page's menu, the shortcut). The panel of that window
// takes each once, while it is fresh.

export type SelectionAction = 'explain' | 'summarize' | 'translate' | 'ask';

export const selectionActions: readonly SelectionAction[] = ['explain', 'summarize', 'translate', 'ask'];

interface Handed {
  /** The window whose panel should take it; a panel of another window leaves it alone. */
  windowId?: number;
  at: number;
}

export interface PendingSelection extends Handed {
  id: string;
  action: SelectionAction;
  text: string;
  title: string;
  url: string;
}

export type PendingPageTranslation = Handed;

/** Something handed over longer ago than this was meant for a panel that never came: dropped, not acted on. */
const freshForMs = 60_000;

function handoff<T extends Handed>(storageKey: string) {
  return {
    async put(pending: T, storage: chrome.storage.StorageArea = chrome.storage.session): Promise<void> {
      await storage.set({ [storageKey]: pending });
    },
    /** Takes (and removes) what waits for this window, if it is fresh. */
    async take(
      windowId: number | undefined,
      now = Date.now(),
      storage: chrome.storage.StorageArea = chrome.storage.session,
    ): Promise<T | undefined> {
      const pending = (await storage.get(storageKey))[storageKey] as T | undefined;
      if (!pending) return undefined;
      if (pending.windowId !== undefined && windowId !== undefined && pending.windowId !== windowId)
        return undefined;
      await storage.remove(storageKey);
      return now - pending.at <= freshForMs ? pending : undefined;
    },
    /** Calls `listener` whenever something new is handed over. */
    onPending(listener: () => void): void {
      chrome.storage.onChanged.addListener((changes, area) => {
        if (area === 'session' && changes[storageKey]?.newValue) listener();
      });
    },
  };
}

const selections = handoff<PendingSelection>('pendingSelection');
export const putPendingSelection = selections.put;
export const takePendingSelection = selections.take;
export const onPendingSelection = selections.onPending;

/** "Translate this page", for the panel of the window it was asked in. */
export const pageTranslationHandoff = handoff<PendingPageTranslation>('pendingPageTranslation');
