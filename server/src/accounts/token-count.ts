// Counting tokens where a provider gave none (a cancel, a failure, a provider without `usage`): OpenAI's o200k_base
// encoding (gpt-tokenizer, pure JavaScript), an estimate for other models' tokenizers. Run once per answer on the
// worker, never per token, and bounded: at most COUNT_LIMIT_CHARS characters of a text are tokenized, in slices of
// SLICE_CHARS (byte-pair merging costs the square of a word's length: one "word" of 200,000 letters took a
// minute), giving the event loop back every few milliseconds; the rest of a longer text is counted at the rate of
// what was tokenized. The encoding (about 20 MB of heap, a third of a second to load) is loaded on first use.

/** Characters of one text (a prompt, a completion) that are tokenized; the rest is extrapolated. */
export const COUNT_LIMIT_CHARS = 32_768;
/** Tokenized at a time: split at a space when there is one in its second half, else anywhere. */
export const SLICE_CHARS = 512;
/** The event loop is given back after this long of counting. */
const YIELD_AFTER_MS = 5;
/** Tokens a chat message adds around its content (role and separators), and the answer's start: OpenAI's format. */
export const TOKENS_PER_MESSAGE = 3;
export const TOKENS_PER_REPLY = 3;

type Count = (text: string) => number;

let loading: Promise<Count | undefined> | undefined;

/** The tokenizer, or undefined when it cannot be loaded (then about 4 characters a token are counted). */
export function loadTokenizer(): Promise<Count | undefined> {
  loading ??= import('gpt-tokenizer/encoding/o200k_base').then(
    (encoding) => {
      // Its cache of merged words is kept small: usage is counted rarely, and memory is for answers.
      encoding.setMergeCacheSize(10_000);
      const plain = { disallowedSpecial: new Set<string>() };
      // "<|endoftext|>" in a user's text is text: counted, not refused.
      return (text: string) => encoding.countTokens(text, plain);
    },
    () => undefined,
  );
  return loading;
}

/** The rough count without a tokenizer: English runs about 4 characters a token in OpenAI's encodings. */
export function roughTokens(characters: number): number {
  return Math.ceil(characters / 4);
}

/** The slices of `text` that are tokenized one at a time. */
export function slices(text: string, size = SLICE_CHARS): string[] {
  const out: string[] = [];
  let start = 0;
  while (start < text.length) {
    let end = Math.min(text.length, start + size);
    if (end < text.length) {
      const space = text.lastIndexOf(' ', end);
      if (space > start + size / 2) end = space;
    }
    out.push(text.slice(start, end));
    start = end;
  }
  return out;
}

const breather = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Tokens of texts together: each tokenized up to what is left of COUNT_LIMIT_CHARS (their beginnings, in order), the
 * characters beyond counted at the rate of those tokenized. Never throws: without the tokenizer, the rough count.
 */
async function countTexts(texts: readonly string[], totalChars: number): Promise<number> {
  if (totalChars <= 0) return 0;
  const count = await loadTokenizer();
  if (count === undefined) return roughTokens(totalChars);
  let tokens = 0;
  let counted = 0;
  let since = performance.now();
  for (const text of texts) {
    const part = text.slice(0, COUNT_LIMIT_CHARS - counted);
    if (part.length === 0) break;
    counted += part.length;
    for (const slice of slices(part)) {
      tokens += count(slice);
      if (performance.now() - since > YIELD_AFTER_MS) {
        await breather();
        since = performance.now();
      }
    }
  }
  if (counted === 0) return roughTokens(totalChars);
  if (totalChars <= counted) return tokens;
  return tokens + Math.ceil(((totalChars - counted) * tokens) / counted);
}

/** Tokens of a text `totalChars` long whose beginning is `sample` (e.g. the part of an answer that was kept). */
export function countTokens(sample: string, totalChars = sample.length): Promise<number> {
  return countTexts([sample], totalChars);
}

/** Tokens of a prompt: each message's content and its framing, and the answer's start. */
export async function countPromptTokens(messages: readonly { content: string }[]): Promise<number> {
  const contents = messages.map((message) => message.content);
  const total = contents.reduce((sum, content) => sum + content.length, 0);
  return (await countTexts(contents, total)) + TOKENS_PER_MESSAGE * messages.length + TOKENS_PER_REPLY;
}
