// "Translate this page" from the context menu or the keyboard shortcut: the service worker opens the panel and
// leaves the request in chrome.storage.session, where the panel of that window takes it.

export interface PendingPageTranslation {
  windowId?: number;
  at: number;
}

const storageKey = 'pendingPageTranslation';

/** A request older than this was meant for a panel that never came: dropped, not acted on. */
const freshForMs = 60_000;

export async function putPendingTranslation(
  pending: PendingPageTranslation,
  storage: chrome.storage.StorageArea = chrome.storage.session,
): Promise<void> {
  await storage.set({ [storageKey]: pending });
}

/** Takes (and removes) the request meant for this window, if a fresh one waits. */
export async function takePendingTranslation(
  windowId: number | undefined,
  now = Date.now(),
  storage: chrome.storage.StorageArea = chrome.storage.session,
): Promise<boolean> {
  const pending = (await storage.get(storageKey))[storageKey] as PendingPageTranslation | undefined;
  if (!pending) return false;
  if (pending.windowId !== undefined && windowId !== undefined && pending.windowId !== windowId) return false;
  await storage.remove(storageKey);
  return now - pending.at <= freshForMs;
}

/** Calls `listener` whenever a new request is handed over. */
export function onPendingTranslation(listener: () => void): void {
  chrome.storage.onChanged.addListener((changes, area) => {
    if (area === 'session' && changes[storageKey]?.newValue) listener();
  });
}
