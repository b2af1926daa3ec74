// Gathers a request's model deltas into fewer log appends without making a lone token wait: a piece goes out at
// the end of the current turn of the event loop unless an append of the request is in flight; pieces that arrive
// meanwhile go out together in the next append. Appends are slowest when the system is busiest, so batching grows
// exactly when it is needed, and a token that arrives alone pays no timer.

export interface Pending {
  text: string;
  reasoning: string;
}

export interface CoalescerOptions {
  /** An optional linger: wait this long for more pieces before writing (0: write at the end of this turn). */
  maxDelayMs: number;
  /** Write at once when this many characters are waiting. */
  maxChars: number;
  /** Writes one gathered delta; the next write waits for it, so appends stay in order. */
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
  let timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  let writing = false;
  let chain: Promise<void> = Promise.resolve();
  let failure: unknown;

  const isEmpty = () => pending.text === '' && pending.reasoning === '';

  function cancelTimer(): void {
    if (timer === undefined) return;
    if (options.maxDelayMs > 0) clearTimeout(timer as NodeJS.Timeout);
    else clearImmediate(timer as NodeJS.Immediate);
    timer = undefined;
  }

  function writeNow(): Promise<void> {
    cancelTimer();
    if (isEmpty()) return chain;
    const batch = pending;
    pending = { text: '', reasoning: '' };
    writing = true;
    chain = chain
      .then(() => (failure === undefined ? options.write(batch) : undefined))
      .catch((error: unknown) => {
        failure ??= error;
      })
      .finally(() => {
        writing = false;
        // What arrived while this append was in flight goes out now, in one piece.
        if (!isEmpty() && timer === undefined) void writeNow();
      });
    return chain;
  }

  function schedule(): void {
    if (timer !== undefined || writing) return;
    timer = options.maxDelayMs > 0 ? setTimeout(writeNow, options.maxDelayMs) : setImmediate(writeNow);
  }

  return {
    push(text, reasoning) {
      if (text) pending.text += text;
      if (reasoning) pending.reasoning += reasoning;
      if (pending.text.length + pending.reasoning.length >= options.maxChars) void writeNow();
      else schedule();
    },
    async flush() {
      // Until nothing waits and nothing is in flight: a write's completion may start the next one.
      do await writeNow();
      while (!isEmpty() || writing);
      if (failure !== undefined) throw failure;
    },
    discard() {
      cancelTimer();
      pending = { text: '', reasoning: '' };
    },
  };
}
