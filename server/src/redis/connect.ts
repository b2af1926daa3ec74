// Redis connections, made one way for every deployment (one node, Sentinel, Cluster): named, retrying through
// failovers, and ready for BullMQ's blocking commands.
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';

/** What every module of the server talks to: one node (alone or Sentinel-managed) or a whole cluster. */
export type RedisClient = Redis | Cluster;

export interface RedisAddress {
  host: string;
  port: number;
}

/** Where Redis is, as `config.ts` read it from the environment. */
export type RedisTarget =
  | { mode: 'single'; url: string }
  | {
      mode: 'sentinel';
      sentinels: RedisAddress[];
      /** The master's name in the sentinels' configuration (REDIS_SENTINEL_NAME). */
      name: string;
      username?: string;
      password?: string;
      sentinelPassword?: string;
      tls: boolean;
      db: number;
    }
  | { mode: 'cluster'; nodes: RedisAddress[]; username?: string; password?: string; tls: boolean };

// A command waits for Redis to come back instead of failing: a failover is a stall, not an error.
const retryStrategy = (times: number) => Math.min(50 * 2 ** Math.min(times, 6), 2_000);

// A node that was a master and is now a replica answers writes with READONLY (a Sentinel failover seen from an
// open connection), LOADING while it loads its data: reconnect (to the master Sentinel names now) and send again.
function reconnectOnError(error: Error): 2 | false {
  return error.message.startsWith('READONLY') || error.message.startsWith('LOADING') ? 2 : false;
}

function credentials(target: { username?: string; password?: string; tls: boolean }): RedisOptions {
  return {
    ...(target.username !== undefined && { username: target.username }),
    ...(target.password !== undefined && { password: target.password }),
    ...(target.tls && { tls: {} }),
  };
}

/** ioredis's options for a cluster: commands ride out a failover (about 20 s of retries) instead of failing. */
export function clusterOptions(
  target: Extract<RedisTarget, { mode: 'cluster' }>,
  name: string,
  extra: RedisOptions = {},
): ClusterOptions {
  return {
    redisOptions: {
      connectionName: name,
      // BullMQ needs this on its connections; for ours it means "wait for Redis to come back".
      maxRetriesPerRequest: null,
      reconnectOnError,
      ...credentials(target),
      ...extra,
    },
    // Not on a cluster: an automatic pipeline whose commands get MOVED to different nodes (a failover under load)
    // hands the MOVED to the caller instead of following it; each command alone follows it.
    enableAutoPipelining: false,
    ...(extra.lazyConnect === true && { lazyConnect: true }),
    // Slots are read again on MOVED and when a node goes; also every 2 s, so that a subscriber learns of a failover
    // that moved no command (server/src/redis/cluster-subscriber.ts).
    slotsRefreshInterval: 2_000,
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 200,
    retryDelayOnTryAgain: 200,
    retryDelayOnMoved: 20,
    // Each retry above counts as a redirection: 100 of them at 200 ms is the longest failover a command waits out.
    maxRedirections: 100,
    clusterRetryStrategy: retryStrategy,
    ...(target.tls && { dnsLookup: (address, callback) => callback(null, address) }),
  };
}

/** A new connection; `name` shows in CLIENT LIST. `extra` adds ioredis options (tests: lazyConnect...). */
export function createRedis(
  target: RedisTarget | string,
  name: string,
  extra: RedisOptions = {},
): RedisClient {
  const resolved: RedisTarget = typeof target === 'string' ? { mode: 'single', url: target } : target;
  if (resolved.mode === 'cluster') {
    return new Cluster(
      resolved.nodes.map((node) => ({ host: node.host, port: node.port })),
      clusterOptions(resolved, name, extra),
    );
  }
  const common: RedisOptions = {
    connectionName: name,
    // BullMQ needs this on its connections; for ours it means "wait for Redis to come back", not "fail at once".
    maxRetriesPerRequest: null,
    enableAutoPipelining: true,
    retryStrategy,
  };
  if (resolved.mode === 'single') return new Redis(resolved.url, { ...common, ...extra });
  return new Redis({
    ...common,
    reconnectOnError,
    sentinels: resolved.sentinels,
    name: resolved.name,
    db: resolved.db,
    ...credentials(resolved),
    ...(resolved.sentinelPassword !== undefined && { sentinelPassword: resolved.sentinelPassword }),
    ...(resolved.tls && { enableTLSForSentinelMode: true, sentinelTLS: {} }),
    // Sentinels announce a new master on +switch-master: reconnect at once rather than at the next failed command.
    failoverDetector: true,
    sentinelRetryStrategy: retryStrategy,
    ...extra,
  });
}

/** A connection of the same deployment to one node (a cluster's subscribers connect to each master). */
export function createNodeRedis(
  target: RedisTarget,
  address: RedisAddress,
  name: string,
  extra: RedisOptions = {},
): Redis {
  const secure = target.mode === 'single' ? {} : credentials(target);
  return new Redis({
    host: address.host,
    port: address.port,
    connectionName: name,
    maxRetriesPerRequest: null,
    retryStrategy,
    ...secure,
    ...extra,
  });
}

export function isCluster(redis: RedisClient): redis is Cluster {
  return (redis as Cluster).isCluster === true;
}

/** True when the client can serve commands: PING for a node, `cluster_state:ok` for a cluster. */
export async function redisReady(redis: RedisClient): Promise<boolean> {
  if (redis.status !== 'ready') return false;
  try {
    if (!isCluster(redis)) return (await redis.ping()) === 'PONG';
    const info = String(await redis.cluster('INFO'));
    return /^cluster_state:ok\s*$/m.test(info);
  } catch {
    return false;
  }
}

/** Where Redis is, for a log line or an error message: no password. */
export function describeRedis(target: RedisTarget): string {
  const list = (addresses: RedisAddress[]) => addresses.map((node) => `${node.host}:${node.port}`).join(',');
  if (target.mode === 'single') return target.url.replace(/\/\/[^@/]*@/, '//***@');
  if (target.mode === 'sentinel') return `Sentinel master "${target.name}" via ${list(target.sentinels)}`;
  return `Redis Cluster via ${list(target.nodes)}`;
}

/**
 * Resolves when Redis can serve (a node answers PING; a cluster says `cluster_state:ok`), or rejects after
 * `timeoutMs` with a message a person can act on.
 */
export async function checkRedis(target: RedisTarget | string, timeoutMs = 3_000): Promise<void> {
  const redis = createRedis(target, 'cp-check', {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: timeoutMs,
  });
  if (isCluster(redis)) redis.options.clusterRetryStrategy = () => null;
  redis.on('error', () => {});
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      (async () => {
        await redis.connect();
        if (!isCluster(redis)) {
          await redis.ping();
          return;
        }
        const info = String(await redis.cluster('INFO'));
        const state = /^cluster_state:(\w+)/m.exec(info)?.[1] ?? 'unknown';
        if (state !== 'ok') throw new Error(`the cluster's state is "${state}", not "ok"`);
      })(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    redis.disconnect();
  }
}

/** Which Pub/Sub generation events go out on: sharded (SPUBLISH, Redis ≥ 7.0) or classic (PUBLISH). */
export type PubSubMode = 'sharded' | 'classic';

/**
 * `auto` chooses sharded Pub/Sub when the server has it (Redis ≥ 7.0), classic otherwise; a cluster requires it.
 * Every gateway and worker of a deployment must choose the same: they ask the same Redis.
 */
export async function resolvePubSubMode(
  redis: RedisClient,
  setting: PubSubMode | 'auto',
  mode: RedisTarget['mode'],
): Promise<PubSubMode> {
  if (setting !== 'auto') return setting;
  if (mode === 'cluster') return 'sharded';
  try {
    const info = String(await redis.info('server'));
    const major = Number(/^redis_version:(\d+)/m.exec(info)?.[1] ?? '0');
    return major >= 7 ? 'sharded' : 'classic';
  } catch {
    return 'classic';
  }
}
