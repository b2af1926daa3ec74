// The daily token budget, checked when a chat.send is admitted: before anything is enqueued or sent to a model.
// Days are UTC days. A generation running when the budget runs out finishes; the next request is refused.
import type { Refusal } from '../files/attachment-policy.ts';
import type { Logger } from '../logger.ts';
import type { AccountDirectory } from './account-directory.ts';
import type { AccountStore } from './account-store.ts';

const DAY_MS = 86_400_000;

export function startOfUtcDay(now: number): number {
  return now - (now % DAY_MS);
}

function duration(ms: number): string {
  const minutes = Math.max(1, Math.ceil(ms / 60_000));
  const hours = Math.floor(minutes / 60);
  return hours > 0 ? `${hours} h ${minutes % 60} min` : `${minutes} min`;
}

export interface QuotaRefusal extends Refusal {
  retryAfterMs: number;
}

/**
 * Returns undefined at once for a user without a budget (no database call); otherwise the refusal, if the budget
 * is spent. A database that does not answer lets the request through (logged): an outage of the accounts must not
 * stop every chat.
 */
export function createQuotaCheck(options: {
  directory: Pick<AccountDirectory, 'quotaOf'>;
  store: Pick<AccountStore, 'tokensSince'>;
  logger: Logger;
  now?: () => number;
}): (user: string) => Promise<QuotaRefusal | undefined> | undefined {
  const now = options.now ?? Date.now;
  return (user) => {
    const limit = options.directory.quotaOf(user);
    if (limit === undefined) return undefined;
    return (async () => {
      const at = now();
      const dayStart = startOfUtcDay(at);
      let used: number;
      try {
        used = await options.store.tokensSince(user, new Date(dayStart));
      } catch (error) {
        options.logger.warn({ err: error, user }, 'could not read usage for the quota: request let through');
        return undefined;
      }
      if (used < limit) return undefined;
      const retryAfterMs = dayStart + DAY_MS - at;
      return {
        code: 'quota_exceeded',
        message: `daily token budget spent: ${used.toLocaleString('en-US')} of ${limit.toLocaleString('en-US')} tokens today; it resets at 00:00 UTC, in ${duration(retryAfterMs)}`,
        retryAfterMs,
      };
    })();
  };
}
