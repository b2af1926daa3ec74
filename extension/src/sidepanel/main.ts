// Side panel entry: localize, load settings and storage, then hand over to the controller.
import { openBrowserSocket } from '../client/socket.ts';
import { localizePage } from '../shared/i18n.ts';
import { loadSettings, onSettingsChanged } from '../shared/settings.ts';
import { ConversationStore } from '../store/conversation-store.ts';
import { PanelController } from './controller.ts';
import { PanelView } from './view.ts';

async function main(): Promise<void> {
  localizePage();
  const [settings, store] = await Promise.all([loadSettings(), ConversationStore.open()]);
  let controller: PanelController | undefined;
  const view = new PanelView({
    onSend: (text) => void controller?.send(text),
    onStop: () => controller?.stop(),
    onRegenerate: (messageId) => void controller?.regenerate(messageId),
    onNewChat: () => controller?.newChat(),
    onOpenSettings: () => void chrome.runtime.openOptionsPage(),
    onReconnectNow: () => controller?.reconnectNow(),
  });
  controller = new PanelController({
    store,
    view,
    settings,
    client: {
      openSocket: openBrowserSocket,
      clientName: `chrome-plus-extension/${chrome.runtime.getManifest().version}`,
    },
    onStorageError: (error) => console.error('Chrome Plus: could not save the conversation', error),
  });
  onSettingsChanged((next) => controller?.applySettings(next));
  // The browser knows before our backoff timer does when the network is back.
  window.addEventListener('online', () => controller?.reconnectNow());
  await controller.start();
  view.focusComposer();
}

void main();
