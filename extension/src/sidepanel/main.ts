// Side panel entry: localize, load settings and storage, then hand over to the controller.
import { socketOpener } from '@chrome-plus/client';
import { fetchPageFile, readCurrentPage, requestPageAccess } from '../page/current-page.ts';
import { readVideoTranscript, seekVideo } from '../page/video-transcript.ts';
import { linkTimestamps } from '../render/timestamp-links.ts';
import { localizePage, t } from '../shared/i18n.ts';
import {
  onPendingSelection,
  pageTranslationHandoff,
  takePendingSelection,
} from '../shared/selection-handoff.ts';
import { loadSettings, onSettingsChanged, saveSettings } from '../shared/settings.ts';
import { ConversationStore } from '../store/conversation-store.ts';
import { PageTranslation } from '../translate/page-translation.ts';
import { TranslateBar } from '../translate/translate-bar.ts';
import { TranslationCache } from '../translate/translation-cache.ts';
import { PanelController } from './controller.ts';
import { downloadText } from './export-markdown.ts';
import { uploadFile } from './upload.ts';
import { PanelView } from './view.ts';

async function main(): Promise<void> {
  localizePage();
  const [settings, store, window] = await Promise.all([
    loadSettings(),
    ConversationStore.open(),
    chrome.windows.getCurrent().catch(() => undefined),
  ]);
  let controller: PanelController | undefined;
  let translateBar: TranslateBar | undefined;
  const view = new PanelView({
    onSend: (draft) => void controller?.conversation.send(draft),
    onStop: () => controller?.conversation.stop(),
    onRegenerate: (messageId) => void controller?.conversation.regenerate(messageId),
    onNewChat: () => controller?.conversation.newChat(),
    onOpenSettings: () => void chrome.runtime.openOptionsPage(),
    onReconnectNow: () => controller?.reconnectNow(),
    onEditLast: () => controller?.conversation.editLast(),
    onSummarizePage: () => void controller?.context.summarizePage(),
    onAskAboutPage: () => void controller?.context.askAboutPage(),
    onPickModel: (modelId) => void controller?.pickModel(modelId),
    onPickAnswer: (messageId) => void controller?.conversation.pick(messageId),
    onStopAnswer: (requestId) => controller?.answers.stop(requestId),
    onSearch: (query) => void controller?.history.search(query),
    onOpen: (conversationId) => void controller?.conversation.open(conversationId),
    onRename: (conversationId, title) => void controller?.history.rename(conversationId, title),
    onExport: (conversationId) => void controller?.history.export(conversationId),
    onDelete: (conversationId) => void controller?.history.delete(conversationId),
    startUpload: (file, onProgress) => {
      if (!controller) throw new Error('the panel is not ready');
      return controller.startUpload(file, onProgress);
    },
  });
  // Page translation: its batches are chat requests on the panel's one socket, their events taken before the chat's.
  const translation = new PageTranslation({
    send: (frame) => controller?.client.send(frame),
    cancel: (id) => controller?.client.cancel(id),
    cache: new TranslationCache(),
    newId: () => crypto.randomUUID(),
    concurrency: () => controller?.client.connection.welcome?.limits.concurrentGenerations ?? 4,
  });
  controller = new PanelController({
    onRequestEvent: (event) => translation.handleEvent(event),
    store,
    view,
    settings,
    environment: {
      readPage: readCurrentPage,
      readVideo: readVideoTranscript,
      requestPageAccess,
      fetchPageFile,
      // The menu's *Translate* shows its translation beside the selection instead of starting a chat.
      takeSelection: async () => {
        const pending = await takePendingSelection(window?.id);
        if (pending?.action !== 'translate') return pending;
        void translation.translateSelection(pending.text, translateBar?.language ?? 'en', controller?.model, {
          pending: t('translateSelectionPending'),
          failed: t('translateSelectionFailed'),
          close: t('translateClose'),
        });
        return undefined;
      },
      upload: uploadFile,
      download: downloadText,
      saveSettings,
    },
    client: {
      openSocket: socketOpener(WebSocket),
      clientName: `chrome-plus-extension/${chrome.runtime.getManifest().version}`,
    },
    onStorageError: (error) => console.error('Chrome Plus: could not save the conversation', error),
  });
  onSettingsChanged((next) => controller?.applySettings(next));
  onPendingSelection(() => void controller?.context.takeSelection());
  // The browser knows before our backoff timer does when the network is back.
  globalThis.addEventListener('online', () => controller?.reconnectNow());
  const header = document.querySelector<HTMLElement>('.header');
  // Declared before the controller's first selection is taken (start), built once the header is known.
  translateBar = header
    ? new TranslateBar({ translation, model: () => controller?.model, header })
    : undefined;
  const takeTranslation = async () => {
    if (await pageTranslationHandoff.take(window?.id)) await translateBar?.translate();
  };
  pageTranslationHandoff.onPending(() => void takeTranslation());
  for (const button of document.querySelectorAll('[data-action="summarize-video"]'))
    button.addEventListener('click', () => void controller?.context.summarizeVideo());
  watchTimestamps(document.querySelector('[data-testid="messages"]'));
  await controller.start();
  view.focusComposer();
  await takeTranslation();
}

/**
 * Timestamps in answers ("[1:23]") become links that take the summarized video to that moment: each block is
 * linked once rendered, and a click seeks the video's tab instead of following the link.
 */
function watchTimestamps(messages: Element | null): void {
  if (messages === null) return;
  new MutationObserver((mutations) => {
    for (const mutation of mutations)
      for (const node of mutation.addedNodes)
        if (node instanceof Element && node.closest('.markdown')) linkTimestamps(node);
  }).observe(messages, { childList: true, subtree: true });
  messages.addEventListener('click', (event) => {
    const link = (event.target as Element | null)?.closest<HTMLAnchorElement>('a[data-seek]');
    if (!link) return;
    event.preventDefault();
    void seekVideo(Number(link.dataset.seek));
  });
}

void main();
