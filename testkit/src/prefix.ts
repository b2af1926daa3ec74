// Key prefixes: each test works on keys of its own in the shared Redis, and deletes them after.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { REDIS_URL } from './redis.ts';

export function testPrefix(name: string): string {
  return `t${name.replace(/[^a-z0-9]/gi, '').slice(0, 10)}${randomBytes(3).toString('hex')}`;
}

/**
 * Counts, and with `remove` deletes, the keys of a prefix on one node: the log and meta keys, and BullMQ's
 * `{prefix}` keys. `oneByOne`: a DEL per key, for a cluster node whose keys lie in many slots.
 */
export async function scanPrefix(
  redis: Redis,
  prefix: string,
  options: { remove: boolean; oneByOne?: boolean },
): Promise<number> {
  let found = 0;
  for (const pattern of [`${prefix}:*`, `{${prefix}}:*`]) {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      cursor = next;
      found += keys.length;
      if (!options.remove || keys.length === 0) continue;
      if (options.oneByOne) for (const key of keys) await redis.del(key);
      else await redis.del(...keys);
    } while (cursor !== '0');
  }
  return found;
}

/** Deletes every key of a prefix in the shared Redis. */
export async function cleanupPrefix(prefix: string, url = REDIS_URL): Promise<void> {
  const redis = new Redis(url);
  try {
    await scanPrefix(redis, prefix, { remove: true });
  } finally {
    redis.disconnect();
  }
}
