// Gathers tiny model deltas into fewer log appends: the cost per token stays low, the delay stays unnoticeable.

export interface Pending {
  text: string;
  reasoning: string;
}

export interface CoalescerOptions {
  /** Longest a piece waits before it is written. */
  maxDelayMs: number;
  /** Write at once when this many characters are waiting. */
  maxChars: number;
  /** Writes one gathered delta; the next flush waits for it, so appends stay in order. */
  write(pending: Pending): Promise<void>;
}

export interface Coalescer {
  push(text: string | undefined, reasoning: string | undefined): void;
  /** Writes whatever waits and resolves when every write so far is done; rejects with a write's error. */
  flush(): Promise<void>;
  /** Drops whatever waits (after a cancel) and stops the timer. */
  discard(): void;
}

export function createCoalescer(options: CoalescerOptions): Coalescer {
  let pending: Pending = { text: '', reasoning: '' };
  let timer: NodeJS.Timeout | undefined;
  let chain: Promise<void> = Promise.resolve();
  let failure: unknown;

  function writeNow(): Promise<void> {
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
    if (pending.text === '' && pending.reasoning === '') return chain;
    const batch = pending;
    pending = { text: '', reasoning: '' };
    chain = chain.then(() => (failure === undefined ? options.write(batch) : undefined));
    chain = chain.catch((error: unknown) => {
      failure ??= error;
    });
    return chain;
  }

  return {
    push(text, reasoning) {
      if (text) pending.text += text;
      if (reasoning) pending.reasoning += reasoning;
      if (pending.text.length + pending.reasoning.length >= options.maxChars) {
        void writeNow();
      } else if (timer === undefined) {
        timer = setTimeout(writeNow, options.maxDelayMs);
      }
    },
    async flush() {
      await writeNow();
      if (failure !== undefined) throw failure;
    },
    discard() {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      pending = { text: '', reasoning: '' };
    },
  };
}
