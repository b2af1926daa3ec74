// HistorySync on a real store (fake-indexeddb) against a fake server history that answers as the gateway does.
// Over 250 lines: that fake (seqs, pages of two, tombstones, clears, renames) is a third of it.
import 'fake-indexeddb/auto';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HistoryConversation, HistoryMessage } from '@chrome-plus/protocol';
import { ConversationStore } from '../store/conversation-store.ts';
import { SyncStore } from '../store/sync-store.ts';
import type { AssistantMessage, UserMessage } from '../store/types.ts';
import type { HistoryChannel, HistoryReply } from './history-channel.ts';
import { HistorySync } from './history-sync.ts';

type Request = Parameters<HistoryChannel['request']>[0];

/** The server's history of one user, as the gateway answers its frames (seqs, tombstones, clears). */
class FakeHistory {
  seq = 0;
  readonly conversations = new Map<string, { summary: HistoryConversation; messages: HistoryMessage[] }>();
  readonly asked: Request[] = [];
  /** Answer every frame with `not_found` (a user without server history). */
  none = false;
  /** Answer nothing (the socket is gone). */
  away = false;

  say(conversationId: string, requestId: string, role: 'user' | 'assistant', content: string): void {
    this.seq += 1;
    const entry = this.conversations.get(conversationId) ?? {
      summary: {
        id: conversationId,
        seq: 0,
        title: content,
        clearedSeq: 0,
        createdAt: new Date().toISOString(),
      },
      messages: [],
    };
    entry.summary = { ...entry.summary, seq: this.seq, updatedAt: new Date().toISOString() };
    entry.messages.push({
      requestId,
      role,
      content,
      seq: this.seq,
      createdAt: new Date(Date.now() + this.seq).toISOString(),
      status: role === 'user' ? 'sent' : 'done',
    });
    this.conversations.set(conversationId, entry);
  }

  change(conversationId: string, kind: 'rename' | 'delete' | 'clear', title = ''): number {
    const entry = this.conversations.get(conversationId);
    if (!entry) throw new Error(`no ${conversationId}`);
    this.seq += 1;
    if (kind === 'rename') entry.summary = { ...entry.summary, title, seq: this.seq };
    if (kind === 'clear') {
      entry.messages = [];
      entry.summary = { ...entry.summary, seq: this.seq, clearedSeq: this.seq };
    }
    if (kind === 'delete') {
      entry.messages = [];
      entry.summary = {
        id: conversationId,
        seq: this.seq,
        deleted: true,
        deletedAt: new Date().toISOString(),
      };
    }
    return this.seq;
  }

  readonly channel = {
    request: async (frame: Request): Promise<HistoryReply> => {
      if (this.away) throw new Error('not connected');
      this.asked.push(frame);
      if (this.none) return { type: 'history.error', code: 'not_found', message: 'no server history' };
      switch (frame.type) {
        case 'history.list': {
          const changed = [...this.conversations.values()]
            .map((entry) => entry.summary)
            .filter((summary) => summary.seq > frame.after)
            .sort((left, right) => left.seq - right.seq);
          const page = changed.slice(0, 2);
          const cursor = page.at(-1)?.seq ?? Math.max(frame.after, this.seq);
          return { type: 'history.changes', conversations: page, cursor, more: changed.length > 2 };
        }
        case 'history.get': {
          const entry = this.conversations.get(frame.conversationId);
          if (!entry || entry.summary.deleted)
            return { type: 'history.error', code: 'not_found', message: 'no such conversation' };
          const messages = entry.messages.filter((message) => message.seq > (frame.after ?? 0));
          return { type: 'history.conversation', conversation: entry.summary, messages };
        }
        default: {
          const kind =
            frame.type === 'history.rename' ? 'rename' : frame.type === 'history.delete' ? 'delete' : 'clear';
          const title = frame.type === 'history.rename' ? frame.title : '';
          const seq = this.change(frame.conversationId, kind, title);
          return { type: 'history.saved', conversationId: frame.conversationId, seq };
        }
      }
    },
  };
}

let databases = 0;

async function startSync(fake: FakeHistory) {
  databases += 1;
  const store = await ConversationStore.open(indexedDB, `history-sync-test-${process.pid}-${databases}`);
  const syncStore = new SyncStore(store.database);
  const followed: AssistantMessage[] = [];
  const dropped: string[] = [];
  const changed: { conversationId: string; removed: boolean }[] = [];
  const errors: unknown[] = [];
  const streaming = new Set<string>();
  const sync = new HistorySync({
    store: syncStore,
    conversations: store,
    channel: fake.channel,
    answers: {
      isStreaming: (requestId) => streaming.has(requestId),
      follow: (message) => {
        followed.push(message);
        streaming.add(message.requestId);
      },
      drop: (conversationId) => dropped.push(conversationId),
    },
    onChanged: (conversationId, removed) => changed.push({ conversationId, removed }),
    now: Date.now,
    onError: (error) => errors.push(error),
  });
  await sync.load();
  const connect = async () => {
    sync.connected('ws://server', 'alice');
    await sync.idle();
  };
  const messagesOf = async (conversationId: string) =>
    (await store.getConversation(conversationId))?.messages.map(
      (message) => `${message.role}:${message.content}`,
    );
  return { store, syncStore, sync, followed, dropped, changed, errors, streaming, connect, messagesOf };
}

test('a fresh copy takes every conversation, page after page, and follows the answer still being written', async () => {
  const fake = new FakeHistory();
  fake.say('c1', 'r1', 'user', 'first question');
  fake.say('c1', 'r1', 'assistant', 'first answer');
  fake.say('c2', 'r2', 'user', 'second question');
  fake.say('c3', 'r3', 'user', 'third question');
  fake.say('c3', 'r3', 'assistant', 'third answer');
  const device = await startSync(fake);
  await device.connect();

  assert.deepEqual(await device.messagesOf('c1'), ['user:first question', 'assistant:first answer']);
  assert.deepEqual(await device.messagesOf('c3'), ['user:third question', 'assistant:third answer']);
  assert.deepEqual(await device.messagesOf('c2'), ['user:second question', 'assistant:']);
  assert.deepEqual(
    device.followed.map((answer) => [answer.requestId, answer.status, answer.lastSeq, answer.remote]),
    [['r2', 'streaming', 0, true]],
    'the unanswered question is followed from its first event',
  );
  assert.equal(device.sync.mode, 'server');
  assert.deepEqual(await device.syncStore.state(), {
    server: 'ws://server',
    user: 'alice',
    cursor: 5,
    mode: 'server',
  });
  assert.equal(fake.asked.filter((frame) => frame.type === 'history.list').length, 2, 'two pages of two');
  assert.deepEqual(device.errors, []);

  // The answer recorded later replaces nothing while it streams here; a new question comes with the next notice.
  fake.say('c2', 'r2', 'assistant', 'second answer');
  fake.say('c1', 'r4', 'user', 'follow-up');
  fake.asked.length = 0;
  device.sync.changed({ type: 'history.changed', conversationId: 'c1', seq: 7, change: 'message' });
  await device.sync.idle();
  assert.deepEqual(fake.asked[0], { type: 'history.list', after: 5 });
  assert.deepEqual(
    await device.messagesOf('c2'),
    ['user:second question', 'assistant:'],
    'still streaming here',
  );
  assert.deepEqual(await device.messagesOf('c1'), [
    'user:first question',
    'assistant:first answer',
    'user:follow-up',
    'assistant:',
  ]);
  assert.deepEqual(
    fake.asked.filter((frame) => frame.type === 'history.get'),
    [
      { type: 'history.get', conversationId: 'c2', after: 3 },
      { type: 'history.get', conversationId: 'c1', after: 2 },
    ],
    'only what is new of each',
  );

  // A notice this copy already has costs nothing.
  fake.asked.length = 0;
  device.sync.changed({ type: 'history.changed', conversationId: 'c1', seq: 7, change: 'message' });
  await device.sync.idle();
  assert.deepEqual(fake.asked, []);

  // Once the stream here ended, the record is what the copy keeps.
  device.streaming.delete('r2');
  fake.change('c2', 'rename', 'Renamed elsewhere');
  device.sync.changed({ type: 'history.changed' });
  await device.sync.idle();
  assert.equal((await device.store.getConversation('c2'))?.conversation.title, 'Renamed elsewhere');
  device.store.close();
});

test('tombstones remove the copy; a clear removes the recorded messages but not what waits to be sent', async () => {
  const fake = new FakeHistory();
  fake.say('keep', 'r1', 'user', 'kept');
  fake.say('keep', 'r1', 'assistant', 'kept answer');
  fake.say('gone', 'r2', 'user', 'doomed');
  fake.say('gone', 'r2', 'assistant', 'doomed answer');
  const device = await startSync(fake);
  await device.connect();

  const waiting: UserMessage = {
    id: 'local-1',
    conversationId: 'keep',
    role: 'user',
    content: 'written offline',
    createdAt: Date.now() - 60_000,
    requestId: 'r9',
    syncState: 'pending',
  };
  await device.store.putMessage(waiting);
  fake.change('gone', 'delete');
  fake.change('keep', 'clear');
  fake.say('keep', 'r3', 'user', 'after the clear');
  fake.say('keep', 'r3', 'assistant', 'new answer');
  await device.connect();

  assert.equal(await device.store.getConversation('gone'), undefined);
  assert.deepEqual(device.dropped, ['gone']);
  assert.ok(device.changed.some((change) => change.conversationId === 'gone' && change.removed));
  assert.deepEqual(await device.messagesOf('keep'), [
    'user:written offline',
    'user:after the clear',
    'assistant:new answer',
  ]);
  assert.deepEqual(
    (await device.syncStore.pendingMessages()).map((message) => message.id),
    ['local-1'],
    'still marked until the server records it',
  );
  assert.equal(await device.syncStore.markRecorded('keep', 'r9').then((message) => message?.id), 'local-1');
  assert.deepEqual(await device.syncStore.pendingMessages(), []);
  device.store.close();
});

test('renames and deletes made offline wait in the outbox and reach the server first on the next connect', async () => {
  const fake = new FakeHistory();
  fake.say('c1', 'r1', 'user', 'one');
  fake.say('c2', 'r2', 'user', 'two');
  const device = await startSync(fake);
  await device.connect();

  fake.away = true;
  device.sync.disconnected();
  await device.sync.rename('c1', 'First title');
  await device.sync.rename('c1', 'Second title');
  await device.sync.delete('c2');
  assert.deepEqual(
    (await device.syncStore.outbox()).map(({ kind, conversationId }) => `${kind} ${conversationId}`),
    ['rename c1', 'delete c2'],
    'only the last rename of a conversation is kept',
  );

  fake.away = false;
  fake.asked.length = 0;
  await device.connect();
  assert.deepEqual(
    fake.asked.slice(0, 3).map((frame) => frame.type),
    ['history.list', 'history.rename', 'history.delete'],
  );
  assert.deepEqual(await device.syncStore.outbox(), []);
  assert.equal(fake.conversations.get('c1')?.summary.title, 'Second title');
  assert.equal(fake.conversations.get('c2')?.summary.deleted, true);
  device.store.close();
});

test('a user without server history keeps a local copy: nothing is listed again, nothing queued', async () => {
  const fake = new FakeHistory();
  fake.none = true;
  const device = await startSync(fake);
  await device.connect();
  assert.equal(device.sync.mode, 'local');
  await device.sync.rename('c1', 'title');
  await device.sync.delete('c1');
  assert.deepEqual(await device.syncStore.outbox(), []);
  assert.deepEqual(
    fake.asked.map((frame) => frame.type),
    ['history.list'],
    'one question, answered not_found',
  );
  device.store.close();
});
