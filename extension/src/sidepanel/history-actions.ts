// The conversation history's actions: search, rename, export as Markdown, delete with a time to undo.
import { t } from '../shared/i18n.ts';
import type { ConversationStore, SearchHit } from '../store/conversation-store.ts';
import type { AnswerStreams } from './answer-streams.ts';
import type { ConversationSession } from './conversation-session.ts';
import type { PanelEnvironment } from './environment.ts';
import { conversationMarkdown, exportFileName } from './export-markdown.ts';
import type { HistorySync } from './history-sync.ts';
import type { HistoryView } from './history-view.ts';

/** How long a deleted conversation can be brought back. */
export const undoWindowMs = 6_000;

export interface HistoryActionsView {
  showHistory(hits: readonly SearchHit[]): void;
  showUndo(text: string, onUndo: () => void, durationMs: number): void;
  readonly history: Pick<HistoryView, 'isOpen' | 'query'>;
}

export interface HistoryActionsOptions {
  store: Pick<
    ConversationStore,
    | 'searchConversations'
    | 'renameConversation'
    | 'getConversation'
    | 'markDeleted'
    | 'restoreConversation'
    | 'purgeDeleted'
  >;
  view: HistoryActionsView;
  conversation: Pick<ConversationSession, 'id' | 'renamed' | 'newChat' | 'open'>;
  answers: Pick<AnswerStreams, 'drop'>;
  /** The server's history, when it keeps one: renames and deletes go there too. */
  sync?: Pick<HistorySync, 'rename' | 'delete'>;
  /** Conversations with a change the server has not heard yet: marked in the list. */
  pendingConversations?(): Promise<ReadonlySet<string>>;
  download: PanelEnvironment['download'];
  now(): number;
}

export class HistoryActions {
  private readonly options: HistoryActionsOptions;
  private searchSequence = 0;

  constructor(options: HistoryActionsOptions) {
    this.options = options;
  }

  async search(query: string): Promise<void> {
    this.searchSequence += 1;
    const sequence = this.searchSequence;
    const [found, pending] = await Promise.all([
      this.options.store.searchConversations(query),
      this.options.pendingConversations?.() ?? new Set<string>(),
    ]);
    const hits = found.map((hit) => (pending.has(hit.conversation.id) ? { ...hit, pending: true } : hit));
    // A slower earlier search must not overwrite the answer to a later one.
    if (sequence === this.searchSequence) this.options.view.showHistory(hits);
  }

  async rename(conversationId: string, title: string): Promise<void> {
    await this.options.store.renameConversation(conversationId, title);
    this.options.conversation.renamed(conversationId, title);
    await this.options.sync?.rename(conversationId, title);
  }

  async export(conversationId: string): Promise<void> {
    const loaded = await this.options.store.getConversation(conversationId);
    if (!loaded) return;
    const markdown = conversationMarkdown(loaded.conversation, loaded.messages, {
      you: t('you'),
      assistant: t('assistant'),
      page: t('contextPage'),
      selection: t('contextSelection'),
      attachments: t('attachments'),
      exported: t('exportedOn'),
    });
    this.options.download(exportFileName(loaded.conversation.title), markdown);
  }

  /** Hides the conversation at once; it is removed for good when the undo window has passed. */
  async delete(conversationId: string): Promise<void> {
    const conversation = await this.options.store.markDeleted(conversationId, this.options.now());
    if (this.options.conversation.id === conversationId) this.options.conversation.newChat();
    this.options.view.showUndo(
      t('conversationDeleted', [conversation?.title || t('untitled')]),
      () => void this.undoDelete(conversationId),
      undoWindowMs,
    );
    setTimeout(() => void this.purge(conversationId), undoWindowMs);
  }

  async undoDelete(conversationId: string): Promise<void> {
    await this.options.store.restoreConversation(conversationId);
    if (this.options.view.history.isOpen) await this.search(this.options.view.history.query);
    else await this.options.conversation.open(conversationId);
  }

  private async purge(conversationId: string): Promise<void> {
    const removed = await this.options.store.purgeDeleted(this.options.now() - undoWindowMs + 1);
    if (removed.includes(conversationId)) this.options.answers.drop(conversationId);
    for (const id of removed) await this.options.sync?.delete(id);
  }
}
