// Per-user admission (requests per minute, generations in flight) shared by every gateway through Redis,
// and a per-socket frame budget kept in memory.

import type { Keys } from '../generations/keys.ts';
import type { RedisClient } from '../redis/connect.ts';
import { defineScript } from '../redis/script.ts';

const admitScript = defineScript(`
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], 61000) end
if count > tonumber(ARGV[2]) then
  return {0, 'minute'}
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[3]) then
  redis.call('DECR', KEYS[1])
  return {0, 'concurrent'}
end
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[6])
return {1, 'ok'}
`);

export type Admission =
  | { ok: true }
  | { ok: false; reason: 'minute' | 'concurrent'; retryAfterMs: number; message: string };

export interface AdmissionOptions {
  redis: RedisClient;
  keys: Keys;
  requestsPerMinute: number;
  concurrentGenerations: number;
  now?: () => number;
}

export function createAdmission(options: AdmissionOptions) {
  const now = options.now ?? Date.now;
  return {
    /** Counts a new request against the user's limits; `deadline` bounds how long it may hold a slot. */
    async admit(user: string, key: string, deadline: number): Promise<Admission> {
      const time = now();
      const minute = Math.floor(time / 60_000);
      const [ok, reason] = (await admitScript.run(
        options.redis,
        [options.keys.rate(user, minute), options.keys.inflight(user)],
        [
          time,
          options.requestsPerMinute,
          options.concurrentGenerations,
          key,
          deadline,
          Math.max(deadline - time, 1000),
        ],
      )) as [number, string];
      if (ok === 1) return { ok: true };
      if (reason === 'minute') {
        return {
          ok: false,
          reason: 'minute',
          retryAfterMs: (minute + 1) * 60_000 - time,
          message: `at most ${options.requestsPerMinute} requests a minute`,
        };
      }
      return {
        ok: false,
        reason: 'concurrent',
        retryAfterMs: 2_000,
        message: `at most ${options.concurrentGenerations} answers at a time: wait for one to finish`,
      };
    },
    release(user: string, key: string): Promise<number> {
      return options.redis.zrem(options.keys.inflight(user), key);
    },
  };
}

export type AdmissionControl = ReturnType<typeof createAdmission>;

/** Sockets per user on one gateway: `open` says no once a user holds `max` of them. */
export function createUserSockets(max: number) {
  const counts = new Map<string, number>();
  return {
    open(user: string): boolean {
      const count = counts.get(user) ?? 0;
      if (count >= max) return false;
      counts.set(user, count + 1);
      return true;
    },
    close(user: string): void {
      const count = (counts.get(user) ?? 1) - 1;
      if (count <= 0) counts.delete(user);
      else counts.set(user, count);
    },
  };
}

export type UserSockets = ReturnType<typeof createUserSockets>;

/**
 * A token bucket: `ratePerSecond` frames a second, bursts of twice that. A class rather than closures: there is one
 * per socket, and its methods then live once, on the prototype.
 */
export class FrameBudget {
  private tokens: number;
  private last: number;
  private readonly capacity: number;
  private readonly ratePerSecond: number;
  private readonly now: () => number;

  constructor(ratePerSecond: number, now: () => number = Date.now) {
    this.ratePerSecond = ratePerSecond;
    this.now = now;
    this.capacity = ratePerSecond * 2;
    this.tokens = this.capacity;
    this.last = now();
  }

  /** Takes one frame's token; false when the client sends faster than its budget. */
  take(): boolean {
    const time = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((time - this.last) / 1000) * this.ratePerSecond);
    this.last = time;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** How long until the next frame would be accepted. */
  retryAfterMs(): number {
    return Math.ceil(((1 - this.tokens) / this.ratePerSecond) * 1000);
  }
}
