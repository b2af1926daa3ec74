import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type PendingSelection, putPendingSelection, takePendingSelection } from './selection-handoff.ts';

/** chrome.storage's get/set/remove over a Map: enough for the handoff. */
function memoryStorage(): chrome.storage.StorageArea {
  const items = new Map<string, unknown>();
  const storage = {
    get: async (key: string) => (items.has(key) ? { [key]: items.get(key) } : {}),
    set: async (values: Record<string, unknown>) => {
      for (const [key, value] of Object.entries(values)) items.set(key, value);
    },
    remove: async (key: string) => {
      items.delete(key);
    },
  };
  return storage as unknown as chrome.storage.StorageArea;
}

const pending: PendingSelection = {
  id: 's1',
  action: 'explain',
  text: 'E = mc²',
  title: 'Physics',
  url: 'https://x.org',
  windowId: 7,
  at: 1_000,
};

test("a panel takes its window's selection once", async () => {
  const storage = memoryStorage();
  await putPendingSelection(pending, storage);
  assert.equal(await takePendingSelection(8, 1_500, storage), undefined, "another window's panel leaves it");
  assert.deepEqual(await takePendingSelection(7, 1_500, storage), pending);
  assert.equal(await takePendingSelection(7, 1_500, storage), undefined, 'taken means gone');
});

test('a selection nobody took for a minute is dropped, not acted on later', async () => {
  const storage = memoryStorage();
  await putPendingSelection(pending, storage);
  assert.equal(await takePendingSelection(7, 1_000 + 61_000, storage), undefined);
  assert.equal(await takePendingSelection(7, 1_500, storage), undefined, 'and it is gone');
});
