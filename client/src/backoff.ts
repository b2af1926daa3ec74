// Reconnect delays: exponential growth with full jitter, so that many panels do not reconnect in step.

export interface BackoffOptions {
  /** Delay ceiling of the first retry, in ms. */
  initialMs: number;
  /** No delay is ever longer than this. */
  maxMs: number;
  /** Growth of the ceiling per failed attempt. */
  factor: number;
  /** A number in [0, 1); injected so that tests can pin it. */
  random: () => number;
}

export const defaultBackoffOptions: BackoffOptions = {
  initialMs: 500,
  maxMs: 30_000,
  factor: 2,
  random: Math.random,
};

/**
 * The delay before reconnect attempt number `attempt` (0 for the first retry).
 * "Full jitter" would let a delay reach 0 and hammer a server that just went down, so the
 * delay is drawn from the upper half of the ceiling: [ceiling / 2, ceiling).
 */
export function backoffDelay(attempt: number, options: BackoffOptions = defaultBackoffOptions): number {
  const ceiling = Math.min(options.maxMs, options.initialMs * options.factor ** Math.max(0, attempt));
  return Math.round(ceiling / 2 + (options.random() * ceiling) / 2);
}
