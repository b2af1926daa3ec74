// The systems under test: the real one (optionally with another coalescing window, on a Redis Cluster of its own, or
// with its accounts and history in a PostgreSQL of its own) and the three baselines.

import { join } from 'node:path';
import { startProcess } from '@chrome-plus/testkit';
import type { Protocol } from './load/spec.ts';
import { baseEnv, bundlePath, type Service, spawnService } from './processes.ts';

export type TargetName =
  | 'system'
  | 'system-1ms'
  | 'system-cluster'
  | 'system-history'
  | 'direct'
  | 'pubsub'
  | 'socketio';

export interface TargetInfo {
  name: TargetName;
  label: string;
  description: string;
  protocol: Protocol;
}

export const TARGETS: Record<TargetName, TargetInfo> = {
  system: {
    name: 'system',
    label: 'Chrome Plus',
    description:
      "the real system: gateway and worker processes, BullMQ, the per-request log (Lua append + XADD + PUBLISH), coalescing as server/src/app.ts's default has it",
    protocol: 'ws',
  },
  'system-1ms': {
    name: 'system-1ms',
    label: 'Chrome Plus, 1 ms window',
    description:
      'the real system with the worker coalescing window set to 1 ms (maxDelayMs 1, maxChars 2048)',
    protocol: 'ws',
  },
  'system-cluster': {
    name: 'system-cluster',
    label: 'Chrome Plus, 3-master cluster',
    description:
      'the real system on a Redis Cluster of its own (3 masters, a replica each, started by testkit on free ports, REDIS_CLUSTER_NODES): sharded Pub/Sub, keys and queues spread over the masters',
    protocol: 'ws',
  },
  'system-history': {
    name: 'system-history',
    label: 'Chrome Plus, history sync',
    description:
      "the real system as server/src/main.ts starts it (one gateway, one worker) with DATABASE_URL on a PostgreSQL database of the bench's own, migrated by the gateway, seeded by bulk SQL, dropped afterwards",
    protocol: 'ws',
  },
  direct: {
    name: 'direct',
    label: '(a) direct',
    description:
      'baseline (a): one gateway process calls the model server inline and writes each delta to the socket',
    protocol: 'ws',
  },
  pubsub: {
    name: 'pubsub',
    label: '(b) seed Pub/Sub',
    description:
      "baseline (b): the seed's design: gateway enqueues a BullMQ job, the worker PUBLISHes every delta, no log",
    protocol: 'ws',
  },
  socketio: {
    name: 'socketio',
    label: '(c) Socket.IO',
    description:
      'baseline (c): Socket.IO gateway with @socket.io/redis-adapter; the worker emits every delta to the request room',
    protocol: 'socketio',
  },
};

export interface RunningTarget {
  info: TargetInfo;
  url: string;
  /** Tokens the clients say hello with (the real system checks them; the baselines ignore them). */
  tokens: string[];
  gateways: Service[];
  workers: Service[];
  stop(): Promise<void>;
}

export interface StartOptions {
  redisUrl: string;
  keyPrefix: string;
  modelUrl: string;
  /** Directory for CPU profiles of the target's processes, when profiling. */
  cpuProfileDir?: string | undefined;
  /** The `system` target's coalescing window, when not app.ts's default. */
  coalesceMs?: number | undefined;
  /** Worker processes of the queue-based targets (default 1). */
  workers?: number | undefined;
  /** REDIS_PUBSUB of the one-node system targets (auto, sharded or classic; unset: the server's default, auto). */
  redisPubSub?: string | undefined;
  /** REDIS_CLUSTER_NODES of the `system-cluster` target (host:port,…). */
  clusterNodes?: string | undefined;
  /** DATABASE_URL and ADMIN_TOKEN of the `system-history` target. */
  databaseUrl?: string | undefined;
  adminToken?: string | undefined;
}

/**
 * A role of the server's own entry (bundled as production bundles it), ready when its info log says so (as testkit's
 * roles are): "gateway listening on host:port", "worker ready". Its environment is `env` alone.
 */
async function startServerRole(
  name: string,
  role: 'gateway' | 'worker',
  env: Record<string, string>,
  cpuProfileDir: string | undefined,
): Promise<Service> {
  const flags = ['--enable-source-maps'];
  if (cpuProfileDir !== undefined) flags.push('--cpu-prof', `--cpu-prof-dir=${join(cpuProfileDir, name)}`);
  const started = startProcess<number>({
    name,
    args: [...flags, bundlePath('server-main'), role],
    env: { ...env, LOG_LEVEL: 'info', WORKER_PROCESSES: '1' },
    outputLimit: 4000,
    readyLine: (line) => {
      if (role === 'worker') return line.includes('worker ready') ? 0 : undefined;
      const port = /gateway listening on [^\s:]+:(\d+)/.exec(line)?.[1];
      return port === undefined ? undefined : Number(port);
    },
  });
  const port = await started.ready;
  return {
    name,
    pid: started.pid,
    port,
    memory: () => undefined,
    stop: async () => {
      await started.stop(6_000);
    },
  };
}

/** Users of the real system: many users, so that per-user limits and keys spread as in production. */
const USERS = 64;

export async function startTarget(name: TargetName, options: StartOptions): Promise<RunningTarget> {
  const info = TARGETS[name];
  const tokens = Array.from({ length: USERS }, (_, index) => `bench-token-${String(index).padStart(4, '0')}`);
  const env: Record<string, string> = {
    ...baseEnv(),
    HOST: '127.0.0.1',
    PORT: '0',
    REDIS_URL: options.redisUrl,
    KEY_PREFIX: options.keyPrefix,
    OPENAI_BASE_URL: options.modelUrl,
    OPENAI_API_KEY: 'bench',
    OPENAI_MODEL: 'bench-model',
    WORKER_CONCURRENCY: '10000',
    // Generous limits: the bench measures delivery, not the limits.
    RATE_LIMIT_PER_MINUTE: '1000000',
    MAX_CONCURRENT_GENERATIONS: '100000',
    MAX_FRAMES_PER_SECOND: '100000',
    MAX_SOCKETS_PER_USER: '100000',
    RETENTION_MS: '120000',
    LOG_LEVEL: 'warn',
    AUTH_TOKENS: tokens.map((token, index) => `user${index}:${token}`).join(','),
  };
  const services: Service[] = [];
  const stop = async () => {
    await Promise.all(services.map((service) => service.stop()));
  };
  try {
    const start = async (
      role: 'gateway' | 'worker',
      entry: string,
      extraEnv: Record<string, string> = {},
      index = 0,
    ) => {
      const service = await spawnService({
        name: `${name}-${role}${index === 0 ? '' : index + 1}`,
        entry,
        args: [role],
        env: { ...env, ...extraEnv },
        cpuProfileDir: options.cpuProfileDir,
      });
      services.push(service);
      return service;
    };
    let gateway: Service;
    const workers: Service[] = [];
    const startWorkers = async (entry: string, extraEnv: Record<string, string> = {}) => {
      for (let index = 0; index < (options.workers ?? 1); index++)
        workers.push(await start('worker', entry, extraEnv, index));
    };
    switch (name) {
      case 'system-history': {
        if (options.databaseUrl === undefined || options.adminToken === undefined)
          throw new Error('system-history needs a database and an admin token');
        const roleEnv = { ...env, DATABASE_URL: options.databaseUrl, ADMIN_TOKEN: options.adminToken };
        // The worker first: whichever starts first applies the migrations, under their lock.
        const worker = await startServerRole(`${name}-worker`, 'worker', roleEnv, options.cpuProfileDir);
        services.push(worker);
        workers.push(worker);
        gateway = await startServerRole(`${name}-gateway`, 'gateway', roleEnv, options.cpuProfileDir);
        services.push(gateway);
        break;
      }
      case 'system':
      case 'system-1ms':
      case 'system-cluster': {
        const coalesce: Record<string, string> =
          name === 'system-1ms'
            ? { BENCH_COALESCE_MS: '1' }
            : options.coalesceMs !== undefined
              ? { BENCH_COALESCE_MS: String(options.coalesceMs) }
              : {};
        if (options.redisPubSub !== undefined && name !== 'system-cluster')
          coalesce.REDIS_PUBSUB = options.redisPubSub;
        if (name === 'system-cluster') {
          if (options.clusterNodes === undefined)
            throw new Error('system-cluster needs the nodes of a cluster');
          coalesce.REDIS_CLUSTER_NODES = options.clusterNodes;
        }
        await startWorkers('system', coalesce);
        gateway = await start('gateway', 'system', coalesce);
        break;
      }
      case 'direct':
        gateway = await start('gateway', 'direct');
        break;
      case 'pubsub':
        await startWorkers('pubsub');
        gateway = await start('gateway', 'pubsub');
        break;
      case 'socketio':
        await startWorkers('socketio');
        gateway = await start('gateway', 'socketio');
        break;
    }
    const url =
      info.protocol === 'ws' ? `ws://127.0.0.1:${gateway.port}/v1/ws` : `http://127.0.0.1:${gateway.port}`;
    return {
      info,
      url,
      tokens: name.startsWith('system') ? tokens : [],
      gateways: [gateway],
      workers,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
