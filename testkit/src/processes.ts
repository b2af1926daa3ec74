// Child processes of the tests, the stack and the bench, started one way: spawned, awaited until they say (or
// show) they are ready, their output kept, measured from /proc, and stopped by their own pid.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { repoRoot } from './repo.ts';
import { sleep } from './wait.ts';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ManagedProcess<Ready = unknown> {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves with what readiness found; rejects (after a SIGKILL) when the process exits or times out first. */
  readonly ready: Promise<Ready>;
  readonly exited: Promise<Exit>;
  alive(): boolean;
  /** Everything it wrote on stdout and stderr so far (the tail, with `outputLimit`). */
  output(): string;
  /** Resident memory in KiB (VmRSS), undefined once the process is gone. */
  rssKiB(): number | undefined;
  /** Sends `signal` (default SIGTERM) unless it has exited, and resolves when it has. */
  kill(signal?: NodeJS.Signals): Promise<Exit>;
  /** SIGTERM, then SIGKILL if it is still running after `graceMs` (default 6 s). */
  stop(graceMs?: number): Promise<Exit>;
}

export interface StartProcessOptions<Ready> {
  name: string;
  /** The command's arguments; the command is this node (process.execPath) unless `command` names another. */
  args: string[];
  command?: string;
  /** Default: the repository's root. */
  cwd?: string;
  /** The whole environment of the process (nothing is inherited here). */
  env: Record<string, string | undefined>;
  /** Its own process group, so that a terminal's Ctrl-C does not reach it. */
  detached?: boolean;
  /** Characters of output kept, the last ones (default: all). */
  outputLimit?: number;
  /** Each complete line of its stdout and stderr, as it comes. */
  onLine?: (line: string) => void;
  /** Readiness from the output: called with each complete line until it returns a value. */
  readyLine?: (line: string) => Ready | undefined;
  /** Readiness by probing (an HTTP endpoint...): polled every 100 ms until it returns a value. */
  readyProbe?: () => Promise<Ready | undefined>;
  /** Default 30 s. */
  timeoutMs?: number;
}

/** Resident memory of a process in KiB, from /proc/<pid>/status; undefined when it is gone. */
export function rssKiB(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match === null ? undefined : Number(match[1]);
  } catch {
    return undefined;
  }
}

/** CPU time a process used so far (user + system), in seconds; 0 when it is gone. */
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

/**
 * Starts a process and returns at once; `ready` resolves with the first value `readyLine` or `readyProbe` returns.
 * Without either it is ready as soon as it runs (with `undefined`).
 */
export function startProcess<Ready = true>(options: StartProcessOptions<Ready>): ManagedProcess<Ready> {
  const child = spawn(options.command ?? process.execPath, options.args, {
    cwd: options.cwd ?? repoRoot,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  });
  const exited = new Promise<Exit>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const alive = () => child.exitCode === null && child.signalCode === null;
  const limit = options.outputLimit;
  let chunks: string[] = [];
  let kept = 0;
  let onReadyLine: ((line: string) => void) | undefined;

  const take = (stream: NodeJS.ReadableStream) => {
    let partial = '';
    stream.on('data', (data: Buffer) => {
      const text = data.toString('utf8');
      chunks.push(text);
      kept += text.length;
      if (limit !== undefined && kept > 2 * limit) {
        const tail = chunks.join('').slice(-limit);
        chunks = [tail];
        kept = tail.length;
      }
      if (options.onLine === undefined && onReadyLine === undefined) return;
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        onReadyLine?.(line);
        options.onLine?.(line);
      }
    });
    stream.on('end', () => {
      if (partial !== '') options.onLine?.(partial);
    });
  };
  if (child.stdout !== null) take(child.stdout);
  if (child.stderr !== null) take(child.stderr);
  const output = () => {
    const text = chunks.join('');
    return limit === undefined ? text : text.slice(-limit);
  };

  const kill = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<Exit> => {
    if (alive()) child.kill(signal);
    return exited;
  };

  const ready = new Promise<Ready>((resolve, reject) => {
    const timeoutMs = options.timeoutMs ?? 30_000;
    let settled = false;
    const settle = (error: Error | undefined, value?: Ready) => {
      if (settled) return;
      settled = true;
      onReadyLine = undefined;
      clearTimeout(timer);
      if (error === undefined) resolve(value as Ready);
      else reject(error);
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      settle(new Error(`${options.name} was not ready within ${timeoutMs} ms:\n${output().slice(-4000)}`));
    }, timeoutMs);
    child.once('error', (error) =>
      settle(new Error(`${options.name} could not be started: ${error.message}`)),
    );
    exited.then(({ code, signal }) =>
      settle(
        new Error(
          `${options.name} exited (${code ?? signal}) before it was ready:\n${output().slice(-4000)}`,
        ),
      ),
    );
    if (options.readyLine !== undefined) {
      const readyLine = options.readyLine;
      onReadyLine = (line) => {
        const value = readyLine(line);
        if (value !== undefined) settle(undefined, value);
      };
    } else if (options.readyProbe !== undefined) {
      const probe = options.readyProbe;
      (async () => {
        while (!settled) {
          const value = await probe().catch(() => undefined);
          if (value !== undefined) return settle(undefined, value);
          await sleep(100);
        }
      })();
    } else {
      settle(undefined);
    }
  });
  // A caller that gave up on another process first may never await this one: no unhandled rejection.
  ready.catch(() => {});

  return {
    name: options.name,
    child,
    pid: child.pid ?? 0,
    ready,
    exited,
    alive,
    output,
    rssKiB: () => (alive() ? rssKiB(child.pid ?? 0) : undefined),
    kill,
    async stop(graceMs = 6_000) {
      if (!alive()) return exited;
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const exit = await kill('SIGTERM');
      clearTimeout(timer);
      return exit;
    },
  };
}
