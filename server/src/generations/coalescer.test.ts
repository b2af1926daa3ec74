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

test('without a linger, a lone piece is written in the same turn; pieces that come during a write go out together', async () => {
  const writes: string[] = [];
  let release: (() => void) | undefined;
  const coalescer = createCoalescer({
    maxDelayMs: 0,
    maxChars: 1000,
    write: (pending) => {
      writes.push(pending.text);
      return new Promise<void>((resolve) => {
        release = resolve;
      });
    },
  });
  coalescer.push('first', undefined);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(writes, ['first'], 'no timer: the first piece is already being written');
  for (const piece of ['a', 'b', 'c']) coalescer.push(piece, undefined);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(writes, ['first'], 'nothing else starts while an append is in flight');
  release?.();
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(writes, ['first', 'abc']);
  release?.();
  const flushed = coalescer.flush();
  release?.();
  await flushed;
  assert.deepEqual(writes, ['first', 'abc']);
});
