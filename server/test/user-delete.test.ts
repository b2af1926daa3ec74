// `npm run admin -- users delete NAME --yes` on a real PostgreSQL and Redis (two gateways and a worker in this process,
// one database): the user's conversations, messages, device tokens and history cursor go with their row, their open
// sockets close with 4401 on both gateways within seconds, `export NAME` answers not found, their token no longer
// signs in; another user's history is untouched. Without --yes it refuses (exit 2) and deletes nothing.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CloseCode, type HistoryChangesFrame, type ServerFrame } from '@chrome-plus/protocol';
import { testPrefix, until } from '@chrome-plus/testkit';
import { sql } from 'kysely';
import { runAdmin } from '../src/cli/admin-command.ts';
import type { Database } from '../src/db/database.ts';
import { type AccountsStack, startAccountsStack } from './accounts-stack.ts';
import { chatSend, TestClient } from './harness.ts';

const ADMIN_TOKEN = 'admin-token-for-user-delete-tests';

describe('deleting a user', () => {
  const prefix = testPrefix('userdel');
  let stack: AccountsStack;
  let database: Database;
  let urls: string[] = [];
  let tokens: Record<string, string> = {};
  const clients: TestClient[] = [];

  async function admin(args: string[]): Promise<{ code: number; out: string; err: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runAdmin(args, {
      env: { CHROME_PLUS_URL: urls[0]!, ADMIN_TOKEN },
      fetch: globalThis.fetch,
      out: (line) => out.push(line),
      err: (line) => err.push(line),
    });
    return { code, out: out.join('\n'), err: err.join('\n') };
  }

  /** Rows of the user (by id, which outlives the name) in each table their row cascades to. */
  async function rowsOf(userId: number): Promise<Record<string, number>> {
    const { rows } = await sql<Record<string, string>>`SELECT
      (SELECT count(*) FROM device_tokens WHERE user_id = ${userId}) AS device_tokens,
      (SELECT count(*) FROM history_cursors WHERE user_id = ${userId}) AS history_cursors,
      (SELECT count(*) FROM conversations WHERE user_id = ${userId}) AS conversations,
      (SELECT count(*) FROM conversation_messages WHERE user_id = ${userId}) AS messages`.execute(
      database.db,
    );
    return Object.fromEntries(Object.entries(rows[0]!).map(([table, count]) => [table, Number(count)]));
  }

  async function userId(name: string): Promise<number> {
    const row = await database.db
      .selectFrom('users')
      .select('id')
      .where('name', '=', name)
      .executeTakeFirstOrThrow();
    return row.id;
  }

  /** Two conversations of two messages each (a question and its answer), recorded through the real path. */
  async function converse(token: string, user: string): Promise<void> {
    const client = await TestClient.open(urls[0]!, token);
    clients.push(client);
    for (const conversation of ['a', 'b']) {
      const id = `${user}-${conversation}`;
      client.send(chatSend(id, `hello from ${user}`, { conversationId: `conv-${id}` }));
      await client.untilEnd(id);
    }
    client.close();
    // The worker records each answer after its last event has gone out: wait for both.
    const id = await userId(user);
    await until(async () => (await rowsOf(id)).messages === 4, {
      timeoutMs: 10_000,
      what: 'the answers recorded',
    });
  }

  before(async () => {
    stack = await startAccountsStack({
      name: 'userdelete',
      prefix,
      devices: { daveLaptop: ['dave', 'laptop'], daveDesktop: ['dave', 'desktop'], erin: ['erin', 'laptop'] },
      env: { AUTH_TOKENS: 'frank:frank-token-from-env', ADMIN_TOKEN },
    });
    ({ database, urls, tokens } = stack);
    await converse(tokens.daveLaptop!, 'dave');
    await converse(tokens.erin!, 'erin');
  });

  after(async () => {
    for (const client of clients) client.close();
    await stack?.close();
  });

  test('without --yes it refuses with exit 2 and deletes nothing', async () => {
    const refused = await admin(['users', 'delete', 'dave']);
    assert.equal(refused.code, 2);
    assert.match(refused.err, /^admin: users delete removes dave .* add --yes/);
    assert.equal(refused.err.split('\n').length, 1);
    const rows = await rowsOf(await userId('dave'));
    assert.deepEqual(rows, { device_tokens: 2, history_cursors: 1, conversations: 2, messages: 4 });
  });

  test('users delete NAME --yes takes their history and tokens, closes their sockets, leaves others alone', async () => {
    const id = await userId('dave');
    const erinBefore = await rowsOf(await userId('erin'));
    assert.deepEqual(erinBefore, { device_tokens: 1, history_cursors: 1, conversations: 2, messages: 4 });
    const sockets = [
      await TestClient.open(urls[0]!, tokens.daveLaptop),
      await TestClient.open(urls[1]!, tokens.daveDesktop),
    ];
    clients.push(...sockets);

    const started = Date.now();
    const deleted = await admin(['users', 'delete', 'dave', '--yes']);
    assert.equal(deleted.code, 0, deleted.err);
    assert.match(deleted.out, /^deleted dave with 2 device tokens, 2 conversations and 4 messages/);
    for (const socket of sockets) assert.equal((await socket.closed).code, CloseCode.unauthorized);
    assert.ok(Date.now() - started < 5_000, `closed after ${Date.now() - started} ms`);

    assert.deepEqual(await rowsOf(id), {
      device_tokens: 0,
      history_cursors: 0,
      conversations: 0,
      messages: 0,
    });
    assert.deepEqual(await rowsOf(await userId('erin')), erinBefore);
    const listed = await admin(['users', 'list', '--json']);
    assert.ok(!(JSON.parse(listed.out) as { name: string }[]).some((user) => user.name === 'dave'));

    const exported = await admin(['export', 'dave']);
    assert.equal(exported.code, 1);
    assert.match(exported.err, /refused \(404\): no user "dave"/);
    for (const url of urls)
      await assert.rejects(TestClient.open(url, tokens.daveLaptop), /socket closed|timed out/);

    // Erin's history still syncs.
    const erin = await TestClient.open(urls[1]!, tokens.erin);
    clients.push(erin);
    erin.send({ type: 'history.list', ref: 'erin', after: 0 });
    const page = (await erin.next(
      (frame: ServerFrame) => frame.type === 'history.changes',
      5_000,
    )) as HistoryChangesFrame;
    assert.deepEqual(page.conversations.map((conversation) => conversation.id).sort(), [
      'conv-erin-a',
      'conv-erin-b',
    ]);
  });

  test('deleting an unknown user or an AUTH_TOKENS user is refused with exit 1', async () => {
    const again = await admin(['users', 'delete', 'dave', '--yes']);
    assert.equal(again.code, 1);
    assert.match(again.err, /refused \(404\): no user "dave"/);
    const fromEnvironment = await admin(['users', 'delete', 'frank', '--yes']);
    assert.equal(fromEnvironment.code, 1);
    assert.match(fromEnvironment.err, /refused \(409\): user "frank" is defined by AUTH_TOKENS/);
    const frank = await TestClient.open(urls[0]!, 'frank-token-from-env');
    clients.push(frank);
  });
});
