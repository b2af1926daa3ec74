// What a message is about: the current page (read, or why it cannot be; a PDF attached instead) and a selection from the context menu.
import type { PageResult } from '../page/current-page.ts';
import type { VideoResult } from '../page/video-transcript.ts';
import { type MessageKey, t } from '../shared/i18n.ts';
import type { SelectionAction } from '../shared/selection-handoff.ts';
import type { Settings } from '../shared/settings.ts';
import type { MessageContext, PageContext } from '../store/types.ts';
import type { Composer } from './composer.ts';
import type { ConversationSession } from './conversation-session.ts';
import type { PanelEnvironment } from './environment.ts';
import type { HistoryView } from './history-view.ts';
import type { Notice } from './notice-bar.ts';

const selectionPrompts: Record<Exclude<SelectionAction, 'ask'>, MessageKey> = {
  explain: 'promptExplainSelection',
  summarize: 'promptSummarizeSelection',
  translate: 'promptTranslateSelection',
};

const videoProblemText: Record<Exclude<VideoResult, { ok: true }>['problem'], MessageKey> = {
  'no-tab': 'pageNoTab',
  'no-video': 'videoNotVideo',
  'no-captions': 'videoNoCaptions',
  failed: 'pageFailed',
};

const pageProblemText: Record<Exclude<PageResult, { ok: true }>['problem'], MessageKey> = {
  restricted: 'pageRestricted',
  webstore: 'pageWebStore',
  file: 'pageFile',
  pdf: 'pagePdf',
  permission: 'pageNoPermission',
  empty: 'pageEmpty',
  'no-tab': 'pageNoTab',
  failed: 'pageFailed',
};

export interface ContextView {
  showNotice(notice: Notice): void;
  hideNotice(): void;
  setComposerContext(context: MessageContext): void;
  readonly composer: Pick<Composer, 'text' | 'addFiles' | 'insertText'>;
  readonly history: Pick<HistoryView, 'close'>;
}

export interface ContextActionsOptions {
  environment: Pick<
    PanelEnvironment,
    'readPage' | 'readVideo' | 'requestPageAccess' | 'fetchPageFile' | 'takeSelection'
  >;
  view: ContextView;
  conversation: Pick<ConversationSession, 'isBusy' | 'newChat' | 'send'>;
  settings(): Pick<Settings, 'pageBudget'>;
}

export class ContextActions {
  private readonly options: ContextActionsOptions;

  constructor(options: ContextActionsOptions) {
    this.options = options;
  }

  async summarizePage(): Promise<void> {
    if (this.options.conversation.isBusy()) {
      this.options.view.showNotice({ kind: 'info', text: t('waitForAnswer') });
      return;
    }
    const context = await this.readPage('summarize');
    if (context)
      await this.options.conversation.send({ text: t('promptSummarizePage'), context, attachments: [] });
  }

  /** Summarizes the current tab's video from its captions, the user's language first; says so when it has none. */
  async summarizeVideo(): Promise<void> {
    const { view, environment, conversation } = this.options;
    if (conversation.isBusy()) {
      view.showNotice({ kind: 'info', text: t('waitForAnswer') });
      return;
    }
    if (environment.readVideo === undefined) return;
    view.showNotice({ kind: 'info', text: t('videoReading') });
    const languages = [chrome.i18n.getUILanguage(), ...navigator.languages, 'en'];
    const result = await environment.readVideo(this.options.settings().pageBudget, languages);
    if (!result.ok) {
      view.showNotice({ kind: 'error', text: t(videoProblemText[result.problem]) });
      return;
    }
    view.hideNotice();
    await conversation.send({ text: t('promptSummarizeVideo'), context: result.context, attachments: [] });
  }

  async askAboutPage(): Promise<void> {
    const context = await this.readPage('ask');
    if (context) this.options.view.setComposerContext(context);
  }

  /** Acts on a selection handed over by the context menu, if one waits for this panel. */
  async takeSelection(): Promise<void> {
    const { view, conversation } = this.options;
    const pending = await this.options.environment.takeSelection();
    if (!pending) return;
    const context: MessageContext = {
      kind: 'selection',
      text: pending.text,
      title: pending.title,
      url: pending.url,
    };
    view.history.close();
    if (pending.action === 'ask') {
      view.setComposerContext(context);
      return;
    }
    const text = t(selectionPrompts[pending.action]);
    if (conversation.isBusy()) {
      // Another answer is on its way: the selection waits in the composer for the user's send.
      view.setComposerContext(context);
      view.composer.insertText(text);
      return;
    }
    conversation.newChat();
    await conversation.send({ text, context, attachments: [] });
  }

  /** The current page as context, or undefined after saying plainly why it cannot be read. */
  private async readPage(then: 'summarize' | 'ask'): Promise<PageContext | undefined> {
    const { view, environment } = this.options;
    view.showNotice({ kind: 'info', text: t('pageReading') });
    const result = await environment.readPage(this.options.settings().pageBudget);
    if (result.ok) {
      view.hideNotice();
      return result.context;
    }
    const notice: Notice = { kind: 'error', text: t(pageProblemText[result.problem]) };
    const url = result.url;
    if (result.problem === 'pdf' && url && /^(https?|file):/i.test(url)) {
      notice.action = { label: t('pageAttachPdf'), run: () => void this.attachPageFile(url, then) };
    }
    if (result.problem === 'permission') {
      notice.action = {
        label: t('pageAllowAccess'),
        run: () => {
          void environment.requestPageAccess().then((granted) => {
            if (!granted) view.showNotice({ kind: 'error', text: t('pageAccessDenied') });
            else if (then === 'summarize') void this.summarizePage();
            else void this.askAboutPage();
          });
        },
      };
    }
    view.showNotice(notice);
    return undefined;
  }

  /** A PDF tab: its file goes into the composer as an attachment, which the workers can read. */
  private async attachPageFile(url: string, then: 'summarize' | 'ask'): Promise<void> {
    const { view } = this.options;
    const file = await this.options.environment.fetchPageFile(url);
    if (!file) {
      view.showNotice({ kind: 'error', text: t('pageFetchFailed') });
      return;
    }
    view.composer.addFiles([file]);
    // The user sends once the upload is done: the request waits in the composer, not in a timer.
    if (then === 'summarize' && !view.composer.text.trim()) {
      view.composer.insertText(t('promptSummarizeFile'));
    }
  }
}
