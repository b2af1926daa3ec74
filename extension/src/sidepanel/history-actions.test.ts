import 'fake-indexeddb/auto';
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { FakePanelView, stubI18n } from '../../test/fake-panel-view.ts';
import { ConversationStore, type SearchHit } from '../store/conversation-store.ts';
import { HistoryActions, undoWindowMs } from './history-actions.ts';

stubI18n();

let databaseCount = 0;

/**
 * History actions on a real store holding two conversations, with the session and answers recorded.
 * setTimeout is mocked: the purge after the undo window runs when a test ticks the clock, never after it.
 */
async function setUp(t: TestContext) {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  databaseCount += 1;
  const store = await ConversationStore.open(indexedDB, `history-test-${process.pid}-${databaseCount}`);
  await store.putConversation({ id: 'c1', title: 'Recipes', createdAt: 1, updatedAt: 1 });
  await store.putMessage(
    { id: 'm1', conversationId: 'c1', role: 'user', content: 'bread?', createdAt: 2 },
    2,
  );
  await store.putConversation({ id: 'c2', title: 'Travel', createdAt: 3, updatedAt: 3 });
  const view = new FakePanelView();
  const calls: string[] = [];
  const downloads: { fileName: string; text: string }[] = [];
  const clock = { now: 10_000 };
  const conversation = {
    id: 'c1' as string | undefined,
    renamed: (conversationId: string, title: string) => calls.push(`renamed ${conversationId} ${title}`),
    newChat: () => {
      calls.push('newChat');
      conversation.id = undefined;
    },
    open: async (conversationId: string) => {
      calls.push(`open ${conversationId}`);
      conversation.id = conversationId;
    },
  };
  const history = new HistoryActions({
    store,
    view,
    conversation,
    answers: { drop: (conversationId) => calls.push(`drop ${conversationId}`) },
    download: (fileName, text) => downloads.push({ fileName, text }),
    now: () => clock.now,
  });
  return { store, view, calls, downloads, clock, conversation, history };
}

const titles = (hits: readonly SearchHit[] | undefined) => hits?.map((hit) => hit.conversation.title);

test('search shows the matches, by title or by message', async (t) => {
  const { history, view } = await setUp(t);
  await history.search('bread');
  assert.deepEqual(titles(view.hits), ['Recipes']);
  await history.search('');
  assert.deepEqual(titles(view.hits), ['Travel', 'Recipes']);
});

test('a slower earlier search does not overwrite a later one', async (t) => {
  const { view } = await setUp(t);
  const pending: ((hits: SearchHit[]) => void)[] = [];
  const store = { searchConversations: () => new Promise<SearchHit[]>((resolve) => pending.push(resolve)) };
  const history = new HistoryActions({
    store: store as unknown as ConstructorParameters<typeof HistoryActions>[0]['store'],
    view,
    conversation: { id: undefined, renamed() {}, newChat() {}, open: async () => {} },
    answers: { drop() {} },
    download() {},
    now: Date.now,
  });
  const first = history.search('r');
  const second = history.search('re');
  const hit = (title: string): SearchHit => ({
    conversation: { id: title, title, createdAt: 0, updatedAt: 0 },
    snippet: '',
  });
  pending[1]?.([hit('later')]);
  await second;
  pending[0]?.([hit('earlier')]);
  await first;
  assert.deepEqual(titles(view.hits), ['later']);
});

test('rename saves the title and tells the session', async (t) => {
  const { history, store, calls } = await setUp(t);
  await history.rename('c1', 'Bread');
  assert.equal((await store.getConversation('c1'))?.conversation.title, 'Bread');
  assert.deepEqual(calls, ['renamed c1 Bread']);
});

test('export downloads the conversation as Markdown, named after its title', async (t) => {
  const { history, downloads } = await setUp(t);
  await history.export('c1');
  assert.equal(downloads.length, 1);
  assert.equal(downloads[0]?.fileName, 'Recipes.md');
  assert.match(downloads[0]?.text ?? '', /bread\?/);
  await history.export('missing');
  assert.equal(downloads.length, 1, 'nothing to export, nothing downloaded');
});

test('delete hides the shown conversation at once and offers undo, which brings it back', async (t) => {
  const { history, store, view, calls } = await setUp(t);
  await history.delete('c1');
  assert.deepEqual(calls, ['newChat'], 'the panel leaves the deleted conversation');
  assert.deepEqual(
    (await store.listConversations()).map((conversation) => conversation.id),
    ['c2'],
  );
  assert.equal(view.undo?.text, 'conversationDeleted: Recipes');
  assert.equal(view.undo?.durationMs, undoWindowMs);

  view.undo?.onUndo();
  await waitFor(() => calls.includes('open c1'));
  assert.deepEqual((await store.listConversations()).map((conversation) => conversation.id).sort(), [
    'c1',
    'c2',
  ]);
});

test('undo with the history open refreshes the list instead of opening the conversation', async (t) => {
  const { history, view, calls } = await setUp(t);
  await history.delete('c2');
  assert.deepEqual(calls, [], 'another conversation than the shown one: the panel stays');
  view.history.isOpen = true;
  view.history.query = 'tra';
  await history.undoDelete('c2');
  assert.deepEqual(titles(view.hits), ['Travel']);
  assert.deepEqual(calls, []);
});

test('once the undo window has passed, the conversation is removed for good and its answers dropped', async (t) => {
  const { history, store, calls, clock } = await setUp(t);
  await history.delete('c1');
  clock.now += undoWindowMs;
  t.mock.timers.tick(undoWindowMs);
  await waitFor(() => calls.includes('drop c1'));
  assert.equal(await store.getConversation('c1'), undefined);
  assert.ok(await store.getConversation('c2'));
});

/** Waits for `condition` through the event loop only (setTimeout may be mocked). */
async function waitFor(condition: () => boolean): Promise<void> {
  for (let round = 0; round < 1_000 && !condition(); round += 1) {
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.ok(condition(), 'condition never held');
}

test('with a server history, renames and deletes go to it too, and conversations waiting for it are marked', async (t) => {
  const { store, view, clock, conversation } = await setUp(t);
  const sent: string[] = [];
  const history = new HistoryActions({
    store,
    view,
    conversation,
    answers: { drop: () => undefined },
    sync: {
      rename: async (conversationId, title) => void sent.push(`rename ${conversationId} ${title}`),
      delete: async (conversationId) => void sent.push(`delete ${conversationId}`),
    },
    pendingConversations: async () => new Set(['c2']),
    download: () => undefined,
    now: () => clock.now,
  });
  await history.search('');
  assert.deepEqual(
    view.hits?.map((hit) => [hit.conversation.id, hit.pending === true]),
    [
      ['c2', true],
      ['c1', false],
    ],
  );
  await history.rename('c1', 'Bread');
  await history.delete('c2');
  assert.deepEqual(sent, ['rename c1 Bread'], 'a delete waits for its undo window');
  clock.now += undoWindowMs;
  t.mock.timers.tick(undoWindowMs);
  await waitFor(() => sent.length === 2);
  assert.deepEqual(sent, ['rename c1 Bread', 'delete c2']);
});
