// A Sentinel set of one's own for tests: a master, 2 replicas and 3 sentinels on free ports of 127.0.0.1, in a
// temporary folder; failovers on demand (SENTINEL FAILOVER, or the master killed), and cleanup on the master.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scanPrefix } from './prefix.ts';
import type { ManagedProcess } from './processes.ts';
import { redisServerArgs } from './redis.ts';
import { freeRedisPorts, launchRedis, withNode } from './redis-cluster.ts';
import { until } from './wait.ts';

export interface OwnRedisSentinel {
  /** The master's name in the sentinels' configuration (REDIS_SENTINEL_NAME). */
  readonly name: string;
  /** REDIS_SENTINELS for the roles. */
  readonly sentinelsEnv: string;
  readonly directory: string;
  /** The port of the master the sentinels name now. */
  master(): Promise<number>;
  /** SENTINEL FAILOVER; resolves with the new master's port once it is master and the sentinels say so. */
  failover(): Promise<number>;
  /** SIGKILLs the master; resolves with the new master's port once the sentinels promoted a replica. */
  killMaster(): Promise<number>;
  /** Deletes every key of a prefix (and BullMQ's `{prefix}`) on the master; returns how many. */
  cleanup(prefix: string): Promise<number>;
  destroy(): Promise<void>;
}

export interface RedisSentinelOptions {
  /** down-after-milliseconds: how long the master may be silent before it is failed over (default 1000 ms). */
  downAfterMs?: number;
}

const NAME = 'chrome-plus';

export async function startRedisSentinel(options: RedisSentinelOptions = {}): Promise<OwnRedisSentinel> {
  const directory = mkdtempSync(join(tmpdir(), 'chrome-plus-sentinel-'));
  const [masterPort, ...rest] = await freeRedisPorts(6, false);
  const replicaPorts = rest.slice(0, 2);
  const sentinelPorts = rest.slice(2, 5);
  const processes = new Map<number, ManagedProcess>();
  const destroy = async () => {
    await Promise.all([...processes.values()].map((server) => server.stop(3_000)));
    processes.clear();
    rmSync(directory, { recursive: true, force: true });
  };
  const dataArgs = (port: number) => [
    ...redisServerArgs(port, join(directory, String(port)), 'memory'),
    '--repl-diskless-sync',
    'yes',
    '--repl-diskless-sync-delay',
    '0',
  ];
  try {
    for (const port of [masterPort!, ...replicaPorts]) {
      mkdirSync(join(directory, String(port)));
    }
    const master = launchRedis(`redis master ${masterPort}`, masterPort!, dataArgs(masterPort!));
    processes.set(masterPort!, master);
    await master.ready;
    await Promise.all(
      replicaPorts.map(async (port) => {
        const replica = launchRedis(`redis replica ${port}`, port, [
          ...dataArgs(port),
          '--replicaof',
          '127.0.0.1',
          String(masterPort),
        ]);
        processes.set(port, replica);
        await replica.ready;
      }),
    );
    await Promise.all(
      sentinelPorts.map(async (port) => {
        const file = join(directory, `sentinel-${port}.conf`);
        writeFileSync(
          file,
          [
            `port ${port}`,
            'bind 127.0.0.1',
            `dir ${directory}`,
            `sentinel monitor ${NAME} 127.0.0.1 ${masterPort} 2`,
            `sentinel down-after-milliseconds ${NAME} ${options.downAfterMs ?? 1_000}`,
            `sentinel failover-timeout ${NAME} 10000`,
            `sentinel parallel-syncs ${NAME} 2`,
            'loglevel warning',
            '',
          ].join('\n'),
        );
        const sentinel = launchRedis(`redis sentinel ${port}`, port, [file, '--sentinel']);
        processes.set(port, sentinel);
        await sentinel.ready;
      }),
    );
  } catch (error) {
    await destroy();
    throw error;
  }

  const sentinelAnswer = async (): Promise<number | undefined> => {
    for (const port of sentinelPorts) {
      try {
        const address = (await withNode(port, (redis) =>
          redis.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', NAME),
        )) as [string, string] | null;
        if (address !== null) return Number(address[1]);
      } catch {}
    }
    return undefined;
  };

  /**
   * Every sentinel names `port`, which says it is master; with `replicasToo`, every other live data node replicates it
   * in sync (after a failover, the sentinels turn the old master into a replica some seconds later).
   */
  async function settledOn(port: number, replicasToo = false): Promise<boolean> {
    for (const sentinel of sentinelPorts) {
      const address = (await withNode(sentinel, (redis) =>
        redis.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', NAME),
      ).catch(() => null)) as [string, string] | null;
      if (address === null || Number(address[1]) !== port) return false;
    }
    const role = await withNode(port, (redis) => redis.role()).catch(() => ['none']);
    if (role[0] !== 'master') return false;
    if (!replicasToo) return true;
    for (const other of [masterPort!, ...replicaPorts]) {
      if (other === port || processes.get(other)?.alive() !== true) continue;
      const info = await withNode(other, (redis) => redis.info('replication')).catch(() => '');
      if (!info.includes(`master_port:${port}`) || !info.includes('master_link_status:up')) return false;
    }
    return true;
  }

  const set: OwnRedisSentinel = {
    name: NAME,
    sentinelsEnv: sentinelPorts.map((port) => `127.0.0.1:${port}`).join(','),
    directory,
    async master() {
      const port = await sentinelAnswer();
      if (port === undefined) throw new Error('no sentinel names a master');
      return port;
    },
    async failover() {
      const before = await set.master();
      await withNode(sentinelPorts[0]!, (redis) => redis.call('SENTINEL', 'FAILOVER', NAME));
      let after = before;
      await until(
        async () => {
          after = (await sentinelAnswer()) ?? before;
          return after !== before && (await settledOn(after));
        },
        { timeoutMs: 20_000, intervalMs: 100, what: 'the sentinels to fail over' },
      );
      return after;
    },
    async killMaster() {
      const before = await set.master();
      await processes.get(before)?.kill('SIGKILL');
      let after = before;
      await until(
        async () => {
          after = (await sentinelAnswer()) ?? before;
          return after !== before && (await settledOn(after));
        },
        { timeoutMs: 30_000, intervalMs: 100, what: 'the sentinels to replace the killed master' },
      );
      return after;
    },
    async cleanup(prefix) {
      return await withNode(await set.master(), (redis) => scanPrefix(redis, prefix, { remove: true }));
    },
    destroy,
  };

  // Ready when every sentinel knows the master, both replicas and the two other sentinels.
  try {
    await until(
      async () => {
        for (const port of sentinelPorts) {
          const fields = (await withNode(port, (redis) => redis.call('SENTINEL', 'MASTER', NAME)).catch(
            () => [],
          )) as string[];
          const field = (key: string) => Number(fields[fields.indexOf(key) + 1] ?? -1);
          if (field('num-slaves') < 2 || field('num-other-sentinels') < 2) return false;
        }
        return await settledOn(masterPort!, true);
      },
      { timeoutMs: 20_000, intervalMs: 100, what: 'the sentinels to know each other and the replicas' },
    );
  } catch (error) {
    await destroy();
    throw error;
  }
  return set;
}
