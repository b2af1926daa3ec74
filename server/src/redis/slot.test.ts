// Hash slots as Redis computes them (the values CLUSTER KEYSLOT gives), hash tags included.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { slotOf } from './slot.ts';

test('slots match CLUSTER KEYSLOT, hash tags and all', () => {
  assert.equal(slotOf('123456789'), 12739);
  assert.equal(slotOf('foo'), 12182);
  assert.equal(slotOf('cp:ev:{abc}'), slotOf('cp:req:{abc}'));
  assert.equal(slotOf('{user1000}.following'), slotOf('user1000'));
  // An empty tag is no tag: the whole name counts.
  assert.equal(slotOf('x{}y'), 16116);
  assert.notEqual(slotOf('x{}y'), slotOf(''));
});
