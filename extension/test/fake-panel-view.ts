// The panel's view without a DOM, for the unit tests of the panel's behaviour: it records what would be drawn.
import type { AnswerState, RequestEvent } from '@chrome-plus/client';
import type { ContextView } from '../src/sidepanel/context-actions.ts';
import type { SessionView } from '../src/sidepanel/conversation-session.ts';
import type { HistoryActionsView } from '../src/sidepanel/history-actions.ts';
import type { Notice } from '../src/sidepanel/notice-bar.ts';
import type { SearchHit } from '../src/store/conversation-store.ts';
import type { MessageContext, StoredMessage, UserMessage } from '../src/store/types.ts';

/** `t()` reads chrome.i18n: under node, a message is its key (and its substitutions), which tests can compare. */
export function stubI18n(): void {
  (globalThis as unknown as { chrome: unknown }).chrome = {
    i18n: {
      getMessage: (key: string, substitutions?: string | string[]) =>
        substitutions === undefined ? key : `${key}: ${[substitutions].flat().join(', ')}`,
      getUILanguage: () => 'en',
    },
  };
}

export class FakePanelView implements SessionView, ContextView, HistoryActionsView {
  conversationId: string | undefined;
  /** The message list as shown (an answer with the text and status drawn last). */
  shown: StoredMessage[] = [];
  busy = false;
  focused = 0;
  edited: UserMessage | undefined;
  notice: Notice | undefined;
  composerContext: MessageContext | undefined;
  /** The last state each shown answer was drawn with, by message id. */
  readonly answers = new Map<string, AnswerState>();
  hits: readonly SearchHit[] | undefined;
  undo: { text: string; onUndo: () => void; durationMs: number } | undefined;

  readonly composer = {
    text: '',
    files: [] as File[],
    addFiles(files: readonly File[]): void {
      this.files.push(...files);
    },
    insertText(text: string): void {
      this.text += text;
    },
  };

  readonly history = {
    isOpen: false,
    query: '',
    close(): void {
      this.isOpen = false;
    },
  };

  setConversation(conversationId: string | undefined): void {
    this.conversationId = conversationId;
  }

  showMessages(messages: readonly StoredMessage[]): void {
    this.shown = [...messages];
    this.answers.clear();
  }

  addMessage(message: StoredMessage): void {
    this.shown.push(message);
  }

  removeMessage(messageId: string): void {
    this.shown = this.shown.filter((message) => message.id !== messageId);
    this.answers.delete(messageId);
  }

  setBusy(busy: boolean): void {
    this.busy = busy;
  }

  focusComposer(): void {
    this.focused += 1;
  }

  editMessage(message: UserMessage): void {
    this.edited = message;
  }

  /** Like PanelView: only an answer of the shown conversation has a view. */
  answer(messageId: string): { apply(event: RequestEvent, answer: AnswerState): void } | undefined {
    if (!this.shown.some((message) => message.id === messageId)) return undefined;
    return {
      apply: (_event, answer) => {
        this.answers.set(messageId, answer);
        // The list shows the answer as drawn so far.
        this.shown = this.shown.map((message) =>
          message.id === messageId && message.role === 'assistant'
            ? { ...message, content: answer.text, status: answer.status }
            : message,
        );
      },
    };
  }

  showNotice(notice: Notice): void {
    this.notice = notice;
  }

  hideNotice(): void {
    this.notice = undefined;
  }

  setComposerContext(context: MessageContext): void {
    this.composerContext = context;
  }

  showHistory(hits: readonly SearchHit[]): void {
    this.hits = hits;
  }

  showUndo(text: string, onUndo: () => void, durationMs: number): void {
    this.undo = { text, onUndo, durationMs };
  }
}
