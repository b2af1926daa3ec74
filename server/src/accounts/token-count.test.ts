// Counting tokens where a provider gave none: o200k_base's counts for ordinary text, a prompt's framing, and a cost
// bounded whatever the text (a single "word" of a million letters, random CJK), with the event loop given back.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import {
  COUNT_LIMIT_CHARS,
  countPromptTokens,
  countTokens,
  loadTokenizer,
  SLICE_CHARS,
  slices,
  TOKENS_PER_MESSAGE,
  TOKENS_PER_REPLY,
} from './token-count.ts';

before(async () => {
  assert.ok((await loadTokenizer()) !== undefined, 'gpt-tokenizer loads');
});

test('ordinary text is counted as OpenAI’s o200k_base encoding counts it', async () => {
  assert.equal(await countTokens(''), 0);
  assert.equal(await countTokens('Hello, world!'), 4);
  assert.equal(await countTokens('The quick brown fox jumps over the lazy dog.'), 10);
  // Text that looks like a special token is text: counted, not refused.
  assert.ok((await countTokens('see <|endoftext|> here')) > 3);
});

test('a prompt is its messages’ contents, 3 tokens of framing each, and 3 for the answer’s start', async () => {
  const messages = [
    { role: 'system', content: 'Hello, world!' },
    { role: 'user', content: 'The quick brown fox jumps over the lazy dog.' },
  ];
  assert.equal(await countPromptTokens(messages), 4 + 10 + 2 * TOKENS_PER_MESSAGE + TOKENS_PER_REPLY);
});

test('slices cover the text, at spaces where they can, none longer than SLICE_CHARS', () => {
  const text = 'lorem ipsum dolor sit amet '.repeat(200) + 'x'.repeat(2_000);
  const parts = slices(text);
  assert.equal(parts.join(''), text);
  assert.ok(parts.every((part) => part.length > 0 && part.length <= SLICE_CHARS));
  assert.ok(parts.slice(0, 5).every((part) => part.startsWith(' ') || part === parts[0]));
});

test('beyond COUNT_LIMIT_CHARS the rest is counted at the rate of what was tokenized', async () => {
  const sentence = 'The quick brown fox jumps over the lazy dog. ';
  const long = sentence.repeat(Math.ceil((4 * COUNT_LIMIT_CHARS) / sentence.length));
  const counted = await countTokens(long);
  const exact = 10 * (long.length / sentence.length);
  assert.ok(Math.abs(counted - exact) / exact < 0.02, `${counted} tokens, about ${exact} expected`);
  // The kept beginning of a longer answer, and its full length.
  assert.equal(await countTokens('Hello, world!', 26), 8);
});

test('a pathological text costs a bounded time, and the event loop is given back meanwhile', async () => {
  // Byte-pair merging costs the square of a word's length: unsliced, this word alone would take hours.
  const started = performance.now();
  const word = await countTokens('a'.repeat(1_000_000));
  assert.ok(Math.abs(word - 125_000) < 1_000, `${word}`);
  const random = Array.from({ length: COUNT_LIMIT_CHARS }, () =>
    String.fromCharCode(0x4e00 + Math.floor(Math.random() * 20_000)),
  ).join('');
  let breathed = false;
  setImmediate(() => {
    breathed = true;
  });
  assert.ok((await countTokens(random)) > COUNT_LIMIT_CHARS);
  assert.ok(breathed, 'other work ran while counting');
  // Generous for a busy machine: well under a second alone.
  assert.ok(performance.now() - started < 10_000, `${Math.round(performance.now() - started)} ms`);
});
