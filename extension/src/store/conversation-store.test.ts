import 'fake-indexeddb/auto';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChunkBatcher } from './chunk-batcher.ts';
import { ConversationStore, foldChunks } from './conversation-store.ts';
import type { AssistantMessage } from './types.ts';

let databaseCount = 0;
async function openStore(): Promise<ConversationStore> {
  databaseCount += 1;
  return ConversationStore.open(indexedDB, `test-${process.pid}-${databaseCount}`);
}

function answer(overrides: Partial<AssistantMessage> = {}): AssistantMessage {
  return {
    id: 'm2',
    conversationId: 'c1',
    role: 'assistant',
    content: '',
    reasoning: '',
    createdAt: 2,
    requestId: 'r1',
    status: 'streaming',
    lastSeq: 0,
    request: { messages: [{ role: 'user', content: 'hi' }] },
    ...overrides,
  };
}

test('conversations come back newest first with their messages in order', async () => {
  const store = await openStore();
  await store.putConversation({ id: 'c1', title: 'First', createdAt: 1, updatedAt: 1 });
  await store.putConversation({ id: 'c2', title: 'Second', createdAt: 2, updatedAt: 2 });
  await store.putMessage({ id: 'm1', conversationId: 'c1', role: 'user', content: 'hi', createdAt: 1 }, 10);
  await store.putMessage(answer({ status: 'done', content: 'hello' }), 11);
  assert.deepEqual(
    (await store.listConversations()).map((conversation) => conversation.id),
    ['c1', 'c2'],
    'a new message moves its conversation to the top',
  );
  const loaded = await store.getConversation('c1');
  assert.deepEqual(
    loaded?.messages.map((message) => message.content),
    ['hi', 'hello'],
  );
  await store.deleteConversation('c1');
  assert.equal(await store.getConversation('c1'), undefined);
  store.close();
});

test('a streaming answer is rebuilt from its chunks, restarts included, with the seq to resume from', async () => {
  const store = await openStore();
  await store.putConversation({ id: 'c1', title: 't', createdAt: 1, updatedAt: 1 });
  await store.putMessage(answer());
  const batcher = new ChunkBatcher('m2');
  batcher.add({ type: 'chat.delta', id: 'r1', seq: 1, text: 'wrong ' });
  batcher.add({ type: 'chat.delta', id: 'r1', seq: 2, text: 'start' });
  await store.appendChunk(batcher.take()!);
  batcher.add({ type: 'chat.restart', id: 'r1', seq: 3 });
  batcher.add({ type: 'chat.delta', id: 'r1', seq: 4, text: 'Right ', reasoning: 'hmm' });
  await store.appendChunk(batcher.take()!);
  assert.equal(batcher.take(), undefined, 'nothing new, nothing to write');
  batcher.add({ type: 'chat.delta', id: 'r1', seq: 5, text: 'answer' });
  await store.appendChunk(batcher.take()!);

  const [unfinished] = await store.unfinishedAnswers();
  assert.equal(unfinished?.content, 'Right answer');
  assert.equal(unfinished?.reasoning, 'hmm');
  assert.equal(unfinished?.lastSeq, 5);
  assert.deepEqual(unfinished?.request?.messages, [{ role: 'user', content: 'hi' }]);

  await store.finishAnswer({ ...unfinished!, content: 'Right answer.', status: 'done', lastSeq: 7 });
  assert.deepEqual(await store.unfinishedAnswers(), []);
  const loaded = await store.getConversation('c1');
  const finished = loaded?.messages[0];
  assert.equal(finished?.content, 'Right answer.');
  assert.equal(finished?.role === 'assistant' && finished.request, undefined, 'the request is not kept');
  store.close();
});

test('overlapping chunks (two panels following one answer) never repeat text', () => {
  const chunk = (fromSeq: number, seq: number, text: string) => ({
    messageId: 'm2',
    fromSeq,
    seq,
    text,
    reasoning: '',
    reset: false,
  });
  const folded = foldChunks(answer({ content: 'a', lastSeq: 1 }), [
    chunk(1, 1, 'a'),
    chunk(2, 3, 'bc'),
    chunk(2, 5, 'bcde'),
    chunk(4, 6, 'def'),
    chunk(6, 7, 'fg'),
  ]);
  // 1 is stored; 2-3 follow; 2-5 overlaps and is skipped; 4-6 follows; 6-7 overlaps.
  assert.equal(folded.content, 'abcdef');
  assert.equal(folded.lastSeq, 6, 'the resume fetches the rest after 6');
});

test('search finds titles and message text, case-insensitively, with a snippet', async () => {
  const store = await openStore();
  await store.putConversation({ id: 'c1', title: 'Trip planning', createdAt: 1, updatedAt: 1 });
  await store.putConversation({ id: 'c2', title: 'Bread', createdAt: 2, updatedAt: 2 });
  await store.putMessage(
    answer({ conversationId: 'c1', status: 'done', content: 'The puffins nest on Lunga in June.' }),
    3,
  );
  await store.putMessage(
    {
      id: 'u2',
      conversationId: 'c2',
      role: 'user',
      content: 'Summarize this page.',
      createdAt: 2,
      context: {
        kind: 'page',
        title: 'Sourdough basics',
        url: 'https://b.example',
        text: 'Starter and flour.',
        totalCharacters: 18,
      },
    },
    2,
  );
  const puffins = await store.searchConversations('PUFFINS');
  assert.deepEqual(
    puffins.map((hit) => [hit.conversation.id, hit.snippet]),
    [['c1', 'The puffins nest on Lunga in June.']],
  );
  assert.deepEqual(
    (await store.searchConversations('sourdough')).map((hit) => hit.conversation.id),
    ['c2'],
    'the page a message was about is searched too',
  );
  assert.deepEqual(
    (await store.searchConversations('trip')).map((hit) => hit.conversation.id),
    ['c1'],
  );
  assert.equal((await store.searchConversations('  ')).length, 2, 'an empty search lists everything');
  store.close();
});

test('rename, delete with undo, and purge after the undo window', async () => {
  const store = await openStore();
  await store.putConversation({ id: 'c1', title: 'Old', createdAt: 1, updatedAt: 1 });
  await store.putMessage({ id: 'm1', conversationId: 'c1', role: 'user', content: 'hi', createdAt: 1 }, 1);
  await store.renameConversation('c1', 'New');
  assert.equal((await store.listConversations())[0]?.title, 'New');

  const deleted = await store.markDeleted('c1', 100);
  assert.equal(deleted?.title, 'New');
  assert.deepEqual(await store.listConversations(), [], 'a deleted conversation is hidden at once');
  assert.deepEqual(await store.searchConversations('hi'), []);
  await store.restoreConversation('c1');
  assert.equal((await store.listConversations())[0]?.deletedAt, undefined, 'undo brings it back whole');
  assert.equal((await store.getConversation('c1'))?.messages.length, 1);

  await store.markDeleted('c1', 100);
  assert.deepEqual(await store.purgeDeleted(100), [], 'not before its time');
  assert.deepEqual(await store.purgeDeleted(101), ['c1']);
  assert.equal(await store.getConversation('c1'), undefined);
  store.close();
});
