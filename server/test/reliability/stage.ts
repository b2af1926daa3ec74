// The set-up every scenario shares: a key prefix of its own, a fake model API, secrets to watch for, the
// environment of its processes, and a teardown that kills them and deletes every key the scenario wrote.
import { randomBytes } from 'node:crypto';
import { type FakeOpenAI, Fleet, REDIS_URL, startFakeOpenAI, testPrefix } from '@chrome-plus/testkit';
import { Redis } from 'ioredis';
import { testEnv } from '../harness.ts';

export interface User {
  name: string;
  token: string;
}

export interface Stage {
  prefix: string;
  redisUrl: string;
  fake: FakeOpenAI;
  fleet: Fleet;
  env: Record<string, string>;
  users: User[];
  /** The model API key and every user token: none may appear in a log line or a frame. */
  secrets: string[];
  /** Keys of the prefix in Redis right now. */
  keyCount(): Promise<number>;
  close(): Promise<void>;
}

export interface StageOptions {
  /** Environment overrides for every process. */
  env?: Record<string, string>;
  /** A Redis of the scenario's own (default: the shared one at TEST_REDIS_URL). */
  redisUrl?: string;
  users?: string[];
  logLevel?: string;
  /** Leave the model API URL out (the scenario points it elsewhere). */
  noFake?: boolean;
}

/** Scans keys of a prefix on `redisUrl`; with `remove`, deletes them. Never FLUSHDB: the Redis is shared. */
export async function scanPrefix(redisUrl: string, prefix: string, remove: boolean): Promise<number> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  let count = 0;
  try {
    for (const pattern of [`${prefix}:*`, `{${prefix}}:*`]) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        count += keys.length;
        if (remove && keys.length > 0) await redis.del(...keys);
      } while (cursor !== '0');
    }
  } finally {
    redis.disconnect();
  }
  return count;
}

export async function createStage(name: string, options: StageOptions = {}): Promise<Stage> {
  const prefix = testPrefix(name);
  const redisUrl = options.redisUrl ?? REDIS_URL;
  const apiKey = `sk-reliability-${randomBytes(12).toString('hex')}`;
  const users = (options.users ?? ['alice', 'bob']).map((user) => ({
    name: user,
    token: `${user}-token-${randomBytes(12).toString('hex')}`,
  }));
  const fake = await startFakeOpenAI({ apiKey });
  const env = testEnv(prefix, {
    REDIS_URL: redisUrl,
    ...(options.noFake !== true && { OPENAI_BASE_URL: fake.url }),
    OPENAI_API_KEY: apiKey,
    OPENAI_MODEL: 'fake-model',
    AUTH_TOKENS: users.map((user) => `${user.name}:${user.token}`).join(','),
    ...options.env,
  });
  const fleet = new Fleet(env, options.logLevel === undefined ? {} : { logLevel: options.logLevel });
  return {
    prefix,
    redisUrl,
    fake,
    fleet,
    env,
    users,
    secrets: [apiKey, ...users.map((user) => user.token)],
    keyCount: () => scanPrefix(redisUrl, prefix, false),
    async close() {
      await fleet.stop('SIGKILL');
      await fake.close();
      await scanPrefix(redisUrl, prefix, true).catch(() => 0);
    },
  };
}

/** The secrets found in `texts` (each listed once): must be empty. */
export function leakedSecrets(secrets: readonly string[], texts: readonly string[]): string[] {
  return secrets.filter((secret) => texts.some((text) => text.includes(secret)));
}
