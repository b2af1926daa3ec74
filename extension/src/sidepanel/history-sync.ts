// This browser's history as a cache of the server's (users with an account): catch up on connect and on every live
// notice, apply tombstones and clears, send the renames and deletes made offline. Without a server history (the
// server answers `not_found`), the history stays this browser's alone, as it always was.
import type { HistoryChangedFrame, HistoryConversation } from '@chrome-plus/protocol';
import type { ConversationStore } from '../store/conversation-store.ts';
import type { OutboxOperation, SyncState, SyncStore } from '../store/sync-store.ts';
import type { AssistantMessage } from '../store/types.ts';
import type { HistoryChannel, HistoryReply } from './history-channel.ts';

export interface HistorySyncOptions {
  store: SyncStore;
  conversations: Pick<ConversationStore, 'deleteConversation'>;
  channel: Pick<HistoryChannel, 'request'>;
  answers: {
    isStreaming(requestId: string): boolean;
    follow(message: AssistantMessage): void;
    drop(conversationId: string): void;
  };
  /** A conversation of the copy changed (`removed`: deleted by another device); also when pending marks changed. */
  onChanged(conversationId: string, removed: boolean): void;
  now(): number;
  onError(error: unknown): void;
}

/** Conversations asked for at once while catching up. */
const parallelGets = 4;

export class HistorySync {
  private readonly options: HistorySyncOptions;
  private state: SyncState | undefined;
  private connection: { server: string; user: string } | undefined;
  private running = false;
  private again = false;
  /** Resolves whenever a catch-up ends (for tests and the first paint). */
  private idleWaiters: (() => void)[] = [];

  constructor(options: HistorySyncOptions) {
    this.options = options;
  }

  /** Reads what the last session knew: whether this user has a server history, and how far it was read. */
  async load(): Promise<void> {
    this.state = await this.options.store.state();
  }

  /** 'server' once the server said it keeps this user's history; 'local' when it said it does not. */
  get mode(): SyncState['mode'] | undefined {
    return this.state?.mode;
  }

  /** A socket was welcomed: catch up (a new server or user starts from the beginning). */
  connected(server: string, user: string): void {
    this.connection = { server, user };
    this.kick();
  }

  disconnected(): void {
    this.connection = undefined;
  }

  /** A live notice: list what changed since the cursor, unless this copy already has it. */
  changed(frame: HistoryChangedFrame): void {
    if (frame.seq !== undefined && this.state && frame.seq <= this.state.cursor) return;
    this.kick();
  }

  /** Resolves when no catch-up runs. */
  idle(): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** A rename made here: to the server now, or when it can hear it. */
  rename(conversationId: string, title: string): Promise<void> {
    return this.push({ kind: 'rename', conversationId, title });
  }

  /** A delete made here (its undo has passed): to the server now, or when it can hear it. */
  delete(conversationId: string): Promise<void> {
    return this.push({ kind: 'delete', conversationId });
  }

  private async push(operation: OutboxOperation): Promise<void> {
    if (this.mode !== 'server') return;
    try {
      if (this.connection && (await this.sendOperation(operation))) return;
      await this.options.store.enqueue(operation);
      this.options.onChanged(operation.conversationId, false);
    } catch (error) {
      this.options.onError(error);
    }
  }

  /** True when the server took the change (or has nothing to change: the conversation is gone there). */
  private async sendOperation(operation: OutboxOperation): Promise<boolean> {
    const reply = await this.options.channel
      .request(
        operation.kind === 'rename'
          ? { type: 'history.rename', conversationId: operation.conversationId, title: operation.title }
          : { type: 'history.delete', conversationId: operation.conversationId },
      )
      .catch(() => undefined);
    return reply?.type === 'history.saved' || (reply?.type === 'history.error' && reply.code === 'not_found');
  }

  private kick(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.run().finally(() => {
      this.running = false;
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    });
  }

  private async run(): Promise<void> {
    do {
      this.again = false;
      const connection = this.connection;
      if (!connection) return;
      try {
        await this.catchUp(connection);
      } catch (error) {
        // Unanswered (the socket went away) or refused: the next connect or notice tries again.
        this.options.onError(error);
        return;
      }
    } while (this.again);
  }

  private async catchUp(connection: { server: string; user: string }): Promise<void> {
    const known = this.state;
    const sameSource = known?.server === connection.server && known.user === connection.user;
    let cursor = sameSource ? known.cursor : 0;
    let first = true;
    for (;;) {
      const page = await this.options.channel.request({ type: 'history.list', after: cursor });
      if (page.type === 'history.error') {
        if (page.code !== 'not_found') throw new Error(`history.list: ${page.code} ${page.message}`);
        await this.save({ ...connection, cursor: 0, mode: 'local' });
        return;
      }
      if (page.type !== 'history.changes') throw new Error(`history.list answered ${page.type}`);
      if (first) {
        first = false;
        await this.save({ ...connection, cursor, mode: 'server' });
        await this.flushOutbox();
      }
      await inBatches(page.conversations, parallelGets, (conversation) => this.apply(conversation));
      cursor = page.cursor;
      await this.save({ ...connection, cursor, mode: 'server' });
      if (!page.more) return;
    }
  }

  private async flushOutbox(): Promise<void> {
    for (const operation of await this.options.store.outbox()) {
      if (!(await this.sendOperation(operation)) || operation.id === undefined) return;
      await this.options.store.dequeue(operation.id);
      this.options.onChanged(operation.conversationId, false);
    }
  }

  /** Brings one changed conversation into the copy: dropped for a tombstone, else its new messages fetched. */
  private async apply(summary: HistoryConversation): Promise<void> {
    const { store } = this.options;
    const localSeq = await store.conversationSeq(summary.id);
    if (summary.deleted) {
      if (localSeq === undefined) return;
      this.options.answers.drop(summary.id);
      await this.options.conversations.deleteConversation(summary.id);
      this.options.onChanged(summary.id, true);
      return;
    }
    if (localSeq !== undefined && localSeq >= summary.seq) return;
    const after = (summary.clearedSeq ?? 0) > (localSeq ?? 0) ? 0 : (localSeq ?? 0);
    const reply: HistoryReply = await this.options.channel.request({
      type: 'history.get',
      conversationId: summary.id,
      after,
    });
    // Gone since it was listed: the next page (or notice) carries its tombstone.
    if (reply.type !== 'history.conversation') return;
    const applied = await store.applyConversation(reply.conversation, reply.messages, {
      isStreaming: (requestId) => this.options.answers.isStreaming(requestId),
      now: this.options.now(),
    });
    for (const answer of applied.merge.follow) this.options.answers.follow(answer);
    if (applied.changed) this.options.onChanged(summary.id, false);
  }

  private async save(state: SyncState): Promise<void> {
    this.state = state;
    await this.options.store.saveState(state);
  }
}

/** Runs `work` over `items`, at most `size` at once, in order of start. */
async function inBatches<T>(
  items: readonly T[],
  size: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const item = items[next] as T;
      next += 1;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(size, items.length) }, lane));
}
