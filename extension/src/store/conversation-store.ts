// Conversations in IndexedDB, with streaming answers stored as appended chunks until they finish.
// Over 250 lines on purpose: one IndexedDB schema and the transactions on conversations and messages, kept
// together so that no two places can disagree on the stores and their indexes (the sync's: sync-store.ts).
import { openDatabase, requestResult, transactionDone } from './idb.ts';
import type { AnswerChunk, AssistantMessage, Conversation, StoredMessage } from './types.ts';

/** A conversation found by a search, with a piece of the text that matched (empty when the title did). */
export interface SearchHit {
  conversation: Conversation;
  snippet: string;
  /** Holds a change the server's history has not recorded yet (set by the history's actions, not the store). */
  pending?: boolean;
}

/** A piece of `text` around the first match of `needle` (already lower-cased), on one line. */
export function snippetAround(text: string, needle: string, radius = 40): string {
  const flat = text.replace(/\s+/g, ' ');
  const index = flat.toLocaleLowerCase().indexOf(needle);
  if (index < 0) return '';
  const start = Math.max(0, index - radius);
  const end = Math.min(flat.length, index + needle.length + radius);
  return `${start > 0 ? '…' : ''}${flat.slice(start, end).trim()}${end < flat.length ? '…' : ''}`;
}

/** Everything of a message a search looks at: its text, and the page or selection it came with. */
function searchableText(message: StoredMessage): string {
  if (message.role === 'assistant') return message.content;
  const context = message.context ? `\n${message.context.title}\n${message.context.text}` : '';
  const files = (message.attachments ?? []).map((attachment) => `\n${attachment.name}`).join('');
  return `${message.content}${context}${files}`;
}

const databaseVersion = 2;

export interface ConversationWithMessages {
  conversation: Conversation;
  messages: StoredMessage[];
}

/**
 * Folds the stored chunks of a streaming answer into its message. Only a chunk that starts right
 * after the text so far is used: two panels following one answer write chunks with different
 * boundaries, and overlapping pieces must not repeat text. What is skipped is fetched again by the
 * resume after `lastSeq`.
 */
export function foldChunks(message: AssistantMessage, chunks: readonly AnswerChunk[]): AssistantMessage {
  let content = message.content;
  let reasoning = message.reasoning;
  let lastSeq = message.lastSeq;
  for (const chunk of [...chunks].sort((left, right) => left.seq - right.seq)) {
    if (chunk.fromSeq !== lastSeq + 1) continue;
    if (chunk.reset) {
      content = '';
      reasoning = '';
    }
    content += chunk.text;
    reasoning += chunk.reasoning;
    lastSeq = chunk.seq;
  }
  return { ...message, content, reasoning, lastSeq };
}

export class ConversationStore {
  /** Open to sync-store.ts, whose transactions run on this same schema. */
  readonly database: IDBDatabase;

  private constructor(database: IDBDatabase) {
    this.database = database;
  }

  static async open(
    factory: IDBFactory = globalThis.indexedDB,
    name = 'chrome-plus',
  ): Promise<ConversationStore> {
    const database = await openDatabase(factory, name, databaseVersion, (db, oldVersion, transaction) => {
      if (oldVersion < 1) {
        const conversations = db.createObjectStore('conversations', { keyPath: 'id' });
        conversations.createIndex('updatedAt', 'updatedAt');
        const messages = db.createObjectStore('messages', { keyPath: 'id' });
        messages.createIndex('conversationId', 'conversationId');
        messages.createIndex('status', 'status');
        db.createObjectStore('chunks', { keyPath: ['messageId', 'seq'] });
      }
      if (oldVersion < 2) {
        // Server history (sync-store.ts): messages not recorded yet, the sync cursor, changes made offline.
        transaction.objectStore('messages').createIndex('syncState', 'syncState');
        db.createObjectStore('meta', { keyPath: 'key' });
        db.createObjectStore('outbox', { keyPath: 'id', autoIncrement: true });
      }
    });
    return new ConversationStore(database);
  }

  close(): void {
    this.database.close();
  }

  /** Newest first, without the ones deleted (even while their delete can still be undone). */
  async listConversations(): Promise<Conversation[]> {
    const transaction = this.database.transaction('conversations', 'readonly');
    const all = await requestResult(
      transaction.objectStore('conversations').index('updatedAt').getAll() as IDBRequest<Conversation[]>,
    );
    return all.reverse().filter((conversation) => conversation.deletedAt === undefined);
  }

  /**
   * Conversations whose title or messages contain `query` (case-insensitive), newest first. Each
   * message is read once; fine for the thousands of conversations one browser holds.
   */
  async searchConversations(query: string): Promise<SearchHit[]> {
    const needle = query.trim().toLocaleLowerCase();
    const conversations = await this.listConversations();
    if (!needle) return conversations.map((conversation) => ({ conversation, snippet: '' }));
    const snippets = new Map<string, string>();
    const transaction = this.database.transaction('messages', 'readonly');
    await new Promise<void>((resolve, reject) => {
      const request = transaction.objectStore('messages').openCursor();
      request.onerror = () => reject(request.error);
      request.onsuccess = () => {
        const cursor = request.result;
        if (!cursor) {
          resolve();
          return;
        }
        const message = cursor.value as StoredMessage;
        if (!snippets.has(message.conversationId)) {
          const snippet = snippetAround(searchableText(message), needle);
          if (snippet) snippets.set(message.conversationId, snippet);
        }
        cursor.continue();
      };
    });
    return conversations.flatMap((conversation) => {
      if (conversation.title.toLocaleLowerCase().includes(needle)) {
        return [{ conversation, snippet: snippets.get(conversation.id) ?? '' }];
      }
      const snippet = snippets.get(conversation.id);
      return snippet ? [{ conversation, snippet }] : [];
    });
  }

  async renameConversation(id: string, title: string): Promise<void> {
    await this.updateConversation(id, (conversation) => ({ ...conversation, title }));
  }

  /** Hides a conversation; `restoreConversation` brings it back, `purgeDeleted` removes it for good. */
  async markDeleted(id: string, at = Date.now()): Promise<Conversation | undefined> {
    return this.updateConversation(id, (conversation) => ({ ...conversation, deletedAt: at }));
  }

  async restoreConversation(id: string): Promise<void> {
    await this.updateConversation(id, ({ deletedAt: _deleted, ...conversation }) => conversation);
  }

  /** Removes for good the conversations deleted before `before` (whose undo has passed). */
  async purgeDeleted(before = Number.POSITIVE_INFINITY): Promise<string[]> {
    const transaction = this.database.transaction('conversations', 'readonly');
    const all = await requestResult(
      transaction.objectStore('conversations').getAll() as IDBRequest<Conversation[]>,
    );
    const doomed = all.filter(
      (conversation) => conversation.deletedAt !== undefined && conversation.deletedAt < before,
    );
    for (const conversation of doomed) await this.deleteConversation(conversation.id);
    return doomed.map((conversation) => conversation.id);
  }

  async putConversation(conversation: Conversation): Promise<void> {
    const transaction = this.database.transaction('conversations', 'readwrite');
    transaction.objectStore('conversations').put(conversation);
    await transactionDone(transaction);
  }

  /** A conversation with its messages in order; streaming answers include the chunks stored so far. */
  async getConversation(id: string): Promise<ConversationWithMessages | undefined> {
    const transaction = this.database.transaction(['conversations', 'messages', 'chunks'], 'readonly');
    const conversation = await requestResult(
      transaction.objectStore('conversations').get(id) as IDBRequest<Conversation | undefined>,
    );
    if (!conversation) return undefined;
    const messages = await requestResult(
      transaction.objectStore('messages').index('conversationId').getAll(id) as IDBRequest<StoredMessage[]>,
    );
    messages.sort((left, right) => left.createdAt - right.createdAt);
    const folded = await Promise.all(
      messages.map(async (message) =>
        message.role === 'assistant' && message.status === 'streaming'
          ? foldChunks(message, await this.chunksOf(transaction, message.id))
          : message,
      ),
    );
    return { conversation, messages: folded };
  }

  /** Stores a message and marks its conversation as updated. */
  async putMessage(message: StoredMessage, conversationUpdatedAt = Date.now()): Promise<void> {
    const transaction = this.database.transaction(['conversations', 'messages'], 'readwrite');
    transaction.objectStore('messages').put(message);
    const conversations = transaction.objectStore('conversations');
    const conversation = await requestResult(
      conversations.get(message.conversationId) as IDBRequest<Conversation | undefined>,
    );
    if (conversation) conversations.put({ ...conversation, updatedAt: conversationUpdatedAt });
    await transactionDone(transaction);
  }

  async deleteMessage(id: string): Promise<void> {
    const transaction = this.database.transaction(['messages', 'chunks'], 'readwrite');
    transaction.objectStore('messages').delete(id);
    transaction.objectStore('chunks').delete(chunkRange(id));
    await transactionDone(transaction);
  }

  /** Appends a piece of a streaming answer: one small write, whatever the length of the answer. */
  async appendChunk(chunk: AnswerChunk): Promise<void> {
    const transaction = this.database.transaction('chunks', 'readwrite');
    transaction.objectStore('chunks').put(chunk);
    await transactionDone(transaction);
  }

  /** Writes a finished answer whole and drops its chunks, in one transaction. */
  async finishAnswer(message: AssistantMessage): Promise<void> {
    const transaction = this.database.transaction(['messages', 'chunks'], 'readwrite');
    transaction.objectStore('messages').put({ ...message, request: undefined });
    transaction.objectStore('chunks').delete(chunkRange(message.id));
    await transactionDone(transaction);
  }

  /** Every answer that was streaming when the panel last closed, chunks folded in. */
  async unfinishedAnswers(): Promise<AssistantMessage[]> {
    const transaction = this.database.transaction(['messages', 'chunks'], 'readonly');
    const streaming = await requestResult(
      transaction.objectStore('messages').index('status').getAll('streaming') as IDBRequest<StoredMessage[]>,
    );
    const answers = streaming.filter((message): message is AssistantMessage => message.role === 'assistant');
    return Promise.all(
      answers.map(async (answer) => foldChunks(answer, await this.chunksOf(transaction, answer.id))),
    );
  }

  async deleteConversation(id: string): Promise<void> {
    const transaction = this.database.transaction(['conversations', 'messages', 'chunks'], 'readwrite');
    const messages = transaction.objectStore('messages');
    const ids = await requestResult(messages.index('conversationId').getAllKeys(id));
    for (const messageId of ids) {
      messages.delete(messageId);
      transaction.objectStore('chunks').delete(chunkRange(String(messageId)));
    }
    transaction.objectStore('conversations').delete(id);
    await transactionDone(transaction);
  }

  /** Changes one conversation in one transaction; resolves with what it was before. */
  private async updateConversation(
    id: string,
    change: (conversation: Conversation) => Conversation,
  ): Promise<Conversation | undefined> {
    const transaction = this.database.transaction('conversations', 'readwrite');
    const conversations = transaction.objectStore('conversations');
    const conversation = await requestResult(conversations.get(id) as IDBRequest<Conversation | undefined>);
    if (conversation) conversations.put(change(conversation));
    await transactionDone(transaction);
    return conversation;
  }

  private chunksOf(transaction: IDBTransaction, messageId: string): Promise<AnswerChunk[]> {
    return requestResult(
      transaction.objectStore('chunks').getAll(chunkRange(messageId)) as IDBRequest<AnswerChunk[]>,
    );
  }
}

function chunkRange(messageId: string): IDBKeyRange {
  return IDBKeyRange.bound([messageId, Number.NEGATIVE_INFINITY], [messageId, Number.POSITIVE_INFINITY]);
}
