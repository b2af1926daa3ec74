// Failed sign-ins per client address, on one gateway: after `maxFailures` an address must wait before its next try
// is even looked at, twice as long after each further failure. Guessing a token becomes slow; the map of addresses
// is bounded, and an address forgets its failures after a quiet while (a success forgets nothing: a user with one
// good token must not be able to guess others' between its own sign-ins).

export interface LoginThrottleOptions {
  /** Failures (none more than `maxDelayMs` apart) before an address must wait. */
  maxFailures: number;
  /** The first wait; it doubles with each further failure. */
  baseDelayMs?: number;
  /** The longest wait, and how long a quiet address keeps its count. */
  maxDelayMs?: number;
  /** Addresses remembered at once; the oldest is forgotten first. */
  maxAddresses?: number;
  now?: () => number;
}

interface Failures {
  count: number;
  last: number;
  until: number;
}

export function createLoginThrottle(options: LoginThrottleOptions) {
  const baseDelayMs = options.baseDelayMs ?? 1_000;
  const maxDelayMs = options.maxDelayMs ?? 60_000;
  const maxAddresses = options.maxAddresses ?? 10_000;
  const now = options.now ?? Date.now;
  const byAddress = new Map<string, Failures>();

  function current(address: string): Failures | undefined {
    const entry = byAddress.get(address);
    if (entry !== undefined && now() - entry.last > maxDelayMs && now() >= entry.until) {
      byAddress.delete(address);
      return undefined;
    }
    return entry;
  }

  return {
    /** How long `address` must still wait before a sign-in is looked at; 0 when it may try now. */
    waitMs(address: string): number {
      const entry = current(address);
      return entry === undefined ? 0 : Math.max(0, entry.until - now());
    },
    failed(address: string): void {
      const entry = current(address) ?? { count: 0, last: 0, until: 0 };
      entry.count++;
      entry.last = now();
      if (entry.count >= options.maxFailures) {
        const doublings = Math.min(entry.count - options.maxFailures, 30);
        entry.until = entry.last + Math.min(maxDelayMs, baseDelayMs * 2 ** doublings);
      }
      // Re-inserted, so that the map's order is the order of last failure: the oldest goes first.
      byAddress.delete(address);
      byAddress.set(address, entry);
      if (byAddress.size > maxAddresses) byAddress.delete(byAddress.keys().next().value!);
    },
  };
}

export type LoginThrottle = ReturnType<typeof createLoginThrottle>;

/** The client's address: the socket's peer, or the entry a trusted proxy appended to X-Forwarded-For. */
export function clientAddress(
  remoteAddress: string | undefined,
  forwardedFor: string | string[] | undefined,
  trustProxy: boolean,
): string {
  if (trustProxy && forwardedFor !== undefined) {
    const header = Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor;
    const last = header.split(',').at(-1)?.trim();
    if (last !== undefined && last !== '') return last.slice(0, 64);
  }
  return remoteAddress ?? 'unknown';
}
