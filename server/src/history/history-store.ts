// Conversations of users with an account, in the database: the gateway records a user message when it accepts
// chat.send, the worker records the answer when it ends (in the transaction of its usage), and sync reads and edits
// them. Every change takes the next seq of its user (history_cursors, whose row it locks until it commits): the
// cursor of sync, and the server's order by which concurrent edits resolve (the later seq wins).
// Over 250 lines on purpose: every query of the history, with the seq discipline they share, in one place.
import type {
  HistoryChangeKind,
  HistoryConversation,
  HistoryMessage,
  MessageContext,
} from '@chrome-plus/protocol';
import { type Kysely, type Selectable, sql, type Transaction } from 'kysely';
import type { ConversationMessagesTable, ConversationsTable, Tables } from '../db/schema.ts';

/** What a change touched, for the live feed. */
export interface HistoryChange {
  user: string;
  conversationId: string;
  seq: number;
  change: HistoryChangeKind;
}

export interface UserMessageRecord {
  user: string;
  conversationId: string;
  requestId: string;
  content: string;
  title?: string;
  model: string;
  systemPrompt?: string;
  context?: MessageContext;
  attachments?: Record<string, unknown>[];
}

export interface AnswerRecord {
  user: string;
  requestId: string;
  content: string;
  reasoning: string;
  status: 'done' | 'error' | 'cancelled';
  model: string;
  finishReason?: string;
  usage?: { promptTokens: number; completionTokens: number; estimated: boolean };
  error?: { code: string; message: string };
}

export interface ConversationExport extends HistoryConversation {
  messages: HistoryMessage[];
}

/** Not this user's (or no such) conversation: the same answer for both. */
export class ConversationNotFound extends Error {
  override name = 'ConversationNotFound';
}

/** Rolls a transaction back on purpose (nothing to record after all). */
class NothingToRecord extends Error {}

type Executor = Kysely<Tables> | Transaction<Tables>;

const iso = (date: Date | string): string => new Date(date).toISOString();

/** A title made of the message's beginning, on one line. */
export function titleOf(content: string): string {
  const line = content.replace(/\s+/g, ' ').trim();
  return line.length <= 80 ? line : `${line.slice(0, 79)}…`;
}

function conversationView(row: Selectable<ConversationsTable>): HistoryConversation {
  if (row.deleted_at !== null)
    return { id: row.client_id, seq: Number(row.change_seq), deleted: true, deletedAt: iso(row.deleted_at) };
  return {
    id: row.client_id,
    seq: Number(row.change_seq),
    title: row.title,
    model: row.model,
    systemPrompt: row.system_prompt,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
    clearedSeq: Number(row.cleared_seq),
  };
}

function messageView(row: Selectable<ConversationMessagesTable>): HistoryMessage {
  return {
    requestId: row.request_id,
    role: row.role,
    content: row.content,
    seq: Number(row.change_seq),
    createdAt: iso(row.created_at),
    status: row.status,
    ...(row.context !== null && { context: row.context as MessageContext }),
    ...(row.attachments !== null && { attachments: row.attachments as HistoryMessage['attachments'] }),
    ...(row.reasoning !== null && row.reasoning !== '' && { reasoning: row.reasoning }),
    ...(row.model !== null && { model: row.model }),
    ...(row.finish_reason !== null && { finishReason: row.finish_reason }),
    ...(row.prompt_tokens !== null &&
      row.completion_tokens !== null && {
        usage: {
          promptTokens: row.prompt_tokens,
          completionTokens: row.completion_tokens,
          estimated: row.estimated === true,
        },
      }),
    ...(row.error_code !== null && { error: { code: row.error_code, message: row.error_message ?? '' } }),
  };
}

export type HistoryStore = ReturnType<typeof createHistoryStore>;

export function createHistoryStore(db: Kysely<Tables>) {
  async function userIdOf(executor: Executor, user: string): Promise<number | undefined> {
    const row = await executor.selectFrom('users').select('id').where('name', '=', user).executeTakeFirst();
    return row?.id;
  }

  /** The user's next seq; holds their cursor row until the transaction ends, so seqs commit in order. */
  async function nextSeq(transaction: Transaction<Tables>, userId: number): Promise<number> {
    const { rows } = await sql<{ seq: string }>`
      INSERT INTO history_cursors (user_id, seq) VALUES (${userId}, 1)
      ON CONFLICT (user_id) DO UPDATE SET seq = history_cursors.seq + 1
      RETURNING seq`.execute(transaction);
    return Number(rows[0]!.seq);
  }

  async function liveConversation(executor: Executor, userId: number, conversationId: string) {
    return executor
      .selectFrom('conversations')
      .selectAll()
      .where('user_id', '=', userId)
      .where('client_id', '=', conversationId)
      .executeTakeFirst();
  }

  /** Runs `change` in a transaction; undefined when it threw NothingToRecord (rolled back). */
  async function attempt<T>(
    change: (transaction: Transaction<Tables>) => Promise<T>,
  ): Promise<T | undefined> {
    try {
      return await db.transaction().execute(change);
    } catch (error) {
      if (error instanceof NothingToRecord) return undefined;
      throw error;
    }
  }

  /** An edit of one of the user's conversations: not found (rolled back) when it is not theirs or is deleted. */
  async function edit(
    user: string,
    conversationId: string,
    change: HistoryChangeKind,
    apply: (transaction: Transaction<Tables>, id: string, seq: number) => Promise<void>,
  ): Promise<HistoryChange> {
    const result = await attempt(async (transaction) => {
      const userId = await userIdOf(transaction, user);
      if (userId === undefined) throw new ConversationNotFound();
      const seq = await nextSeq(transaction, userId);
      // Read under the user's lock: whatever committed before us is seen, whatever comes after waits.
      const row = await liveConversation(transaction, userId, conversationId);
      if (row === undefined) throw new ConversationNotFound();
      if (row.deleted_at !== null) {
        // Deleting again changes nothing (an offline device's queued delete); anything else loses to the delete.
        if (change === 'deleted') throw new NothingToRecord();
        throw new ConversationNotFound();
      }
      await apply(transaction, row.id, seq);
      return { user, conversationId, seq, change };
    });
    if (result !== undefined) return result;
    // An idempotent delete: answered with the tombstone's seq.
    const userId = await userIdOf(db, user);
    const row = userId === undefined ? undefined : await liveConversation(db, userId, conversationId);
    if (row === undefined) throw new ConversationNotFound();
    return { user, conversationId, seq: Number(row.change_seq), change };
  }

  return {
    /** Whether the user has an account (server history); AUTH_TOKENS users have none. */
    async hasAccount(user: string): Promise<boolean> {
      return (await userIdOf(db, user)) !== undefined;
    },

    /**
     * Records the user message of an accepted chat.send, creating its conversation the first time. Undefined when
     * nothing was recorded: a user without an account, a deleted conversation, a request id recorded before.
     */
    async recordUserMessage(record: UserMessageRecord): Promise<HistoryChange | undefined> {
      return attempt(async (transaction) => {
        const userId = await userIdOf(transaction, record.user);
        if (userId === undefined) throw new NothingToRecord();
        const seq = await nextSeq(transaction, userId);
        const conversation = await transaction
          .insertInto('conversations')
          .values({
            user_id: userId,
            client_id: record.conversationId,
            title: record.title ?? titleOf(record.content),
            model: record.model,
            system_prompt: record.systemPrompt ?? null,
            change_seq: seq,
          })
          .onConflict((conflict) =>
            conflict
              .columns(['user_id', 'client_id'])
              .doUpdateSet((eb) => ({
                model: eb.ref('excluded.model'),
                system_prompt: eb.fn.coalesce(
                  eb.ref('excluded.system_prompt'),
                  eb.ref('conversations.system_prompt'),
                ),
                updated_at: sql<Date>`now()`,
                change_seq: eb.ref('excluded.change_seq'),
              }))
              // A tombstone stays one: a send into a deleted conversation is answered, not recorded.
              .where('conversations.deleted_at', 'is', null),
          )
          .returning('id')
          .executeTakeFirst();
        if (conversation === undefined) throw new NothingToRecord();
        const message = await transaction
          .insertInto('conversation_messages')
          .values({
            conversation_id: conversation.id,
            user_id: userId,
            request_id: record.requestId,
            role: 'user',
            content: record.content,
            reasoning: null,
            context: record.context === undefined ? null : JSON.stringify(record.context),
            attachments:
              record.attachments === undefined || record.attachments.length === 0
                ? null
                : JSON.stringify(record.attachments),
            status: 'sent',
            model: record.model,
            finish_reason: null,
            prompt_tokens: null,
            completion_tokens: null,
            estimated: null,
            error_code: null,
            error_message: null,
            change_seq: seq,
          })
          .onConflict((conflict) => conflict.columns(['user_id', 'request_id', 'role']).doNothing())
          .returning('id')
          .executeTakeFirst();
        if (message === undefined) throw new NothingToRecord();
        return { user: record.user, conversationId: record.conversationId, seq, change: 'message' as const };
      });
    },

    /**
     * Records an answer in `transaction` (the one of its usage), beside its user message. Undefined when there is
     * none (an old client's request, a user without an account, a conversation deleted or cleared meanwhile).
     */
    async recordAnswer(
      transaction: Transaction<Tables>,
      record: AnswerRecord,
    ): Promise<HistoryChange | undefined> {
      const userId = await userIdOf(transaction, record.user);
      if (userId === undefined) return undefined;
      // The user's lock first: a clear or delete that commits before us is seen, so its messages stay gone.
      const seq = await nextSeq(transaction, userId);
      const asked = await transaction
        .selectFrom('conversation_messages as m')
        .innerJoin('conversations as c', 'c.id', 'm.conversation_id')
        .select(['m.conversation_id', 'm.user_id', 'c.client_id'])
        .where('m.user_id', '=', userId)
        .where('m.request_id', '=', record.requestId)
        .where('m.role', '=', 'user')
        .where('c.deleted_at', 'is', null)
        .executeTakeFirst();
      // A seq taken for nothing leaves a gap in the cursor, which sync allows.
      if (asked === undefined) return undefined;
      const inserted = await transaction
        .insertInto('conversation_messages')
        .values({
          conversation_id: asked.conversation_id,
          user_id: asked.user_id,
          request_id: record.requestId,
          role: 'assistant',
          content: record.content,
          reasoning: record.reasoning,
          context: null,
          attachments: null,
          status: record.status,
          model: record.model,
          finish_reason: record.finishReason ?? null,
          prompt_tokens: record.usage?.promptTokens ?? null,
          completion_tokens: record.usage?.completionTokens ?? null,
          estimated: record.usage?.estimated ?? null,
          error_code: record.error?.code ?? null,
          error_message: record.error?.message ?? null,
          change_seq: seq,
        })
        .onConflict((conflict) => conflict.columns(['user_id', 'request_id', 'role']).doNothing())
        .returning('id')
        .executeTakeFirst();
      if (inserted === undefined) return undefined;
      await transaction
        .updateTable('conversations')
        .set({ change_seq: seq, updated_at: sql<Date>`now()` })
        .where('id', '=', asked.conversation_id)
        .execute();
      return { user: record.user, conversationId: asked.client_id, seq, change: 'message' };
    },

    /** The user's conversations changed after `after`, tombstones included, in seq order; undefined: no account. */
    async changes(
      user: string,
      after: number,
      limit: number,
    ): Promise<{ conversations: HistoryConversation[]; cursor: number; more: boolean } | undefined> {
      const userId = await userIdOf(db, user);
      if (userId === undefined) return undefined;
      const rows = await db
        .selectFrom('conversations')
        .selectAll()
        .where('user_id', '=', userId)
        .where('change_seq', '>', String(after))
        .orderBy('change_seq')
        .limit(limit + 1)
        .execute();
      const more = rows.length > limit;
      const page = rows.slice(0, limit).map(conversationView);
      return { conversations: page, cursor: page.length > 0 ? page[page.length - 1]!.seq : after, more };
    },

    /** One conversation and its messages changed after `after`; throws ConversationNotFound if not the user's. */
    async conversation(
      user: string,
      conversationId: string,
      after = 0,
    ): Promise<{ conversation: HistoryConversation; messages: HistoryMessage[] }> {
      const userId = await userIdOf(db, user);
      const row = userId === undefined ? undefined : await liveConversation(db, userId, conversationId);
      if (row === undefined) throw new ConversationNotFound();
      const messages = await db
        .selectFrom('conversation_messages')
        .selectAll()
        .where('conversation_id', '=', row.id)
        .where('change_seq', '>', String(after))
        .orderBy('change_seq')
        .orderBy('id')
        .execute();
      return { conversation: conversationView(row), messages: messages.map(messageView) };
    },

    rename(user: string, conversationId: string, title: string): Promise<HistoryChange> {
      return edit(user, conversationId, 'renamed', async (transaction, id, seq) => {
        await transaction
          .updateTable('conversations')
          .set({ title, change_seq: seq, updated_at: sql<Date>`now()` })
          .where('id', '=', id)
          .execute();
      });
    },

    /** Empties the conversation: its messages go, it stays (clearedSeq tells copies which messages are gone). */
    clear(user: string, conversationId: string): Promise<HistoryChange> {
      return edit(user, conversationId, 'cleared', async (transaction, id, seq) => {
        await transaction.deleteFrom('conversation_messages').where('conversation_id', '=', id).execute();
        await transaction
          .updateTable('conversations')
          .set({ change_seq: seq, cleared_seq: seq, updated_at: sql<Date>`now()` })
          .where('id', '=', id)
          .execute();
      });
    },

    /** Deletes the conversation: its messages and title go, a tombstone stays for the other devices. */
    delete(user: string, conversationId: string): Promise<HistoryChange> {
      return edit(user, conversationId, 'deleted', async (transaction, id, seq) => {
        await transaction.deleteFrom('conversation_messages').where('conversation_id', '=', id).execute();
        await transaction
          .updateTable('conversations')
          .set({
            title: '',
            system_prompt: null,
            deleted_at: sql<Date>`now()`,
            change_seq: seq,
            updated_at: sql<Date>`now()`,
          })
          .where('id', '=', id)
          .execute();
      });
    },

    /** Every live conversation of the user with its messages, oldest first; undefined when there is no such user. */
    async export(user: string): Promise<ConversationExport[] | undefined> {
      const userId = await userIdOf(db, user);
      if (userId === undefined) return undefined;
      const conversations = await db
        .selectFrom('conversations')
        .selectAll()
        .where('user_id', '=', userId)
        .where('deleted_at', 'is', null)
        .orderBy('created_at')
        .orderBy('id')
        .execute();
      const messages = await db
        .selectFrom('conversation_messages')
        .selectAll()
        .where('user_id', '=', userId)
        .orderBy('change_seq')
        .orderBy('id')
        .execute();
      const byConversation = new Map<string, HistoryMessage[]>();
      for (const message of messages) {
        const list = byConversation.get(message.conversation_id) ?? [];
        list.push(messageView(message));
        byConversation.set(message.conversation_id, list);
      }
      return conversations.map((row) => ({
        ...conversationView(row),
        messages: byConversation.get(row.id) ?? [],
      }));
    },
  };
}
