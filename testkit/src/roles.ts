// The server's roles as child processes (`server/src/main.ts ROLE`): started, awaited until ready, killed with real
// signals, measured; and a fleet of them for scenarios that start and kill many.
import { type ManagedProcess, startProcess } from './processes.ts';

export type Role = 'gateway' | 'worker' | 'all';

export interface RoleOptions {
  /** Default: the role. */
  name?: string;
  /**
   * Readiness from the logs (default): "gateway listening on host:port" and "worker ready", which are info
   * lines, so LOG_LEVEL is `logLevel` (default info). With `readyz`, readiness is a 200 from /readyz on that
   * address, and LOG_LEVEL is left to `env`.
   */
  logLevel?: string;
  readyz?: { host: string; port: number };
  /** The entry, relative to the repository (default: `serverEntry()`); a .ts file runs through tsx. */
  entry?: string;
  detached?: boolean;
  onLine?: (line: string) => void;
  /** Characters of output kept, the last ones (default: all, for the scans of logs for secrets). */
  outputLimit?: number;
  timeoutMs?: number;
}

export interface RoleProcess extends ManagedProcess<true> {
  readonly role: Role;
  /** The gateway's port (gateway and all roles; with `readyz`, the port probed), 0 until ready. */
  readonly port: number;
  /** ws://…/v1/ws of a gateway. */
  readonly url: string;
  /** http://host:port: /healthz, /readyz, /metrics. */
  readonly httpUrl: string;
}

/**
 * The server's entry for roles started by tests: CHROME_PLUS_SERVER_ENTRY when set (scripts/run-tests.mjs sets it
 * to the bundle server/dist/main.js when that is newer than every source it is built from: it starts in half the
 * CPU time of tsx, and the suites start a few hundred roles), else server/src/main.ts through tsx.
 */
export function serverEntry(): string {
  return process.env.CHROME_PLUS_SERVER_ENTRY || 'server/src/main.ts';
}

const listeningPattern = /gateway listening on [^\s:]+:(\d+)/;

/** Starts a role and returns at once: `ready` resolves when it is ready (see RoleOptions). */
export function launchRole(
  role: Role,
  env: Record<string, string | undefined>,
  options: RoleOptions = {},
): RoleProcess {
  const entry = options.entry ?? serverEntry();
  const args = entry.endsWith('.ts')
    ? ['--import', 'tsx', entry, role]
    : ['--enable-source-maps', entry, role];
  const probe = options.readyz;
  const host = probe === undefined ? '127.0.0.1' : probe.host.includes(':') ? `[${probe.host}]` : probe.host;
  let port = probe?.port ?? 0;
  let listening = false;
  let workerReady = false;
  const process_ = startProcess<true>({
    name: options.name ?? role,
    args,
    env: {
      ...process.env,
      // No accounts database unless `env` names one: PGlite admits one process, scenarios start several, and the
      // developer's own DATABASE_URL is no place for test data.
      DATABASE_URL: 'none',
      // One worker process per role started, unless `env` asks for more: scenarios count their processes.
      WORKER_PROCESSES: '1',
      ...env,
      ...(probe === undefined && { LOG_LEVEL: options.logLevel ?? 'info' }),
      ...(options.logLevel !== undefined && { LOG_LEVEL: options.logLevel }),
    },
    ...(options.detached !== undefined && { detached: options.detached }),
    ...(options.onLine !== undefined && { onLine: options.onLine }),
    ...(options.outputLimit !== undefined && { outputLimit: options.outputLimit }),
    ...(options.timeoutMs !== undefined && { timeoutMs: options.timeoutMs }),
    ...(probe === undefined
      ? {
          readyLine: (line: string) => {
            const match = listeningPattern.exec(line);
            if (match !== null) {
              listening = true;
              port = Number(match[1]);
            }
            if (line.includes('worker ready')) workerReady = true;
            const ready =
              role === 'worker' ? workerReady : role === 'gateway' ? listening : listening && workerReady;
            return ready ? true : undefined;
          },
        }
      : {
          readyProbe: async () => {
            const response = await fetch(`http://${host}:${port}/readyz`, {
              signal: AbortSignal.timeout(1_000),
            });
            return response.status === 200 ? true : undefined;
          },
        }),
  });
  return {
    ...process_,
    role,
    get port() {
      return port;
    },
    get url() {
      return `ws://${host}:${port}/v1/ws`;
    },
    get httpUrl() {
      return `http://${host}:${port}`;
    },
  };
}

/** Starts a role and waits until it is ready. */
export async function startRole(
  role: Role,
  env: Record<string, string | undefined>,
  options: RoleOptions = {},
): Promise<RoleProcess> {
  const process_ = launchRole(role, env, options);
  await process_.ready;
  return process_;
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
