// Child processes of a benchmark run: services that announce readiness on stdout, their memory and CPU from /proc,
// and load-generator runs over IPC. Every wait is bounded; every child is stopped by its own pid.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot, rssKiB, startProcess } from '@chrome-plus/testkit';
import type { IdleResult, LoadMessage, LoadSpec, OrchestratorMessage, StreamsResult } from './load/spec.ts';

export interface Service {
  name: string;
  pid: number;
  /** The port it listens on (0 for a worker). */
  port: number;
  /** What the service last reported after a requested collection (see servers/collect-on-signal.ts). */
  memory(): ProcessMemory | undefined;
  stop(): Promise<void>;
}

export interface ProcessMemory {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

/** The bundles of the bench's processes (see build-servers.ts), set once the orchestrator has built them. */
let bundles: Record<string, string> = {};

export function useBundles(paths: Record<string, string>): void {
  bundles = paths;
}

/** The path of a built bundle (build-servers.ts's entry name). */
export function bundlePath(name: string): string {
  return bundle(name);
}

function bundle(name: string): string {
  const path = bundles[name];
  if (path === undefined) throw new Error(`no bundle for "${name}": build them first (build-servers.ts)`);
  return path;
}

export interface SpawnOptions {
  name: string;
  /** Which bundle to run (an entry of build-servers.ts), and its arguments. */
  entry: string;
  args?: string[];
  env: Record<string, string>;
  /** Write a V8 CPU profile of this process into this directory when it stops. */
  cpuProfileDir?: string | undefined;
  readyTimeoutMs?: number;
}

/** A clean environment: the bench decides every variable its services read, so nothing leaks in from the shell. */
export function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ['PATH', 'HOME', 'TMPDIR', 'LANG']) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/** Runs a bundle with plain node and waits for its `{"ready":true,"port":N}` line; its later `{"memory":…}` lines are kept. */
export async function spawnService(options: SpawnOptions): Promise<Service> {
  const flags = ['--expose-gc', '--enable-source-maps'];
  if (options.cpuProfileDir !== undefined)
    flags.push('--cpu-prof', `--cpu-prof-dir=${join(options.cpuProfileDir, options.name)}`);
  let memory: ProcessMemory | undefined;
  const child = startProcess<{ port: number }>({
    name: options.name,
    args: [...flags, bundle(options.entry), ...(options.args ?? [])],
    env: options.env,
    outputLimit: 4000,
    ...(options.readyTimeoutMs !== undefined && { timeoutMs: options.readyTimeoutMs }),
    readyLine: (line) =>
      line.startsWith('{"ready":true') ? (JSON.parse(line) as { port: number }) : undefined,
    onLine: (line) => {
      if (line.startsWith('{"memory":')) memory = (JSON.parse(line) as { memory: ProcessMemory }).memory;
    },
  });
  const { port } = await child.ready;
  return {
    name: options.name,
    pid: child.pid,
    port,
    memory: () => memory,
    stop: async () => {
      await child.stop(6_000);
    },
  };
}

/** Asks a service (one of ours, see servers/collect-on-signal.ts) for a full garbage collection. */
export function collectGarbage(pid: number): void {
  try {
    process.kill(pid, 'SIGUSR2');
  } catch {
    // gone already
  }
}

/** Resident memory of a process, in bytes (0 once it is gone). */
export function rssBytes(pid: number): number {
  return (rssKiB(pid) ?? 0) * 1024;
}

export interface LoadHooks {
  onConnected?(connected: number, failures: number): Promise<void> | void;
  onWindow?(phase: 'start' | 'end'): void;
}

/** Runs one load-generator process for `spec`; `onConnected` may take its time (e.g. measure memory) before release. */
export function runLoad(spec: LoadSpec, hooks: LoadHooks = {}): Promise<StreamsResult | IdleResult> {
  const child = spawn(process.execPath, [bundle('loadgen')], {
    cwd: repoRoot,
    env: { ...baseEnv(), BENCH_SPEC: JSON.stringify(spec) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const limitMs =
    spec.kind === 'idle'
      ? spec.holdMs + 150_000
      : spec.rampMs + spec.warmupMs + spec.measureMs + spec.drainMs + 150_000;
  return new Promise((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(new Error(`the load generator passed ${limitMs} ms`));
    }, limitMs);
    function finish(error: Error | undefined, result?: StreamsResult | IdleResult) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error !== undefined || result === undefined) reject(error ?? new Error('no result'));
      else resolve(result);
    }
    child.on('message', (message: LoadMessage) => {
      if (message.type === 'connected') {
        Promise.resolve(hooks.onConnected?.(message.connected, message.failures)).then(
          () => child.connected && child.send({ type: 'release' } satisfies OrchestratorMessage),
          () => child.connected && child.send({ type: 'release' } satisfies OrchestratorMessage),
        );
      } else if (message.type === 'window') {
        hooks.onWindow?.(message.phase);
      } else if (message.type === 'result') {
        finish(undefined, message.result);
      } else {
        finish(new Error(`load generator: ${message.message}`));
      }
    });
    child.on('exit', (code) => finish(new Error(`the load generator exited (${code}) without a result`)));
  });
}
