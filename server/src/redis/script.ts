// A Lua script run by its SHA (EVALSHA), loaded on first use or after a Redis restart (NOSCRIPT).
import { createHash } from 'node:crypto';
import type { RedisClient } from './connect.ts';

export interface Script {
  run(redis: RedisClient, keys: string[], args: (string | number)[]): Promise<unknown>;
}

export function defineScript(lua: string): Script {
  const sha = createHash('sha1').update(lua).digest('hex');
  return {
    async run(redis, keys, args) {
      try {
        return await redis.evalsha(sha, keys.length, ...keys, ...args);
      } catch (error) {
        if (error instanceof Error && error.message.startsWith('NOSCRIPT')) {
          return await redis.eval(lua, keys.length, ...keys, ...args);
        }
        throw error;
      }
    },
  };
}
