// Users, device tokens, quotas and usage in the database: every query of the accounts, through Kysely.
// Over 250 lines on purpose: every query of the accounts in one place, beside the transactions they share.
import { type Kysely, sql, type Transaction } from 'kysely';
import type { Tables } from '../db/schema.ts';
import { newDeviceToken, tokenHash } from './device-token.ts';

export type AccountErrorCode = 'bad_request' | 'not_found' | 'conflict';

/** A refusal an administrator can act on: the admin API turns its code into an HTTP status. */
export class AccountError extends Error {
  override name = 'AccountError';
  constructor(
    readonly code: AccountErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export type Role = 'admin' | 'user';

export interface UserView {
  name: string;
  role: Role;
  disabled: boolean;
  /** Whether they may sign in from the extension with a password. */
  hasPassword: boolean;
  tokensPerDay: number | null;
  createdAt: string;
  lastSeenAt: string | null;
}

export interface TokenView {
  device: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

/** A live token of an enabled user, as the gateways keep it in memory. */
export interface Credential {
  hash: string;
  tokenId: number;
  userId: number;
  user: string;
  role: Role;
  tokensPerDay: number | null;
}

export interface UsageRecord {
  requestKey: string;
  user: string;
  model: string;
  outcome: 'done' | 'error' | 'cancelled';
  promptTokens: number;
  completionTokens: number;
  estimated: boolean;
  durationMs: number;
}

export interface UsageRow {
  user: string;
  model: string;
  /** YYYY-MM-DD, UTC. */
  day: string;
  requests: number;
  promptTokens: number;
  completionTokens: number;
  /** Tokens among these that were estimated (the provider gave no usage). */
  estimatedTokens: number;
}

export const USER_NAME = /^[A-Za-z0-9._@-]{1,64}$/;
export const DEVICE_NAME = /^[A-Za-z0-9._@ -]{1,64}$/;

const iso = (date: Date | string | null): string | null =>
  date === null ? null : new Date(date).toISOString();

function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: string }).code === '23505';
}

export type AccountStore = ReturnType<typeof createAccountStore>;

async function insertUsage(executor: Kysely<Tables>, record: UsageRecord): Promise<void> {
  await executor
    .insertInto('usage_records')
    .values({
      request_key: record.requestKey,
      user_name: record.user,
      model: record.model,
      outcome: record.outcome,
      prompt_tokens: record.promptTokens,
      completion_tokens: record.completionTokens,
      estimated: record.estimated,
      duration_ms: record.durationMs,
    })
    .onConflict((conflict) => conflict.column('request_key').doNothing())
    .execute();
}

export function createAccountStore(db: Kysely<Tables>) {
  async function userId(name: string): Promise<number> {
    const row = await db.selectFrom('users').select('id').where('name', '=', name).executeTakeFirst();
    if (row === undefined) throw new AccountError('not_found', `no user "${name}"`);
    return row.id;
  }

  /** Live tokens of enabled users: all of them, or the one with `hash`. */
  async function liveCredentials(hash?: string): Promise<Credential[]> {
    let query = db
      .selectFrom('device_tokens')
      .innerJoin('users', 'users.id', 'device_tokens.user_id')
      .select([
        'device_tokens.token_hash',
        'device_tokens.id as token_id',
        'users.id as user_id',
        'users.name',
        'users.role',
        'users.tokens_per_day',
      ])
      .where('device_tokens.revoked_at', 'is', null)
      .where('users.disabled', '=', false);
    if (hash !== undefined) query = query.where('device_tokens.token_hash', '=', hash);
    const rows = await query.execute();
    return rows.map((row) => ({
      hash: row.token_hash,
      tokenId: row.token_id,
      userId: row.user_id,
      user: row.name,
      role: row.role,
      tokensPerDay: row.tokens_per_day === null ? null : Number(row.tokens_per_day),
    }));
  }

  return {
    async listUsers(): Promise<UserView[]> {
      const rows = await db.selectFrom('users').selectAll().orderBy('name').execute();
      return rows.map((row) => ({
        name: row.name,
        role: row.role,
        disabled: row.disabled,
        hasPassword: row.password_hash !== null,
        tokensPerDay: row.tokens_per_day === null ? null : Number(row.tokens_per_day),
        createdAt: iso(row.created_at)!,
        lastSeenAt: iso(row.last_seen_at),
      }));
    },

    async addUser(name: string, role: Role, passwordHash?: string): Promise<void> {
      if (!USER_NAME.test(name))
        throw new AccountError('bad_request', 'a user name is 1-64 letters, digits, . _ @ -');
      try {
        await db
          .insertInto('users')
          .values({ name, role, password_hash: passwordHash ?? null })
          .execute();
      } catch (error) {
        if (isUniqueViolation(error)) throw new AccountError('conflict', `user "${name}" exists already`);
        throw error;
      }
    },

    async setDisabled(name: string, disabled: boolean): Promise<void> {
      const result = await db
        .updateTable('users')
        .set({ disabled })
        .where('name', '=', name)
        .executeTakeFirst();
      if (result.numUpdatedRows === 0n) throw new AccountError('not_found', `no user "${name}"`);
    },

    /**
     * Deletes a user. The row takes with it, by the database's ON DELETE CASCADE, their device tokens, history
     * cursor, conversations and messages; their usage records stay (kept by name, see migration 1). Returns what
     * went with it. The row is locked first, so a message being recorded meanwhile either commits before (and is
     * counted and deleted) or fails on the missing user.
     */
    async deleteUser(
      name: string,
    ): Promise<{ deviceTokens: number; conversations: number; messages: number }> {
      return db.transaction().execute(async (transaction) => {
        const row = await transaction
          .selectFrom('users')
          .select('id')
          .where('name', '=', name)
          .forUpdate()
          .executeTakeFirst();
        if (row === undefined) throw new AccountError('not_found', `no user "${name}"`);
        const { rows } = await sql<{ device_tokens: string; conversations: string; messages: string }>`
          SELECT (SELECT count(*) FROM device_tokens WHERE user_id = ${row.id}) AS device_tokens,
            (SELECT count(*) FROM conversations WHERE user_id = ${row.id} AND deleted_at IS NULL) AS conversations,
            (SELECT count(*) FROM conversation_messages WHERE user_id = ${row.id}) AS messages`.execute(
          transaction,
        );
        await transaction.deleteFrom('users').where('id', '=', row.id).execute();
        const counts = rows[0]!;
        return {
          deviceTokens: Number(counts.device_tokens),
          conversations: Number(counts.conversations),
          messages: Number(counts.messages),
        };
      });
    },

    async setQuota(name: string, tokensPerDay: number | null): Promise<void> {
      const result = await db
        .updateTable('users')
        .set({ tokens_per_day: tokensPerDay })
        .where('name', '=', name)
        .executeTakeFirst();
      if (result.numUpdatedRows === 0n) throw new AccountError('not_found', `no user "${name}"`);
    },

    /** Sets (or, with null, removes) a user's password hash (password.ts). */
    async setPassword(name: string, passwordHash: string | null): Promise<void> {
      const result = await db
        .updateTable('users')
        .set({ password_hash: passwordHash })
        .where('name', '=', name)
        .executeTakeFirst();
      if (result.numUpdatedRows === 0n) throw new AccountError('not_found', `no user "${name}"`);
    },

    /** What a sign-in with a password needs to know of a user; undefined when there is no such user. */
    async passwordOf(name: string): Promise<{ passwordHash: string | null; disabled: boolean } | undefined> {
      const row = await db
        .selectFrom('users')
        .select(['password_hash', 'disabled'])
        .where('name', '=', name)
        .executeTakeFirst();
      return row === undefined ? undefined : { passwordHash: row.password_hash, disabled: row.disabled };
    },

    /**
     * Mints a token for the device, revoking the live one of the same name first (the same browser signing in again):
     * both in one transaction. Returns the token: the only time it is ever readable.
     */
    async replaceToken(name: string, device: string): Promise<string> {
      if (!DEVICE_NAME.test(device))
        throw new AccountError('bad_request', 'a device name is 1-64 letters, digits, spaces, . _ @ -');
      const id = await userId(name);
      const token = newDeviceToken();
      try {
        await db.transaction().execute(async (transaction) => {
          await transaction
            .updateTable('device_tokens')
            .set({ revoked_at: new Date() })
            .where('user_id', '=', id)
            .where('device', '=', device)
            .where('revoked_at', 'is', null)
            .execute();
          await transaction
            .insertInto('device_tokens')
            .values({ user_id: id, device, token_hash: tokenHash(token) })
            .execute();
        });
      } catch (error) {
        if (isUniqueViolation(error))
          throw new AccountError('conflict', `device "${device}" is signing in twice at once: try again`);
        throw error;
      }
      return token;
    },

    /** Mints a token for the device and returns it: the only time it is ever readable. */
    async createToken(name: string, device: string): Promise<string> {
      if (!DEVICE_NAME.test(device))
        throw new AccountError('bad_request', 'a device name is 1-64 letters, digits, spaces, . _ @ -');
      const id = await userId(name);
      const token = newDeviceToken();
      try {
        await db
          .insertInto('device_tokens')
          .values({ user_id: id, device, token_hash: tokenHash(token) })
          .execute();
      } catch (error) {
        if (isUniqueViolation(error))
          throw new AccountError(
            'conflict',
            `user "${name}" has a token for device "${device}" already: revoke it first`,
          );
        throw error;
      }
      return token;
    },

    async listTokens(name: string): Promise<TokenView[]> {
      const id = await userId(name);
      const rows = await db
        .selectFrom('device_tokens')
        .select(['device', 'created_at', 'last_used_at', 'revoked_at'])
        .where('user_id', '=', id)
        .orderBy('created_at')
        .execute();
      return rows.map((row) => ({
        device: row.device,
        createdAt: iso(row.created_at)!,
        lastUsedAt: iso(row.last_used_at),
        revokedAt: iso(row.revoked_at),
      }));
    },

    async revokeToken(name: string, device: string): Promise<void> {
      const id = await userId(name);
      const result = await db
        .updateTable('device_tokens')
        .set({ revoked_at: new Date() })
        .where('user_id', '=', id)
        .where('device', '=', device)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      if (result.numUpdatedRows === 0n)
        throw new AccountError('not_found', `user "${name}" has no live token for device "${device}"`);
    },

    /** Every live token of every enabled user. */
    async credentials(): Promise<Credential[]> {
      return liveCredentials();
    },

    /** The live token of an enabled user with this hash, if there is one (a token minted since the last reload). */
    async credentialOf(hash: string): Promise<Credential | undefined> {
      return (await liveCredentials(hash))[0];
    },

    /** Marks tokens (and their users) as used now. */
    async touch(tokenIds: number[], userIds: number[]): Promise<void> {
      const now = new Date();
      if (tokenIds.length > 0)
        await db
          .updateTable('device_tokens')
          .set({ last_used_at: now })
          .where('id', 'in', tokenIds)
          .execute();
      if (userIds.length > 0)
        await db.updateTable('users').set({ last_seen_at: now }).where('id', 'in', userIds).execute();
    },

    /**
     * Records a generation's usage once: a second record of the same request is ignored. `alongside` runs in the
     * same transaction (the answer's history record).
     */
    async recordUsage(
      record: UsageRecord,
      alongside?: (transaction: Transaction<Tables>) => Promise<void>,
    ): Promise<void> {
      if (alongside !== undefined) {
        await db.transaction().execute(async (transaction) => {
          await insertUsage(transaction, record);
          await alongside(transaction);
        });
        return;
      }
      await insertUsage(db, record);
    },

    /** Tokens (prompt and completion) the user spent since `since`. */
    async tokensSince(user: string, since: Date): Promise<number> {
      const row = await db
        .selectFrom('usage_records')
        .select((eb) =>
          eb.fn
            .coalesce(eb.fn.sum<string>(eb('prompt_tokens', '+', eb.ref('completion_tokens'))), eb.lit(0))
            .as('total'),
        )
        .where('user_name', '=', user)
        .where('created_at', '>=', since)
        .executeTakeFirstOrThrow();
      return Number(row.total);
    },

    /** Usage per user, model and UTC day since `since`, newest day first. */
    async usage(options: { since: Date; user?: string }): Promise<UsageRow[]> {
      let query = db
        .selectFrom('usage_records')
        .select((eb) => [
          'user_name',
          'model',
          sql<string>`to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')`.as('day'),
          eb.fn.countAll<string>().as('requests'),
          eb.fn.sum<string>('prompt_tokens').as('prompt_tokens'),
          eb.fn.sum<string>('completion_tokens').as('completion_tokens'),
          eb.fn
            .sum<string>(
              eb
                .case()
                .when('estimated', '=', true)
                .then(eb('prompt_tokens', '+', eb.ref('completion_tokens')))
                .else(0)
                .end(),
            )
            .as('estimated_tokens'),
        ])
        .where('created_at', '>=', options.since);
      if (options.user !== undefined) query = query.where('user_name', '=', options.user);
      const rows = await query
        .groupBy(['user_name', 'model', 'day'])
        .orderBy('day', 'desc')
        .orderBy('user_name')
        .orderBy('model')
        .execute();
      return rows.map((row) => ({
        user: row.user_name,
        model: row.model,
        day: row.day,
        requests: Number(row.requests),
        promptTokens: Number(row.prompt_tokens),
        completionTokens: Number(row.completion_tokens),
        estimatedTokens: Number(row.estimated_tokens),
      }));
    },
  };
}
