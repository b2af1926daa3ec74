import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createCoalescer, type Pending } from './coalescer.ts';

test('tiny pieces are gathered into one write per window, in order', async () => {
  const writes: Pending[] = [];
  const coalescer = createCoalescer({
    maxDelayMs: 20,
    maxChars: 1000,
    write: async (pending) => void writes.push(pending),
  });
  for (const piece of ['a', 'b', 'c']) coalescer.push(piece, undefined);
  coalescer.push(undefined, 'think');
  await new Promise((resolve) => setTimeout(resolve, 40));
  coalescer.push('d', undefined);
  await coalescer.flush();
  assert.deepEqual(writes, [
    { text: 'abc', reasoning: 'think' },
    { text: 'd', reasoning: '' },
  ]);
});

test('a large piece is written at once; a failed write surfaces at flush; discard drops what waits', async () => {
  const writes: string[] = [];
  let fail = false;
  const coalescer = createCoalescer({
    maxDelayMs: 1000,
    maxChars: 4,
    write: async (pending) => {
      if (fail) throw new Error('refused');
      writes.push(pending.text);
    },
  });
  coalescer.push('12345', undefined);
  await coalescer.flush();
  assert.deepEqual(writes, ['12345']);
  coalescer.push('x', undefined);
  coalescer.discard();
  await coalescer.flush();
  assert.deepEqual(writes, ['12345']);
  fail = true;
  coalescer.push('y', undefined);
  await assert.rejects(coalescer.flush(), /refused/);
});
