// Key prefixes: each test works on keys of its own in the shared Redis, and deletes them after.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { REDIS_URL } from './redis.ts';

export function testPrefix(name: string): string {
  return `t${name.replace(/[^a-z0-9]/gi, '').slice(0, 10)}${randomBytes(3).toString('hex')}`;
}

/** Deletes every key of a prefix: the log and meta keys, and BullMQ's `{prefix}` keys. */
export async function cleanupPrefix(prefix: string, url = REDIS_URL): Promise<void> {
  const redis = new Redis(url);
  try {
    for (const pattern of [`${prefix}:*`, `{${prefix}}:*`]) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
        cursor = next;
        if (keys.length > 0) await redis.del(...keys);
      } while (cursor !== '0');
    }
  } finally {
    redis.disconnect();
  }
}
