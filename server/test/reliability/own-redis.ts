// A redis-server of the test's own, on a free port with AOF in a temporary folder, that a test may stop and
// restart at will; the shared Redis at 127.0.0.1:6379 is never touched.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export interface OwnRedis {
  readonly port: number;
  readonly url: string;
  readonly directory: string;
  /** The redis-server's process id while it runs. */
  readonly pid: number | undefined;
  /** Stops it: `shutdown` (SHUTDOWN, the AOF flushed) or `kill` (SIGKILL, at most a second of writes lost). */
  stop(how: 'shutdown' | 'kill'): Promise<void>;
  /** Starts it again on the same port and folder: it reloads its AOF. */
  start(): Promise<void>;
  /** Stops it for good and deletes its folder. */
  destroy(): Promise<void>;
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function ping(url: string): Promise<boolean> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    await redis.connect();
    // While it loads its AOF, Redis answers LOADING: not ready yet.
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

/** Starts a redis-server on the first free port from a random place in 16390-16589. */
export async function startOwnRedis(): Promise<OwnRedis> {
  const directory = mkdtempSync(join(tmpdir(), 'cp-reliability-redis-'));
  let child: ChildProcess | undefined;
  let port = 0;

  async function launch(): Promise<boolean> {
    const process_ = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--appendonly',
        'yes',
        '--appendfsync',
        'everysec',
        '--dir',
        directory,
        '--save',
        '',
        '--maxmemory-policy',
        'noeviction',
      ],
      { stdio: 'ignore' },
    );
    child = process_;
    const exited = new Promise<false>((resolve) => process_.once('exit', () => resolve(false)));
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (process_.exitCode !== null || process_.signalCode !== null) return false;
      if (await ping(`redis://127.0.0.1:${port}`)) return true;
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 50))]);
    }
    process_.kill('SIGKILL');
    return false;
  }

  const first = 16390 + Math.floor(Math.random() * 150);
  for (let candidate = first; candidate < first + 50; candidate++) {
    if (!(await portIsFree(candidate))) continue;
    port = candidate;
    if (await launch()) break;
    port = 0;
  }
  if (port === 0) {
    rmSync(directory, { recursive: true, force: true });
    throw new Error('could not start a redis-server of our own (is redis-server installed?)');
  }

  const waitForExit = async (process_: ChildProcess, timeoutMs: number): Promise<void> => {
    if (process_.exitCode !== null || process_.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        process_.kill('SIGKILL');
        resolve();
      }, timeoutMs);
      process_.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  };

  const url = `redis://127.0.0.1:${port}`;
  return {
    port,
    url,
    directory,
    get pid() {
      return child?.exitCode === null && child.signalCode === null ? child.pid : undefined;
    },
    async stop(how) {
      const process_ = child;
      if (process_ === undefined) return;
      if (how === 'kill') process_.kill('SIGKILL');
      else {
        const redis = new Redis(url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
        redis.on('error', () => {});
        // SHUTDOWN closes the connection instead of answering.
        await redis.call('SHUTDOWN').catch(() => {});
        redis.disconnect();
      }
      await waitForExit(process_, 10_000);
      child = undefined;
    },
    async start() {
      if (child !== undefined) return;
      if (!(await launch())) throw new Error(`redis-server did not restart on port ${port}`);
    },
    async destroy() {
      if (child !== undefined) {
        child.kill('SIGKILL');
        await waitForExit(child, 5_000);
        child = undefined;
      }
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
