// A Redis Cluster of one's own for tests: 3 masters and 3 replicas on free ports of 127.0.0.1, in a temporary folder,
// ready in a few seconds; failovers on demand (CLUSTER FAILOVER, or a master killed), and cleanup per master.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { portIsFree } from './ports.ts';
import { scanPrefix } from './prefix.ts';
import { type ManagedProcess, startProcess } from './processes.ts';
import { redisAnswers, redisServerArgs } from './redis.ts';
import { until } from './wait.ts';

const run = promisify(execFile);

/** `count` ports from a random place in 20000-29999 whose cluster bus port (+10000) is free too. */
export async function freeRedisPorts(count: number, withBus: boolean): Promise<number[]> {
  const ports: number[] = [];
  let candidate = 20_000 + Math.floor(Math.random() * 9_000);
  for (let tries = 0; ports.length < count && tries < 2_000; tries++, candidate++) {
    if (candidate > 29_999) candidate = 20_000;
    if (!(await portIsFree(candidate))) continue;
    if (withBus && !(await portIsFree(candidate + 10_000))) continue;
    ports.push(candidate);
  }
  if (ports.length < count) throw new Error(`found only ${ports.length} free ports for Redis`);
  return ports;
}

/** One redis-server process on a port, started again on demand. */
export interface RedisNode {
  readonly port: number;
  readonly process: ManagedProcess | undefined;
  kill(): Promise<void>;
}

export function launchRedis(name: string, port: number, args: string[]): ManagedProcess {
  const server = startProcess({
    name,
    command: 'redis-server',
    args,
    env: process.env,
    outputLimit: 65_536,
    timeoutMs: 10_000,
    readyProbe: async () => ((await redisAnswers(`redis://127.0.0.1:${port}`, 500)) ? true : undefined),
  });
  return server;
}

/** A short-lived connection to one node, closed after `use`. */
export async function withNode<T>(port: number, use: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    return await use(redis);
  } finally {
    redis.disconnect();
  }
}

interface ClusterNodeLine {
  port: number;
  id: string;
  master: boolean;
  failed: boolean;
  masterId: string;
  slots: [number, number][];
}

function parseClusterNodes(text: string): ClusterNodeLine[] {
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const [id, address, flags, masterId, , , , , ...slots] = line.split(' ');
      return {
        id: id ?? '',
        port: Number((address ?? '').split('@')[0]?.split(':')[1]),
        master: (flags ?? '').includes('master'),
        failed: /fail/.test(flags ?? ''),
        masterId: masterId ?? '-',
        slots: slots
          .filter((range) => !range.startsWith('['))
          .map((range) => {
            const [from, to] = range.split('-');
            return [Number(from), Number(to ?? from)] as [number, number];
          }),
      };
    });
}

export interface OwnRedisCluster {
  /** Every node's port, masters first as created. */
  readonly ports: readonly number[];
  /** REDIS_CLUSTER_NODES for the roles: every node. */
  readonly nodesEnv: string;
  readonly directory: string;
  /** The port of the master that owns `key`'s slot now. */
  masterOf(key: string): Promise<number>;
  /** The ports of the masters now, and of each one's replicas. */
  topology(): Promise<{ port: number; replicas: number[] }[]>;
  /** CLUSTER FAILOVER on a replica of the master at `port`; resolves once that replica is master and the cluster ok. */
  failover(port: number): Promise<number>;
  /** SIGKILLs the node at `port`; resolves once the cluster is ok again (a replica took over), with the new master. */
  killMaster(port: number): Promise<number>;
  /** Every live node says cluster_state:ok, every slot has a live master, every live replica is in sync. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** Deletes every key of a prefix (and BullMQ's `{prefix}`) on every master; returns how many. */
  cleanup(prefix: string): Promise<number>;
  /** Counts the keys of a prefix on every master. */
  countKeys(prefix: string): Promise<number>;
  /** Stops every node and deletes the folder. */
  destroy(): Promise<void>;
}

export interface RedisClusterOptions {
  /** cluster-node-timeout: how long a master may be silent before its replica takes over (default 1000 ms). */
  nodeTimeoutMs?: number;
}

/** Starts 6 nodes and makes them a cluster of 3 masters with a replica each. */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<OwnRedisCluster> {
  const directory = mkdtempSync(join(tmpdir(), 'chrome-plus-cluster-'));
  const ports = await freeRedisPorts(6, true);
  const nodeTimeout = options.nodeTimeoutMs ?? 1_000;
  const processes = new Map<number, ManagedProcess>();
  const destroy = async () => {
    await Promise.all([...processes.values()].map((server) => server.stop(3_000)));
    processes.clear();
    rmSync(directory, { recursive: true, force: true });
  };
  try {
    await Promise.all(
      ports.map(async (port) => {
        const server = launchRedis(`redis cluster node ${port}`, port, [
          ...redisServerArgs(port, directory, 'memory'),
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          `nodes-${port}.conf`,
          '--cluster-node-timeout',
          String(nodeTimeout),
          // A replica may take over whatever the age of its data: the tests kill masters on purpose.
          '--cluster-replica-validity-factor',
          '0',
          '--repl-diskless-sync',
          'yes',
          '--repl-diskless-sync-delay',
          '0',
        ]);
        processes.set(port, server);
        await server.ready;
      }),
    );
    await run(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...ports.map((port) => `127.0.0.1:${port}`),
        '--cluster-replicas',
        '1',
        '--cluster-yes',
      ],
      { timeout: 30_000 },
    );
  } catch (error) {
    await destroy();
    throw error;
  }

  const live = () => ports.filter((port) => processes.get(port)?.alive() === true);
  const nodes = async (): Promise<ClusterNodeLine[]> => {
    for (const port of live()) {
      try {
        return parseClusterNodes(String(await withNode(port, (redis) => redis.cluster('NODES'))));
      } catch {}
    }
    return [];
  };

  async function masterOfSlot(slot: number): Promise<number | undefined> {
    const found = (await nodes()).find(
      (node) => node.master && !node.failed && node.slots.some(([from, to]) => slot >= from && slot <= to),
    );
    return found?.port;
  }

  const cluster: OwnRedisCluster = {
    ports,
    nodesEnv: ports.map((port) => `127.0.0.1:${port}`).join(','),
    directory,
    async masterOf(key) {
      const slot = Number(await withNode(live()[0]!, (redis) => redis.cluster('KEYSLOT', key)));
      const port = await masterOfSlot(slot);
      if (port === undefined) throw new Error(`no master owns slot ${slot}`);
      return port;
    },
    async topology() {
      const all = await nodes();
      return all
        .filter((node) => node.master && !node.failed && node.slots.length > 0)
        .map((master) => ({
          port: master.port,
          replicas: all
            .filter((node) => node.masterId === master.id && !node.failed && live().includes(node.port))
            .map((node) => node.port),
        }));
    },
    async failover(port) {
      const replica = (await cluster.topology()).find((master) => master.port === port)?.replicas[0];
      if (replica === undefined) throw new Error(`the master at ${port} has no live replica`);
      await withNode(replica, (redis) => redis.cluster('FAILOVER'));
      await until(
        async () =>
          (await withNode(replica, (redis) => redis.role()))[0] === 'master' &&
          !(await cluster.topology()).some((master) => master.port === port),
        { timeoutMs: 15_000, intervalMs: 50, what: `replica ${replica} to take over from ${port}` },
      );
      await cluster.waitHealthy();
      return replica;
    },
    async killMaster(port) {
      const replica = (await cluster.topology()).find((master) => master.port === port)?.replicas[0];
      if (replica === undefined) throw new Error(`the master at ${port} has no live replica`);
      await processes.get(port)?.kill('SIGKILL');
      await until(async () => (await withNode(replica, (redis) => redis.role()))[0] === 'master', {
        timeoutMs: 20_000,
        intervalMs: 50,
        what: `replica ${replica} to take over from the killed ${port}`,
      });
      await cluster.waitHealthy();
      return replica;
    },
    async waitHealthy(timeoutMs = 20_000) {
      await until(
        async () => {
          for (const port of live()) {
            const ok = await withNode(port, async (redis) => {
              const info = String(await redis.cluster('INFO'));
              if (!info.includes('cluster_state:ok')) return false;
              const replication = await redis.info('replication');
              return !replication.includes('role:slave') || replication.includes('master_link_status:up');
            }).catch(() => false);
            if (!ok) return false;
          }
          const all = await nodes();
          const settled = all
            .filter((node) => live().includes(node.port) && !node.failed)
            .every((node) => (node.master ? node.slots.length > 0 : node.masterId !== '-'));
          if (!settled) return false;
          const owned = all
            .filter((node) => node.master && !node.failed && live().includes(node.port))
            .flatMap((node) => node.slots)
            .reduce((sum, [from, to]) => sum + to - from + 1, 0);
          return owned === 16_384;
        },
        { timeoutMs, intervalMs: 100, what: 'the cluster to be healthy' },
      );
    },
    async cleanup(prefix) {
      return await forEachKey(prefix, true);
    },
    async countKeys(prefix) {
      return await forEachKey(prefix, false);
    },
    destroy,
  };

  /** SCAN on each master (a cluster's SCAN sees one node), deleting key by key (keys of many slots). */
  async function forEachKey(prefix: string, remove: boolean): Promise<number> {
    let count = 0;
    for (const { port } of await cluster.topology()) {
      count += await withNode(port, (redis) => scanPrefix(redis, prefix, { remove, oneByOne: true }));
    }
    return count;
  }

  await cluster.waitHealthy();
  return cluster;
}
