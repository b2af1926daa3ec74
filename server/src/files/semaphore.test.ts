import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createSemaphore } from './semaphore.ts';

test('a semaphore lets `size` holders in at once, the others in turn; an aborted waiter leaves the queue', async () => {
  const slots = createSemaphore(2);
  const first = await slots.acquire();
  const second = await slots.acquire();
  const order: string[] = [];
  const third = slots.acquire().then((release) => {
    order.push('third');
    return release;
  });
  const controller = new AbortController();
  const aborted = slots.acquire(controller.signal);
  const fourth = slots.acquire().then((release) => {
    order.push('fourth');
    return release;
  });
  assert.equal(slots.waiting, 3);
  controller.abort(new Error('gave up'));
  await assert.rejects(aborted, /gave up/);
  assert.equal(slots.waiting, 2);
  first();
  first(); // a second release of the same slot changes nothing
  (await third)();
  second();
  (await fourth)();
  assert.deepEqual(order, ['third', 'fourth']);
  assert.equal(slots.active, 0);
  await assert.rejects(slots.acquire(AbortSignal.abort(new Error('already'))), /already/);
});
