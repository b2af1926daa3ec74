// Service worker: the toolbar icon (and its shortcut, `_execute_action`) opens the side panel.

function openPanelOnActionClick(): void {
  chrome.sidePanel
    .setPanelBehavior({ openPanelOnActionClick: true })
    .catch((error: unknown) => console.error('Chrome Plus: cannot set the side panel behaviour', error));
}

// Set on every service worker start: cheap, and it survives a browser that lost the setting.
openPanelOnActionClick();
chrome.runtime.onInstalled.addListener(openPanelOnActionClick);
