// Redis for tests and local stacks: whether one answers, a redis-server of one's own (restartable, on a port and
// folder of its own), and "make sure one runs" for the stack.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { portIsFree } from './ports.ts';
import { type ManagedProcess, startProcess } from './processes.ts';

/** The shared Redis of the tests; each test works on a key prefix of its own (see prefix.ts). */
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Whether a Redis answers PING at `url` (one still loading its AOF does not). */
export async function redisAnswers(url: string, timeoutMs = 1_000): Promise<boolean> {
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: timeoutMs,
  });
  redis.on('error', () => {});
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  if (bare === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  return bare === '::1';
}

export function hasRedisServer(): boolean {
  return (process.env.PATH ?? '').split(':').some((directory) => existsSync(join(directory, 'redis-server')));
}

export type RedisPersistence = 'aof' | 'memory';

/** redis-server's arguments: loopback only, never evicting; `aof` fsyncs every second, `memory` keeps nothing. */
export function redisServerArgs(port: number, directory: string, persistence: RedisPersistence): string[] {
  return [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    directory,
    '--save',
    '',
    ...(persistence === 'aof'
      ? ['--appendonly', 'yes', '--appendfsync', 'everysec']
      : ['--appendonly', 'no']),
    '--maxmemory-policy',
    'noeviction',
    '--loglevel',
    'warning',
  ];
}

export interface OwnRedis {
  readonly port: number;
  readonly url: string;
  readonly directory: string;
  /** The redis-server's process id while it runs. */
  readonly pid: number | undefined;
  /** Stops it: `shutdown` (SHUTDOWN, the AOF flushed) or `kill` (SIGKILL, at most a second of writes lost). */
  stop(how: 'shutdown' | 'kill'): Promise<void>;
  /** Starts it again on the same port and folder: with `aof`, it reloads its data. */
  start(): Promise<void>;
  /** Stops it for good and deletes its folder. */
  destroy(): Promise<void>;
}

export interface OwnRedisOptions {
  /** Default: the first free port from a random place in 16390-16589. */
  port?: number;
  /** Default `aof`. */
  persistence?: RedisPersistence;
  detached?: boolean;
  onLine?: (line: string) => void;
}

/** Starts a redis-server of one's own, in a temporary folder; the shared Redis is never touched. */
export async function startOwnRedis(options: OwnRedisOptions = {}): Promise<OwnRedis> {
  const directory = mkdtempSync(join(tmpdir(), 'chrome-plus-redis-'));
  const persistence = options.persistence ?? 'aof';
  let server: ManagedProcess | undefined;
  let port = 0;

  async function launch(): Promise<boolean> {
    const url = `redis://127.0.0.1:${port}`;
    const candidate = startProcess({
      name: `redis-server on port ${port}`,
      command: 'redis-server',
      args: redisServerArgs(port, directory, persistence),
      env: process.env,
      outputLimit: 65_536,
      timeoutMs: 10_000,
      readyProbe: async () => ((await redisAnswers(url, 500)) ? true : undefined),
      ...(options.detached !== undefined && { detached: options.detached }),
      ...(options.onLine !== undefined && { onLine: options.onLine }),
    });
    server = candidate;
    try {
      await candidate.ready;
      return true;
    } catch {
      server = undefined;
      return false;
    }
  }

  if (options.port !== undefined) {
    port = options.port;
    if (!(await launch())) port = 0;
  } else {
    const first = 16390 + Math.floor(Math.random() * 150);
    for (let candidate = first; candidate < first + 50 && port === 0; candidate++) {
      if (!(await portIsFree(candidate))) continue;
      port = candidate;
      if (!(await launch())) port = 0;
    }
  }
  if (port === 0) {
    rmSync(directory, { recursive: true, force: true });
    throw new Error(
      `could not start a redis-server of our own${options.port === undefined ? '' : ` on port ${options.port}`} (is redis-server installed?)`,
    );
  }

  const url = `redis://127.0.0.1:${port}`;
  return {
    port,
    url,
    directory,
    get pid() {
      return server?.alive() ? server.pid : undefined;
    },
    async stop(how) {
      const running = server;
      if (running === undefined) return;
      if (how === 'kill') running.child.kill('SIGKILL');
      else {
        const redis = new Redis(url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
        redis.on('error', () => {});
        // SHUTDOWN closes the connection instead of answering.
        await redis.call('SHUTDOWN').catch(() => {});
        redis.disconnect();
      }
      const timer = setTimeout(() => running.child.kill('SIGKILL'), 10_000);
      await running.exited;
      clearTimeout(timer);
      server = undefined;
    },
    async start() {
      if (server !== undefined) return;
      if (!(await launch())) throw new Error(`redis-server did not restart on port ${port}`);
    },
    async destroy() {
      await server?.stop(5_000);
      server = undefined;
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

/**
 * Makes sure a Redis answers at `url`: undefined when one does, else a redis-server started on its port, in memory
 * (only for a loopback URL, and when redis-server is installed; otherwise it throws saying what to do).
 */
export async function ensureRedis(
  url: string,
  options: { start?: boolean; detached?: boolean; onLine?: (line: string) => void } = {},
): Promise<OwnRedis | undefined> {
  if (await redisAnswers(url, 500)) return undefined;
  const parsed = new URL(url);
  if (options.start === false || !isLoopbackHost(parsed.hostname) || !hasRedisServer()) {
    throw new Error(
      `nothing answers at ${url.replace(/\/\/[^@/]*@/, '//***@')}, and no Redis can be started there ` +
        '(redis-server is started only for a loopback REDIS_URL): start one, or install redis-server',
    );
  }
  return startOwnRedis({
    port: Number(parsed.port || 6379),
    persistence: 'memory',
    ...(options.detached !== undefined && { detached: options.detached }),
    ...(options.onLine !== undefined && { onLine: options.onLine }),
  });
}
