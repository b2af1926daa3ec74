// The deployment's topology without Docker: Redis (started if none answers), N gateways and M workers as child
// processes. Used by `npm run stack`, by the ops tests and by the benchmark.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isLoopback } from '../../src/config.ts';
import { checkRedis } from '../../src/redis/connect.ts';

export const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

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
  /** `source`: server/src/main.ts through tsx (default). `dist`: the bundle server/dist/main.js (`npm run build -w server`). */
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

export interface StackProcess {
  /** gateway-1, worker-2... */
  readonly name: string;
  readonly role: StackRole;
  readonly pid: number;
  /** The gateway's port, or the worker's health and metrics port. */
  readonly port: number;
  /** ws://…/v1/ws for a gateway, http://… for a worker. */
  readonly url: string;
  /** http://host:port: /healthz, /readyz, /metrics. */
  readonly httpUrl: string;
  /** Everything it wrote so far (the last 1 MB). */
  output(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly running: boolean;
  /** Sends `signal` (default SIGTERM) and resolves when the process has exited. */
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

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

/** A port nobody listens on now (the kernel's pick); another process could take it first, which is unlikely. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function answers(url: string): Promise<boolean> {
  try {
    await checkRedis(url, 500);
    return true;
  } catch {
    return false;
  }
}

function hasRedisServer(): boolean {
  return (process.env.PATH ?? '').split(':').some((directory) => existsSync(join(directory, 'redis-server')));
}

/** Splits a stream into lines for `onLine`, and keeps the tail of it. */
function collect(child: ChildProcess, name: string, onLine: StackOptions['onLine']): () => string {
  let output = '';
  let partial = '';
  const take = (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    output = (output + text).slice(-OUTPUT_LIMIT);
    if (onLine === undefined) return;
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) onLine(name, line);
  };
  child.stdout?.on('data', take);
  child.stderr?.on('data', take);
  child.once('exit', () => {
    if (partial !== '' && onLine !== undefined) onLine(name, partial);
  });
  return () => output;
}

function track(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/** Starts redis-server on the port of `url`, in memory only: a development Redis that leaves nothing behind. */
async function startRedisServer(
  url: string,
  options: StackOptions,
): Promise<{ child: ChildProcess; stop(): Promise<void> }> {
  const parsed = new URL(url);
  const port = parsed.port === '' ? '6379' : parsed.port;
  const directory = mkdtempSync(join(tmpdir(), 'chrome-plus-redis-'));
  const child = spawn(
    'redis-server',
    [
      '--port',
      port,
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      directory,
      '--loglevel',
      'warning',
      '--maxmemory-policy',
      'noeviction',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], detached: options.detached ?? false },
  );
  const output = collect(child, 'redis', options.onLine);
  const exited = track(child);
  const deadline = Date.now() + 5_000;
  while (!(await answers(url))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      rmSync(directory, { recursive: true, force: true });
      throw new Error(`redis-server did not start on port ${port}:\n${output()}`);
    }
    await sleep(50);
  }
  return {
    child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

async function waitReady(process_: StackProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!process_.running) {
      throw new Error(`${process_.name} exited before it was ready:\n${process_.output().slice(-4000)}`);
    }
    try {
      const response = await fetch(`${process_.httpUrl}/readyz`, { signal: AbortSignal.timeout(1_000) });
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${process_.name} was not ready within ${timeoutMs} ms:\n${process_.output().slice(-4000)}`,
      );
    }
    await sleep(100);
  }
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const env: Record<string, string | undefined> = { ...process.env, ...options.env };
  const redisUrl = env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const host = env.HOST ?? '127.0.0.1';
  const probeHost = ['0.0.0.0', '::'].includes(host) ? '127.0.0.1' : host;
  const runtime = options.runtime ?? 'source';
  const defaultEntry = runtime === 'dist' ? 'server/dist/main.js' : 'server/src/main.ts';
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

  let redis: Awaited<ReturnType<typeof startRedisServer>> | undefined;
  if (!(await answers(redisUrl))) {
    const hostname = new URL(redisUrl).hostname;
    if (options.startRedis === false || !isLoopback(hostname) || !hasRedisServer()) {
      throw new Error(
        `nothing answers at ${redisUrl.replace(/\/\/[^@/]*@/, '//***@')}, and the stack cannot start a Redis there ` +
          '(it starts redis-server only for a loopback REDIS_URL): start one, or install redis-server',
      );
    }
    redis = await startRedisServer(redisUrl, options);
  }

  const children: StackProcess[] = [];
  const killAll = () => {
    for (const child of children) if (child.running) process.kill(child.pid, 'SIGKILL');
    if (redis?.child.exitCode === null) redis.child.kill('SIGKILL');
  };
  // A stack that dies must not leave its processes behind.
  process.once('exit', killAll);

  async function stop(graceMs = Number(env.SHUTDOWN_GRACE_MS ?? 10_000) + 5_000): Promise<void> {
    const running = children.filter((child) => child.running);
    for (const child of running) process.kill(child.pid, 'SIGTERM');
    const all = Promise.all(running.map((child) => child.exited));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), graceMs);
    });
    if ((await Promise.race([all, late])) === 'late') {
      for (const child of running) if (child.running) process.kill(child.pid, 'SIGKILL');
      await all;
    }
    clearTimeout(timer);
    await redis?.stop();
    process.off('exit', killAll);
  }

  async function launch(role: StackRole, index: number, port: number): Promise<StackProcess> {
    const name = `${role}-${index + 1}`;
    const args = entries[role].endsWith('.ts')
      ? ['--import', 'tsx', entries[role], role]
      : ['--enable-source-maps', entries[role], role];
    const child = spawn(process.execPath, args, {
      cwd: repoRoot,
      env: {
        ...env,
        REDIS_URL: redisUrl,
        HOST: host,
        ...(role === 'gateway' ? { PORT: String(port) } : { WORKER_PORT: String(port) }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: options.detached ?? false,
    });
    if (child.pid === undefined) throw new Error(`${name} could not be started`);
    const output = collect(child, name, options.onLine);
    const exited = track(child);
    const httpUrl = `http://${probeHost.includes(':') ? `[${probeHost}]` : probeHost}:${port}`;
    const handle: StackProcess = {
      name,
      role,
      pid: child.pid,
      port,
      url: role === 'gateway' ? `${httpUrl.replace(/^http/, 'ws')}/v1/ws` : httpUrl,
      httpUrl,
      output,
      exited,
      get running() {
        return child.exitCode === null && child.signalCode === null;
      },
      async kill(signal = 'SIGTERM') {
        if (handle.running) child.kill(signal);
        return exited;
      },
    };
    children.push(handle);
    return handle;
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
    const gateways = await Promise.all(gatewayPorts.map((port, index) => launch('gateway', index, port)));
    const workers = await Promise.all(workerPorts.map((port, index) => launch('worker', index, port)));
    const timeoutMs = options.readyTimeoutMs ?? 30_000;
    await Promise.all(children.map((child) => waitReady(child, timeoutMs)));
    return {
      redisUrl,
      redisPid: redis?.child.pid,
      gateways,
      workers,
      stop: (stopOptions) => stop(stopOptions?.graceMs),
    };
  } catch (error) {
    await stop(0);
    throw error;
  }
}
