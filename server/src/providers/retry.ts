// When to call a model again after a failure, and how long to wait first: exponential backoff with full jitter.
import { ProviderError } from './types.ts';

export interface RetryPolicy {
  /** The ceiling of the first wait; it doubles with every attempt. */
  baseDelayMs: number;
  /** The exponential wait never exceeds this. */
  maxDelayMs: number;
  /** A server's Retry-After is honoured up to this (default 60 s): a longer wait would hold the user for nothing. */
  maxRetryAfterMs?: number;
}

const defaultMaxRetryAfterMs = 60_000;

/**
 * How long to wait before the attempt after `attempt` (1 = the first call failed). Full jitter
 * (a uniform draw from 0 to the exponential ceiling) spreads the workers that failed together;
 * a server's `retryAfterMs` is a floor, with up to `baseDelayMs` of jitter added for the same reason.
 */
export function retryDelayMs(
  attempt: number,
  error: unknown,
  policy: RetryPolicy,
  random: () => number = Math.random,
): number {
  const draw = Math.min(Math.max(random(), 0), 1);
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  const jittered = draw * ceiling;
  const retryAfterMs = error instanceof ProviderError ? error.retryAfterMs : undefined;
  if (retryAfterMs === undefined) return Math.round(jittered);
  const cap = Math.max(policy.maxDelayMs, policy.maxRetryAfterMs ?? defaultMaxRetryAfterMs);
  const floor = retryAfterMs + draw * policy.baseDelayMs;
  return Math.round(Math.min(cap, Math.max(jittered, floor)));
}

/** Whether `attempt` (1-based, the one that just failed) may be followed by another of at most `maxAttempts`. */
export function shouldRetry(error: unknown, attempt: number, maxAttempts: number): boolean {
  if (attempt >= maxAttempts) return false;
  if (!(error instanceof ProviderError) || !error.retryable) return false;
  const status = error.status;
  // A client error says the request itself is wrong; only "too slow" and "too many" can pass on a retry.
  if (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429) return false;
  return true;
}
