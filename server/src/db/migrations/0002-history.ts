// Migration 2: conversations and their messages, kept for users with an account (issue 17), and each user's change
// sequence, the cursor of sync. Released: never edit, add a new one.
export default [
  // One row per user, locked by every change of theirs (UPDATE ... RETURNING): a user's changes take their seqs in
  // the order they commit, so a client that read up to a cursor can never miss a change committed below it later.
  `CREATE TABLE history_cursors (
    user_id integer PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    seq bigint NOT NULL
  )`,
  // client_id: the conversation id the client chose (ids are per user, as request ids are). A deleted conversation
  // stays as a tombstone (deleted_at, change_seq; no title, no messages) so that other devices learn of the deletion.
  `CREATE TABLE conversations (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id integer NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id text NOT NULL,
    title text NOT NULL DEFAULT '',
    model text,
    system_prompt text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz,
    change_seq bigint NOT NULL,
    cleared_seq bigint NOT NULL DEFAULT 0,
    UNIQUE (user_id, client_id)
  )`,
  'CREATE INDEX conversations_changes ON conversations (user_id, change_seq)',
  // A user message (recorded by the gateway when it accepts chat.send) and its answer (recorded by the worker when
  // the answer ends, in the transaction of its usage) share request_id.
  `CREATE TABLE conversation_messages (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation_id bigint NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id integer NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    request_id text NOT NULL,
    role text NOT NULL CHECK (role IN ('user', 'assistant')),
    content text NOT NULL,
    reasoning text,
    context jsonb,
    attachments jsonb,
    status text NOT NULL CHECK (status IN ('sent', 'done', 'error', 'cancelled')),
    model text,
    finish_reason text,
    prompt_tokens integer,
    completion_tokens integer,
    estimated boolean,
    error_code text,
    error_message text,
    change_seq bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, request_id, role)
  )`,
  'CREATE INDEX conversation_messages_order ON conversation_messages (conversation_id, change_seq)',
];
