// The server history's records in IndexedDB: the sync cursor, the changes made offline, messages not recorded yet,
// and a server conversation applied to this browser's copy in one transaction (the schema: conversation-store.ts).
import type { HistoryConversation, HistoryMessage } from '@chrome-plus/protocol';
import { requestResult, transactionDone } from './idb.ts';
import { localConversation, type MergeResult, mergeMessages } from './server-records.ts';
import type { Conversation, StoredMessage, UserMessage } from './types.ts';

/** Where the copy comes from and how far it has read. `mode`: whether this user has a server history at all. */
export interface SyncState {
  server: string;
  user: string;
  cursor: number;
  mode: 'server' | 'local';
}

/** A change made while the server could not hear it, sent when it can. */
export type OutboxOperation =
  | { id?: number; kind: 'rename'; conversationId: string; title: string }
  | { id?: number; kind: 'delete'; conversationId: string };

export interface AppliedConversation {
  conversation: Conversation;
  merge: MergeResult;
  /** Whether anything shown of it changed (its title or its messages). */
  changed: boolean;
}

export class SyncStore {
  private readonly database: IDBDatabase;

  constructor(database: IDBDatabase) {
    this.database = database;
  }

  async state(): Promise<SyncState | undefined> {
    const transaction = this.database.transaction('meta', 'readonly');
    const row = await requestResult(
      transaction.objectStore('meta').get('sync') as IDBRequest<(SyncState & { key: string }) | undefined>,
    );
    if (!row) return undefined;
    const { key: _key, ...state } = row;
    return state;
  }

  async saveState(state: SyncState): Promise<void> {
    const transaction = this.database.transaction('meta', 'readwrite');
    transaction.objectStore('meta').put({ key: 'sync', ...state });
    await transactionDone(transaction);
  }

  /** The changes waiting for the server, oldest first. */
  async outbox(): Promise<OutboxOperation[]> {
    const transaction = this.database.transaction('outbox', 'readonly');
    return requestResult(transaction.objectStore('outbox').getAll() as IDBRequest<OutboxOperation[]>);
  }

  /** Queues a change; a rename replaces an earlier one of the same conversation (only the last title matters). */
  async enqueue(operation: OutboxOperation): Promise<void> {
    const waiting = await this.outbox();
    const transaction = this.database.transaction('outbox', 'readwrite');
    const outbox = transaction.objectStore('outbox');
    for (const earlier of waiting) {
      if (earlier.conversationId !== operation.conversationId || earlier.id === undefined) continue;
      if (earlier.kind === operation.kind || operation.kind === 'delete') outbox.delete(earlier.id);
    }
    const { id: _unset, ...record } = operation;
    outbox.add(record);
    await transactionDone(transaction);
  }

  async dequeue(id: number): Promise<void> {
    const transaction = this.database.transaction('outbox', 'readwrite');
    transaction.objectStore('outbox').delete(id);
    await transactionDone(transaction);
  }

  /** User messages the server has not recorded yet. */
  async pendingMessages(): Promise<UserMessage[]> {
    const transaction = this.database.transaction('messages', 'readonly');
    return requestResult(
      transaction.objectStore('messages').index('syncState').getAll('pending') as IDBRequest<UserMessage[]>,
    );
  }

  /** The server recorded the user message of `requestId`: it is no longer pending. Resolves with it, if it was. */
  async markRecorded(conversationId: string, requestId: string): Promise<UserMessage | undefined> {
    const transaction = this.database.transaction('messages', 'readwrite');
    const messages = transaction.objectStore('messages');
    const all = await requestResult(
      messages.index('conversationId').getAll(conversationId) as IDBRequest<StoredMessage[]>,
    );
    const found = all.find(
      (message): message is UserMessage =>
        message.role === 'user' && message.requestId === requestId && message.syncState === 'pending',
    );
    if (found) {
      const { syncState: _recorded, ...recorded } = found;
      messages.put(recorded);
    }
    await transactionDone(transaction);
    return found;
  }

  /** The server's seq of a conversation this copy holds (0: held but never synced), or undefined if not held. */
  async conversationSeq(id: string): Promise<number | undefined> {
    const transaction = this.database.transaction('conversations', 'readonly');
    const conversation = await requestResult(
      transaction.objectStore('conversations').get(id) as IDBRequest<Conversation | undefined>,
    );
    return conversation && (conversation.serverSeq ?? 0);
  }

  /**
   * Applies a `history.conversation` (its messages after this copy's seq, or all of them after a clear) to the copy:
   * the conversation, then its messages, in one transaction.
   */
  async applyConversation(
    server: HistoryConversation,
    messages: readonly HistoryMessage[],
    options: { isStreaming(requestId: string): boolean; now: number },
  ): Promise<AppliedConversation> {
    const transaction = this.database.transaction(['conversations', 'messages', 'chunks'], 'readwrite');
    const conversations = transaction.objectStore('conversations');
    const store = transaction.objectStore('messages');
    const existing = await requestResult(
      conversations.get(server.id) as IDBRequest<Conversation | undefined>,
    );
    const local = await requestResult(
      store.index('conversationId').getAll(server.id) as IDBRequest<StoredMessage[]>,
    );
    const cleared = (server.clearedSeq ?? 0) > (existing?.serverSeq ?? 0) && local.length > 0;
    const merge = mergeMessages(server.id, local, messages, { ...options, cleared });
    const conversation: Conversation = {
      ...localConversation(server, existing, options.now),
      serverSeq: Math.max(server.seq, existing?.serverSeq ?? 0),
    };
    conversations.put(conversation);
    for (const message of merge.put) store.put(message);
    for (const id of merge.remove) {
      store.delete(id);
      transaction
        .objectStore('chunks')
        .delete(IDBKeyRange.bound([id, Number.NEGATIVE_INFINITY], [id, Number.POSITIVE_INFINITY]));
    }
    await transactionDone(transaction);
    const changed = existing?.title !== conversation.title || merge.put.length > 0 || merge.remove.length > 0;
    return { conversation, merge, changed };
  }
}
