// The selected text a context-menu click hands to the side panel, through chrome.storage.session.

export type SelectionAction = 'explain' | 'summarize' | 'translate' | 'ask';

export const selectionActions: readonly SelectionAction[] = ['explain', 'summarize', 'translate', 'ask'];

export interface PendingSelection {
  id: string;
  action: SelectionAction;
  text: string;
  title: string;
  url: string;
  /** The window whose panel should take it; a panel of another window leaves it alone. */
  windowId?: number;
  at: number;
}

const storageKey = 'pendingSelection';

/** A selection older than this was meant for a panel that never came: it is dropped, not acted on. */
const freshForMs = 60_000;

export async function putPendingSelection(
  pending: PendingSelection,
  storage: chrome.storage.StorageArea = chrome.storage.session,
): Promise<void> {
  await storage.set({ [storageKey]: pending });
}

/** Takes (and removes) the pending selection meant for this window, if a fresh one waits. */
export async function takePendingSelection(
  windowId: number | undefined,
  now = Date.now(),
  storage: chrome.storage.StorageArea = chrome.storage.session,
): Promise<PendingSelection | undefined> {
  const pending = (await storage.get(storageKey))[storageKey] as PendingSelection | undefined;
  if (!pending) return undefined;
  if (pending.windowId !== undefined && windowId !== undefined && pending.windowId !== windowId)
    return undefined;
  await storage.remove(storageKey);
  return now - pending.at <= freshForMs ? pending : undefined;
}

/** Calls `listener` whenever a new selection is handed over. */
export function onPendingSelection(listener: () => void): void {
  chrome.storage.onChanged.addListener((changes, area) => {
    if (area === 'session' && changes[storageKey]?.newValue) listener();
  });
}
