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

export interface SchemaMigrationsTable {
  version: number;
  name: string;
  applied_at: Generated<Date>;
}

export interface Tables {
  users: UsersTable;
  device_tokens: DeviceTokensTable;
  usage_records: UsageRecordsTable;
  schema_migrations: SchemaMigrationsTable;
}
