// Gateways and workers as real child processes: started, killed with real signals, restarted, measured (RSS),
// and their logs kept for the secret scan.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Role } from '../../src/app.ts';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

export interface RoleProcess {
  readonly role: Role;
  readonly name: string;
  readonly pid: number;
  /** The gateway's port (gateway and all roles), else 0. */
  readonly port: number;
  readonly url: string;
  readonly child: ChildProcess;
  output(): string;
  alive(): boolean;
  /** Resident memory in KiB (VmRSS), undefined once the process is gone. */
  rssKiB(): number | undefined;
  /** Sends the signal and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Resident memory of a process in KiB, from /proc/<pid>/status. */
export function rssOf(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match === null ? undefined : Number(match[1]);
  } catch {
    return undefined;
  }
}

/** Starts `node --import tsx server/src/main.ts ROLE` and waits until it says it is ready. */
export async function startRole(
  role: Role,
  env: Record<string, string>,
  options: { name?: string; logLevel?: string; timeoutMs?: number } = {},
): Promise<RoleProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/src/main.ts', role], {
    cwd: repoRoot,
    // The readiness lines are info logs: a quieter level would hide them.
    env: { ...process.env, ...env, LOG_LEVEL: options.logLevel ?? 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const chunks: string[] = [];
  let seen = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${role} did not start in time:\n${chunks.join('')}`)),
      options.timeoutMs ?? 30_000,
    );
    let ready = false;
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      chunks.push(text);
      if (ready) return;
      seen += text;
      const listening = /gateway listening on [^\s:]+:(\d+)/.exec(seen);
      const workerReady = seen.includes('worker ready');
      const done =
        role === 'worker' ? workerReady : role === 'gateway' ? listening : listening && workerReady;
      if (done) {
        ready = true;
        seen = '';
        clearTimeout(timer);
        resolve(listening ? Number(listening[1]) : 0);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (!ready) reject(new Error(`${role} exited with ${code ?? signal}:\n${chunks.join('')}`));
    });
  });
  const pid = child.pid ?? 0;
  const alive = () => child.exitCode === null && child.signalCode === null;
  return {
    role,
    name: options.name ?? role,
    pid,
    port,
    url: `ws://127.0.0.1:${port}/v1/ws`,
    child,
    output: () => chunks.join(''),
    alive,
    rssKiB: () => (alive() ? rssOf(pid) : undefined),
    async kill(signal = 'SIGTERM') {
      if (!alive()) return;
      child.kill(signal);
      await exited;
    },
  };
}

/** Every process a scenario started, dead or alive: for cleanup and for the scan of their logs. */
export class Fleet {
  readonly started: RoleProcess[] = [];
  private env: Record<string, string>;
  private logLevel: string | undefined;

  constructor(env: Record<string, string>, options: { logLevel?: string } = {}) {
    this.env = env;
    this.logLevel = options.logLevel;
  }

  async start(role: Role, name?: string, extraEnv: Record<string, string> = {}): Promise<RoleProcess> {
    const process_ = await startRole(
      role,
      { ...this.env, ...extraEnv },
      {
        ...(name !== undefined && { name }),
        ...(this.logLevel !== undefined && { logLevel: this.logLevel }),
      },
    );
    this.started.push(process_);
    return process_;
  }

  alive(role?: Role): RoleProcess[] {
    return this.started.filter(
      (process_) => process_.alive() && (role === undefined || process_.role === role),
    );
  }

  /** Every log line of every process so far. */
  output(): string {
    return this.started.map((process_) => process_.output()).join('\n');
  }

  /** Kills every process still running (SIGKILL: a scenario's teardown need not be graceful). */
  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await Promise.all(this.started.map((process_) => process_.kill(signal)));
  }
}
