// Page translation's batches, prompts and answer parsing, without a browser.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { batchMessage, type PageBlock, parseTranslations, planBatches } from './translation-batches.ts';

const block = (index: number, visible = false, text = `Paragraph ${index}.`): PageBlock => ({
  index,
  text,
  visible,
});

test('batches: the visible blocks first, each batch in reading order, within the block and character limits', () => {
  const blocks = [
    block(0),
    block(1),
    block(2, true),
    block(3, true),
    block(4),
    block(5, false, 'x'.repeat(50)),
  ];
  const batches = planBatches(blocks, { maxBlocks: 2, maxChars: 40 });
  assert.deepEqual(
    batches.map((batch) => batch.map((entry) => entry.index)),
    [[2, 3], [0, 1], [4], [5]],
  );
});

test('a batch is its blocks behind markers, one per line, whitespace folded', () => {
  assert.equal(batchMessage([block(3, false, ' a\n b '), block(4)]), '[[3]] a b\n[[4]] Paragraph 4.');
});

test('an answer is read into one translation per block; strays, repeats and gaps are handled', () => {
  const batch = [block(3), block(4), block(5)];
  const answer = 'Sure! [[3]] 第三段。\n[[9]] stray\n[[4]]  第四段。 \n[[3]] again';
  const { translations, missing } = parseTranslations(answer, batch);
  assert.deepEqual(
    [...translations],
    [
      [3, '第三段。'],
      [4, '第四段。'],
    ],
  );
  assert.deepEqual(missing, [5]);
  assert.deepEqual(parseTranslations('no markers at all', batch).missing, [3, 4, 5]);
});
