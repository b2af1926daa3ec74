// The sync benchmark's data: a heavy user's conversations and messages written by bulk SQL into a database that the
// real gateway has migrated (so the schema is the server's own), and the query plans of what sync reads.
import pg from 'pg';

export interface SeedShape {
  conversations: number;
  messagesPerConversation: number;
}

export interface SeedFigures {
  conversations: number;
  messages: number;
  /** Characters of all message contents, and the database's size after the seed. */
  contentCharacters: number;
  databaseMb: number;
  seconds: number;
}

export interface QueryPlan {
  query: string;
  /** EXPLAIN (ANALYZE, BUFFERS) as PostgreSQL prints it. */
  plan: string[];
  /** Its nodes, outermost first: `Limit > Index Scan using conversations_changes on conversations`. */
  nodes: string;
  executionMs: number;
}

/** The node lines of a plan without their costs and details. */
function nodesOf(plan: string[]): string {
  return plan
    .filter((line, index) => index === 0 || line.trimStart().startsWith('->'))
    .map((line) => line.replace(/^\s*(->\s*)?/, '').replace(/\s+\(cost=.*$/, ''))
    .join(' > ');
}

async function withClient<T>(url: string, action: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await action(client);
  } finally {
    await client.end();
  }
}

// A sentence long enough to cut any message from; lengths vary per message (hashtext), so pages are not uniform.
const TEXT = 'The quick brown fox jumps over the lazy dog, then reads the page again. ';

/**
 * Writes `shape` for the user: conversation i holds messages i*M-M+1 … i*M in seq order (a question and its answer
 * in turn, the answer's request id that of its question), the conversation's seq is its last message's, the cursor
 * the last seq. Questions are 40-400 characters (one in ten with a page context of 500), answers 200-1,800.
 */
export async function seedHistory(url: string, user: string, shape: SeedShape): Promise<SeedFigures> {
  const started = performance.now();
  const { conversations: count, messagesPerConversation: perConversation } = shape;
  return withClient(url, async (client) => {
    const found = await client.query<{ id: number }>('SELECT id FROM users WHERE name = $1', [user]);
    const userId = found.rows[0]?.id;
    if (userId === undefined) throw new Error(`seed: no user "${user}"`);
    await client.query('BEGIN');
    await client.query(
      `INSERT INTO conversations (user_id, client_id, title, model, system_prompt, created_at, updated_at, change_seq)
       SELECT $1, 'conv-' || lpad(i::text, 6, '0'),
         'Conversation ' || i || ': ' || left($4, 20 + abs(hashtext(i::text)) % 50), 'bench-model',
         CASE WHEN i % 5 = 0 THEN 'You are a concise assistant. Answer in the language of the question.' END,
         now() - make_interval(mins => ($2 - i) * 60), now() - make_interval(mins => ($2 - i) * 60 - 30), i * $3
       FROM generate_series(1, $2::int) AS i`,
      [userId, count, perConversation, TEXT],
    );
    await client.query(
      `INSERT INTO conversation_messages (conversation_id, user_id, request_id, role, content, context, status,
         model, finish_reason, prompt_tokens, completion_tokens, estimated, change_seq, created_at)
       SELECT c.id, $1, 'req-' || c.client_id || '-' || (j / 2),
         CASE WHEN j % 2 = 0 THEN 'user' ELSE 'assistant' END,
         left(repeat($3, 30), CASE WHEN j % 2 = 0 THEN 40 + abs(h) % 361 ELSE 200 + abs(h) % 1601 END),
         CASE WHEN j % 20 = 0 THEN jsonb_build_object('kind', 'page', 'title', 'A page of ' || c.client_id,
           'url', 'https://example.com/articles/' || c.client_id, 'text', left(repeat($3, 10), 500),
           'totalCharacters', 5000) END,
         CASE WHEN j % 2 = 0 THEN 'sent' ELSE 'done' END, 'bench-model',
         CASE WHEN j % 2 = 1 THEN 'stop' END,
         CASE WHEN j % 2 = 1 THEN 100 + abs(h) % 900 END, CASE WHEN j % 2 = 1 THEN 50 + abs(h) % 400 END,
         CASE WHEN j % 2 = 1 THEN false END,
         c.change_seq - $2 + 1 + j, c.created_at + make_interval(secs => j * 60)
       FROM conversations c CROSS JOIN generate_series(0, $2::int - 1) AS j
       CROSS JOIN LATERAL (SELECT hashtext(c.client_id || ':' || j) AS h) AS hashed
       WHERE c.user_id = $1`,
      [userId, perConversation, TEXT],
    );
    await client.query(
      `INSERT INTO history_cursors (user_id, seq) VALUES ($1, $2)
       ON CONFLICT (user_id) DO UPDATE SET seq = excluded.seq`,
      [userId, count * perConversation],
    );
    await client.query('COMMIT');
    // As autovacuum would after a while: the planner's statistics of a database that grew over months.
    await client.query('ANALYZE conversations, conversation_messages');
    const sizes = await client.query<{ messages: string; characters: string; bytes: string }>(
      `SELECT count(*) AS messages, sum(length(content)) AS characters, pg_database_size(current_database()) AS bytes
       FROM conversation_messages WHERE user_id = $1`,
      [userId],
    );
    const row = sizes.rows[0]!;
    return {
      conversations: count,
      messages: Number(row.messages),
      contentCharacters: Number(row.characters),
      databaseMb: Math.round(Number(row.bytes) / 1_048_576),
      seconds: Math.round((performance.now() - started) / 100) / 10,
    };
  });
}

/** The server processes serving this database now (the gateway's and worker's pooled connections). */
export async function backendPids(url: string): Promise<number[]> {
  return withClient(url, async (client) => {
    const result = await client.query<{ pid: number }>(
      'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
    );
    return result.rows.map((row) => row.pid);
  });
}

/** The plans of sync's queries for the user, as history-store.ts asks them (a list page; one conversation). */
export async function explainSync(url: string, user: string): Promise<QueryPlan[]> {
  return withClient(url, async (client) => {
    const found = await client.query<{ id: number; seq: string }>(
      'SELECT u.id, h.seq FROM users u JOIN history_cursors h ON h.user_id = u.id WHERE u.name = $1',
      [user],
    );
    const { id: userId, seq } = found.rows[0]!;
    const middle = await client.query<{ id: string; client_id: string }>(
      'SELECT id, client_id FROM conversations WHERE user_id = $1 ORDER BY change_seq LIMIT 1 OFFSET $2',
      [userId, Math.floor(Number(seq) / 40)],
    );
    const conversation = middle.rows[0]!;
    const queries: [string, string, unknown[]][] = [
      [
        'history.list, first page',
        'SELECT * FROM conversations WHERE user_id = $1 AND change_seq > $2 ORDER BY change_seq LIMIT 501',
        [userId, '0'],
      ],
      [
        'history.list, a page from the middle',
        'SELECT * FROM conversations WHERE user_id = $1 AND change_seq > $2 ORDER BY change_seq LIMIT 501',
        [userId, String(Math.floor(Number(seq) / 2))],
      ],
      [
        'history.get: the conversation',
        'SELECT * FROM conversations WHERE user_id = $1 AND client_id = $2',
        [userId, conversation.client_id],
      ],
      [
        'history.get: its messages',
        'SELECT * FROM conversation_messages WHERE conversation_id = $1 AND change_seq > $2 ORDER BY change_seq, id',
        [conversation.id, '0'],
      ],
    ];
    const plans: QueryPlan[] = [];
    for (const [name, text, values] of queries) {
      const result = await client.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN (ANALYZE, BUFFERS) ${text}`,
        values,
      );
      const plan = result.rows.map((row) => row['QUERY PLAN']);
      const execution = plan.find((line) => line.startsWith('Execution Time'));
      plans.push({
        query: name,
        plan,
        nodes: nodesOf(plan),
        executionMs: Number(/([\d.]+) ms/.exec(execution ?? '')?.[1] ?? NaN),
      });
    }
    return plans;
  });
}
