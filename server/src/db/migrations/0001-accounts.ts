// Migration 1: users, their device tokens, and the usage of every generation. Released: never edit, add a new one.
export default [
  `CREATE TABLE users (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL UNIQUE,
    role text NOT NULL DEFAULT 'user' CHECK (role IN ('admin', 'user')),
    disabled boolean NOT NULL DEFAULT false,
    password_hash text,
    tokens_per_day bigint CHECK (tokens_per_day > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz
  )`,
  `CREATE TABLE device_tokens (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id integer NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    device text NOT NULL,
    token_hash text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at timestamptz
  )`,
  // One live token per device name; revoked ones stay, for the record.
  'CREATE UNIQUE INDEX device_tokens_live_device ON device_tokens (user_id, device) WHERE revoked_at IS NULL',
  // By user name, not id: users of AUTH_TOKENS have no row, and a record outlives a renamed or deleted account.
  `CREATE TABLE usage_records (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_key text NOT NULL UNIQUE,
    user_name text NOT NULL,
    model text NOT NULL,
    outcome text NOT NULL CHECK (outcome IN ('done', 'error', 'cancelled')),
    prompt_tokens integer NOT NULL,
    completion_tokens integer NOT NULL,
    estimated boolean NOT NULL,
    duration_ms integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
  )`,
  'CREATE INDEX usage_records_user_time ON usage_records (user_name, created_at)',
  'CREATE INDEX usage_records_time ON usage_records (created_at)',
];
