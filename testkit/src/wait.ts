// Waiting in tests: a pause, and a poll of a condition that fails with what it waited for.

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface UntilOptions {
  /** Named in the error on timeout: "timed out waiting for <what>". */
  what?: string;
  /** Default 5 s. */
  timeoutMs?: number;
  /** Pause between polls (default 20 ms). */
  intervalMs?: number;
}

/** Polls `condition` until it holds; throws after `timeoutMs`. */
export async function until(
  condition: () => boolean | Promise<boolean>,
  options: UntilOptions = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 5_000);
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${options.what ?? 'a condition'}`);
    await sleep(options.intervalMs ?? 20);
  }
}
