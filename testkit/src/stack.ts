// The deployment's topology without Docker: Redis (started if none answers), N gateways and M workers as child
// processes. Used by `npm run stack`, by the ops tests and by the reliability soak.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './ports.ts';
import type { Exit } from './processes.ts';
import { ensureRedis, type OwnRedis } from './redis.ts';
import { repoRoot } from './repo.ts';
import { launchRole, type RoleProcess, serverEntry } from './roles.ts';

export type StackRole = 'gateway' | 'worker';

export interface StackOptions {
  gateways?: number;
  workers?: number;
  /** The processes' environment, over this process's own (tokens, model, KEY_PREFIX, REDIS_URL...). */
  env?: Record<string, string | undefined>;
  /** The first gateway's port, the others follow (default: PORT of `env`, else 8787). 0: free ports. */
  basePort?: number;
  /** The first worker's health and metrics port, the others follow (default 9464). 0: free ports. */
  workerBasePort?: number;
  /** `source`: `serverEntry()` (default). `dist`: the bundle server/dist/main.js (`npm run build -w server`). */
  runtime?: 'source' | 'dist';
  /** Entry points per role, relative to the repository, over `runtime` (a .ts file runs through tsx). */
  entries?: Partial<Record<StackRole, string>>;
  /** Start redis-server when nothing answers at REDIS_URL (default true; only for a loopback REDIS_URL). */
  startRedis?: boolean;
  /** Each line a process writes, as it comes (default: kept, not printed). */
  onLine?: (name: string, line: string) => void;
  /** Own process groups, so that a terminal's Ctrl-C reaches the stack alone and it stops them in order. */
  detached?: boolean;
  readyTimeoutMs?: number;
}

/** gateway-1, worker-2...: `port` is the gateway's port or the worker's health and metrics port. */
export type StackProcess = RoleProcess & { readonly role: StackRole };

export interface Stack {
  readonly redisUrl: string;
  /** Set when the stack started Redis itself (it stops it again). */
  readonly redisPid: number | undefined;
  readonly gateways: StackProcess[];
  readonly workers: StackProcess[];
  /** SIGTERM to every process, a grace period, then SIGKILL to whoever is left; then the Redis it started. */
  stop(options?: { graceMs?: number }): Promise<void>;
}

const OUTPUT_LIMIT = 1_048_576;

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const env: Record<string, string | undefined> = { ...process.env, ...options.env };
  const redisUrl = env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const host = env.HOST ?? '127.0.0.1';
  const probeHost = ['0.0.0.0', '::'].includes(host) ? '127.0.0.1' : host;
  const runtime = options.runtime ?? 'source';
  const defaultEntry = runtime === 'dist' ? 'server/dist/main.js' : serverEntry();
  const entries: Record<StackRole, string> = {
    gateway: defaultEntry,
    worker: defaultEntry,
    ...options.entries,
  };
  for (const entry of Object.values(entries)) {
    if (!existsSync(join(repoRoot, entry))) {
      throw new Error(
        `${entry} does not exist: run \`npm run build -w server\` first, or use the source runtime`,
      );
    }
  }

  const onLine = options.onLine;
  const redis: OwnRedis | undefined = await ensureRedis(redisUrl, {
    ...(options.startRedis !== undefined && { start: options.startRedis }),
    ...(options.detached !== undefined && { detached: options.detached }),
    ...(onLine !== undefined && { onLine: (line: string) => onLine('redis', line) }),
  });

  const children: StackProcess[] = [];
  const killAll = () => {
    for (const child of children) if (child.alive()) child.child.kill('SIGKILL');
    if (redis?.pid !== undefined) process.kill(redis.pid, 'SIGKILL');
  };
  // A stack that dies must not leave its processes behind.
  process.once('exit', killAll);

  async function stop(graceMs = Number(env.SHUTDOWN_GRACE_MS ?? 10_000) + 5_000): Promise<void> {
    const running = children.filter((child) => child.alive());
    for (const child of running) child.child.kill('SIGTERM');
    const all: Promise<Exit[]> = Promise.all(running.map((child) => child.exited));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), graceMs);
    });
    if ((await Promise.race([all, late])) === 'late') {
      for (const child of running) if (child.alive()) child.child.kill('SIGKILL');
      await all;
    }
    clearTimeout(timer);
    await redis?.destroy();
    process.off('exit', killAll);
  }

  function launch(role: StackRole, index: number, port: number): StackProcess {
    const name = `${role}-${index + 1}`;
    const child = launchRole(
      role,
      {
        ...env,
        REDIS_URL: redisUrl,
        HOST: host,
        ...(role === 'gateway' ? { PORT: String(port) } : { WORKER_PORT: String(port) }),
      },
      {
        name,
        entry: entries[role],
        readyz: { host: probeHost, port },
        outputLimit: OUTPUT_LIMIT,
        timeoutMs: options.readyTimeoutMs ?? 30_000,
        ...(options.detached !== undefined && { detached: options.detached }),
        ...(onLine !== undefined && { onLine: (line: string) => onLine(name, line) }),
      },
    ) as StackProcess;
    children.push(child);
    return child;
  }

  async function ports(count: number, base: number): Promise<number[]> {
    const chosen: number[] = [];
    for (let index = 0; index < count; index++)
      chosen.push(base === 0 ? await freePort(probeHost) : base + index);
    return chosen;
  }

  const gatewayPorts = await ports(options.gateways ?? 1, options.basePort ?? Number(env.PORT ?? 8787));
  const workerPorts = await ports(options.workers ?? 1, options.workerBasePort ?? 9464);
  try {
    const gateways = gatewayPorts.map((port, index) => launch('gateway', index, port));
    const workers = workerPorts.map((port, index) => launch('worker', index, port));
    await Promise.all(children.map((child) => child.ready));
    return {
      redisUrl,
      redisPid: redis?.pid,
      gateways,
      workers,
      stop: (stopOptions) => stop(stopOptions?.graceMs),
    };
  } catch (error) {
    await stop(0);
    throw error;
  }
}
