// Service worker: the toolbar icon (and its shortcut) opens the side panel; the context menu sends a selection to it;
// "Translate this page" (the page's context menu, or its shortcut) opens the panel and asks it to translate.
import { t } from './shared/i18n.ts';
import {
  pageTranslationHandoff,
  putPendingSelection,
  type SelectionAction,
  selectionActions,
} from './shared/selection-handoff.ts';

const menuParentId = 'chrome-plus';
const translatePageId = 'translate-page';

const menuTitles = {
  explain: 'menuExplain',
  summarize: 'menuSummarize',
  translate: 'menuTranslate',
  ask: 'menuAsk',
} as const;

/**
 * The icon's click is handled here rather than by `openPanelOnActionClick`: only a click the extension
 * receives counts as invoking it on the page, which grants activeTab, so the panel can read that page
 * without any host permission.
 */
function handleActionClicksOurselves(): void {
  chrome.sidePanel
    .setPanelBehavior({ openPanelOnActionClick: false })
    .catch((error: unknown) => console.error('Chrome Plus: cannot set the side panel behaviour', error));
}

function openPanel(tab: chrome.tabs.Tab): void {
  // Called at once: Chrome allows sidePanel.open only while the click's user gesture lasts.
  chrome.sidePanel
    .open({ windowId: tab.windowId })
    .catch((error: unknown) => console.error('Chrome Plus: cannot open the side panel', error));
}

/** (Re)creates the selection menu; titles are in the browser's language at the time. */
function createMenus(): void {
  chrome.contextMenus.removeAll(() => {
    chrome.contextMenus.create({ id: translatePageId, title: t('menuTranslatePage'), contexts: ['page'] });
    chrome.contextMenus.create({ id: menuParentId, title: t('menuParent'), contexts: ['selection'] });
    for (const action of selectionActions) {
      chrome.contextMenus.create({
        id: action,
        parentId: menuParentId,
        title: t(menuTitles[action]),
        contexts: ['selection'],
      });
    }
  });
}

function isSelectionAction(value: unknown): value is SelectionAction {
  return selectionActions.includes(value as SelectionAction);
}

/**
 * A click on a selection entry: opens the panel, then hands it the selection. The panel must be
 * opened before anything is awaited: Chrome allows `sidePanel.open` only while the click's user
 * gesture lasts.
 */
async function handleContextMenuClick(
  info: Pick<chrome.contextMenus.OnClickData, 'menuItemId' | 'selectionText' | 'pageUrl'>,
  tab?: Pick<chrome.tabs.Tab, 'windowId' | 'title' | 'url'>,
): Promise<void> {
  if (info.menuItemId === translatePageId) return translatePage(tab);
  if (!isSelectionAction(info.menuItemId) || !info.selectionText?.trim()) return;
  const opening =
    tab?.windowId !== undefined && tab.windowId >= 0
      ? chrome.sidePanel.open({ windowId: tab.windowId }).catch((error: unknown) => {
          // Without a gesture (or with the panel already open elsewhere) the handoff still reaches an open panel.
          console.warn('Chrome Plus: could not open the side panel', error);
        })
      : Promise.resolve();
  await putPendingSelection({
    id: crypto.randomUUID(),
    action: info.menuItemId,
    text: info.selectionText.trim(),
    title: tab?.title ?? '',
    url: tab?.url ?? info.pageUrl ?? '',
    windowId: tab?.windowId,
    at: Date.now(),
  });
  await opening;
}

/** Opens the panel (at once: the menu click's or the shortcut's gesture does not last) and asks it to translate. */
async function translatePage(tab?: Pick<chrome.tabs.Tab, 'windowId'>): Promise<void> {
  const windowId = tab?.windowId !== undefined && tab.windowId >= 0 ? tab.windowId : undefined;
  const opening =
    windowId === undefined
      ? Promise.resolve()
      : chrome.sidePanel.open({ windowId }).catch((error: unknown) => {
          console.warn('Chrome Plus: could not open the side panel', error);
        });
  await pageTranslationHandoff.put({ ...(windowId !== undefined && { windowId }), at: Date.now() });
  await opening;
}

// Set on every service worker start: cheap, and it undoes the behaviour an older version stored.
handleActionClicksOurselves();
chrome.action.onClicked.addListener(openPanel);
chrome.runtime.onInstalled.addListener(createMenus);
chrome.contextMenus.onClicked.addListener((info, tab) => void handleContextMenuClick(info, tab));
chrome.commands.onCommand.addListener((command, tab) => {
  if (command === translatePageId) void translatePage(tab);
});

// Tests drive the context menu's path through the worker (`serviceWorker.evaluate`): a menu cannot be clicked there.
(globalThis as { chromePlusBackground?: unknown }).chromePlusBackground = {
  handleContextMenuClick,
  translatePage,
};
