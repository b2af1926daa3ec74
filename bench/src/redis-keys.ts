// The bench's own Redis keys: memory of a key pattern, and deleting a run's keys by prefix (never FLUSHDB: Redis is shared).
import { Redis } from 'ioredis';

export function connectRedis(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: 2, lazyConnect: false });
}

/** Every key matching `pattern`, at most `limit`, by SCAN. */
async function scanKeys(redis: Redis, pattern: string, limit: number): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  for (let round = 0; round < 100_000 && keys.length < limit; round++) {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
    if (cursor === '0') break;
  }
  return keys;
}

/** Deletes every key that starts with `prefix` or `{prefix`; returns how many. */
export async function deleteKeys(redis: Redis, prefix: string): Promise<number> {
  if (!/^[A-Za-z0-9_-]{4,}$/.test(prefix)) throw new Error(`refusing to delete keys of prefix "${prefix}"`);
  let deleted = 0;
  for (const pattern of [`${prefix}*`, `{${prefix}*`]) {
    const keys = await scanKeys(redis, pattern, 10_000_000);
    for (let start = 0; start < keys.length; start += 500) {
      deleted += await redis.unlink(...keys.slice(start, start + 500));
    }
  }
  return deleted;
}

/** Sum of MEMORY USAGE over the keys matching `pattern` (sampled up to `limit` keys), and how many keys. */
export async function memoryOf(
  redis: Redis,
  pattern: string,
  limit = 5_000,
): Promise<{ keys: number; bytes: number }> {
  const keys = await scanKeys(redis, pattern, limit);
  let bytes = 0;
  for (const key of keys) bytes += Number((await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) ?? 0);
  return { keys: keys.length, bytes };
}

export async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
}

export async function redisVersion(redis: Redis): Promise<string> {
  const info = await redis.info('server');
  return /redis_version:([^\r\n]+)/.exec(info)?.[1] ?? 'unknown';
}
