// Child processes of a benchmark run: services that announce readiness on stdout, their memory and CPU from /proc,
// and load-generator runs over IPC. Every wait is bounded; every child is stopped by its own pid.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IdleResult, LoadMessage, LoadSpec, OrchestratorMessage, StreamsResult } from './load/spec.ts';

export const REPO_ROOT = join(import.meta.dirname, '..', '..');

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

export function spawnService(options: SpawnOptions): Promise<Service> {
  const flags = ['--expose-gc', '--enable-source-maps'];
  if (options.cpuProfileDir !== undefined)
    flags.push('--cpu-prof', `--cpu-prof-dir=${join(options.cpuProfileDir, options.name)}`);
  const child = spawn(process.execPath, [...flags, bundle(options.entry), ...(options.args ?? [])], {
    cwd: REPO_ROOT,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const remember = (data: Buffer) => {
    output = (output + data.toString('utf8')).slice(-4000);
  };
  child.stderr.on('data', remember);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(`${options.name} did not start within ${options.readyTimeoutMs ?? 30_000} ms:\n${output}`),
      );
    }, options.readyTimeoutMs ?? 30_000);
    let buffered = '';
    const onData = (data: Buffer) => {
      remember(data);
      buffered += data.toString('utf8');
      for (const line of buffered.split('\n')) {
        if (!line.startsWith('{"ready":true')) continue;
        clearTimeout(timer);
        child.stdout.off('data', onData);
        // Keep draining stdout so that a chatty child never blocks on a full pipe; note its memory reports.
        let memory: ProcessMemory | undefined;
        let pending = '';
        child.stdout.on('data', (data: Buffer) => {
          remember(data);
          pending += data.toString('utf8');
          const lines = pending.split('\n');
          pending = lines.pop() ?? '';
          for (const candidate of lines) {
            if (candidate.startsWith('{"memory":'))
              memory = (JSON.parse(candidate) as { memory: ProcessMemory }).memory;
          }
        });
        const { port } = JSON.parse(line) as { port: number };
        resolve({
          name: options.name,
          pid: child.pid ?? 0,
          port,
          memory: () => memory,
          stop: () => stopChild(child),
        });
        return;
      }
    };
    child.stdout.on('data', onData);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${options.name} exited (${code ?? signal}) before it was ready:\n${output}`));
    });
  });
}

/** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
export function stopChild(child: ChildProcess, graceMs = 6_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Resident memory of a process, in bytes (0 once it is gone). */
/** Asks a service (one of ours, see servers/collect-on-signal.ts) for a full garbage collection. */
export function collectGarbage(pid: number): void {
  try {
    process.kill(pid, 'SIGUSR2');
  } catch {
    // gone already
  }
}

export function rssBytes(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** CPU time a process used so far (user + system), in seconds. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

export interface LoadHooks {
  onConnected?(connected: number, failures: number): Promise<void> | void;
  onWindow?(phase: 'start' | 'end'): void;
}

/** Runs one load-generator process for `spec`; `onConnected` may take its time (e.g. measure memory) before release. */
export function runLoad(spec: LoadSpec, hooks: LoadHooks = {}): Promise<StreamsResult | IdleResult> {
  const child = spawn(process.execPath, [bundle('loadgen')], {
    cwd: REPO_ROOT,
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
