import assert from 'node:assert/strict';
import { test } from 'node:test';
import { marked } from 'marked';
import { MarkdownBlockSplitter } from './markdown-blocks.ts';

const sample = `# Title

A paragraph with **bold** and a [link](https://example.com),
continued on a second line.

- one
- two

- three, after a blank line (a loose list)

\`\`\`ts
const answer = 42;

console.log(answer);
\`\`\`

Setext heading
--------------

| a | b |
|---|---|
| 1 | 2 |

> a quote
> on two lines

1. first
2. second

Last paragraph.`;

/** Streams `text` in pieces of `size` characters, splitting after each, and returns every block seen. */
function stream(text: string, size: number): { blocks: string[]; splitter: MarkdownBlockSplitter } {
  const splitter = new MarkdownBlockSplitter();
  const blocks: string[] = [];
  for (let start = 0; start < text.length; start += size) {
    splitter.append(text.slice(start, start + size));
    blocks.push(...splitter.split().completed);
  }
  const last = splitter.split();
  blocks.push(...last.completed, last.tail);
  return { blocks, splitter };
}

function html(markdown: string): string {
  return (marked.parse(markdown, { async: false }) as string).replace(/>\s+</g, '><').trim();
}

test('blocks streamed in pieces of any size add up to the source and render like the whole', () => {
  const whole = html(sample);
  for (const size of [1, 2, 3, 7, 16, 50, 1000]) {
    const { blocks } = stream(sample, size);
    assert.equal(blocks.join(''), sample, `no text lost or repeated (pieces of ${size})`);
    assert.equal(blocks.map(html).join(''), whole, `same HTML (pieces of ${size})`);
  }
});

test('the last block stays open: an unclosed fence is code, a list is not final until something follows', () => {
  const splitter = new MarkdownBlockSplitter();
  splitter.append('Intro.\n\n```python\nprint(1)\n');
  let split = splitter.split();
  assert.deepEqual(split.completed, ['Intro.\n\n']);
  assert.equal(split.tailIsCode, true);
  splitter.append('```\n\n- a\n\n');
  split = splitter.split();
  assert.deepEqual(split.completed, ['```python\nprint(1)\n```\n\n']);
  assert.equal(split.tail, '- a\n\n');
  assert.equal(split.tailIsCode, false);
  splitter.append('- b\n\nEnd');
  split = splitter.split();
  assert.deepEqual(split.completed, ['- a\n\n- b\n\n'], 'one list, not two');
  assert.equal(split.tail, 'End');
});

test('reset starts over (a restarted generation)', () => {
  const splitter = new MarkdownBlockSplitter();
  splitter.append('Old.\n\nText');
  splitter.split();
  splitter.reset('New');
  assert.deepEqual(splitter.split(), { completed: [], tail: 'New', tailIsCode: false });
  assert.equal(splitter.text, 'New');
});

test('the cost of an update does not grow with the length of the answer', () => {
  // About 20,000 tokens of prose in small deltas, split after every delta (the worst case). An update lexes the
  // open tail only (the text after the last finished block), so its cost is bounded if the tail is: checked by
  // size, not by time, which a busy machine would blur.
  const paragraph =
    'Streaming answers arrive a few characters at a time, and each piece must be cheap to show. ';
  const deltas: string[] = [];
  for (let index = 0; index < 1000; index += 1) {
    const block = index % 10 === 9 ? '\n\n' : paragraph;
    for (let start = 0; start < block.length; start += 4) deltas.push(block.slice(start, start + 4));
  }
  const splitter = new MarkdownBlockSplitter();
  let longestTail = 0;
  let completed = '';
  let tail = '';
  for (const delta of deltas) {
    splitter.append(delta);
    const split = splitter.split();
    completed += split.completed.join('');
    tail = split.tail;
    longestTail = Math.max(longestTail, tail.length);
  }
  assert.ok(splitter.text.length > 80_000, `answer length ${splitter.text.length}`);
  assert.equal(completed + tail, splitter.text, 'every character is in one finished block or the tail');
  // One paragraph here is 9 sentences of 92 characters: the tail never holds much more than that.
  assert.ok(longestTail < 2 * 9 * paragraph.length, `the open tail reached ${longestTail} characters`);
});
