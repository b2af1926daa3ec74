// The tables as Kysely sees them: the types of migrations/*.ts, written once here for the query layer.
import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export interface UsersTable {
  id: Generated<number>;
  name: string;
  role: ColumnType<'admin' | 'user', 'admin' | 'user' | undefined, 'admin' | 'user'>;
  disabled: ColumnType<boolean, boolean | undefined, boolean>;
  password_hash: string | null;
  /** bigint: the drivers hand it back as a string. */
  tokens_per_day: ColumnType<string | null, number | null | undefined, number | null>;
  created_at: Generated<Date>;
  last_seen_at: Timestamp | null;
}

export interface DeviceTokensTable {
  id: Generated<number>;
  user_id: number;
  device: string;
  token_hash: string;
  created_at: Generated<Date>;
  last_used_at: Timestamp | null;
  revoked_at: Timestamp | null;
}

export interface UsageRecordsTable {
  id: Generated<string>;
  request_key: string;
  user_name: string;
  model: string;
  outcome: 'done' | 'error' | 'cancelled';
  prompt_tokens: number;
  completion_tokens: number;
  estimated: boolean;
  duration_ms: number;
  created_at: Generated<Date>;
}

export interface HistoryCursorsTable {
  user_id: number;
  /** bigint: a string from the drivers. */
  seq: ColumnType<string, number, number>;
}

export interface ConversationsTable {
  id: Generated<string>;
  user_id: number;
  client_id: string;
  title: ColumnType<string, string | undefined, string>;
  model: string | null;
  system_prompt: string | null;
  created_at: Generated<Date>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
  deleted_at: Timestamp | null;
  change_seq: ColumnType<string, number, number>;
  cleared_seq: ColumnType<string, number | undefined, number>;
}

export interface ConversationMessagesTable {
  id: Generated<string>;
  conversation_id: string;
  user_id: number;
  request_id: string;
  role: 'user' | 'assistant';
  content: string;
  reasoning: string | null;
  /** jsonb: written as JSON text, read back as a value. */
  context: ColumnType<unknown, string | null, string | null>;
  attachments: ColumnType<unknown, string | null, string | null>;
  status: 'sent' | 'done' | 'error' | 'cancelled';
  model: string | null;
  finish_reason: string | null;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  estimated: boolean | null;
  error_code: string | null;
  error_message: string | null;
  change_seq: ColumnType<string, number, number>;
  created_at: Generated<Date>;
}

export interface SchemaMigrationsTable {
  version: number;
  name: string;
  applied_at: Generated<Date>;
}

export interface Tables {
  users: UsersTable;
  device_tokens: DeviceTokensTable;
  usage_records: UsageRecordsTable;
  history_cursors: HistoryCursorsTable;
  conversations: ConversationsTable;
  conversation_messages: ConversationMessagesTable;
  schema_migrations: SchemaMigrationsTable;
}
