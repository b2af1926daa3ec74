// Text from a file, extracted in a child process bounded in address space, heap, CPU and time, a few at once per
// process: a zip bomb or a PDF whose streams inflate to gigabytes fails its own request only.
import { spawn } from 'node:child_process';
import { MAX_TEXT_CHARS, RESULTS_FD, type ReadyLine, type ResultLine } from './extract-protocol.ts';
import type { ExtractInput } from './file-text.ts';
import { createSemaphore, type Semaphore } from './semaphore.ts';

export interface ExtractLimits {
  timeoutMs: number;
  /** What reading one file may add to its child's address space (and the child's V8 heap limit). */
  maxMemoryMb: number;
  /** Extractions at once among the callers that share this limits object; the others wait their turn. */
  concurrency?: number;
}

export const DEFAULT_EXTRACT_CONCURRENCY = 2;

export class ExtractError extends Error {
  override name = 'ExtractError';
}

// Run as TypeScript under tsx, as JavaScript when built: the child's file sits beside this one either way.
const fromSource = import.meta.url.endsWith('.ts');
const childPath = new URL(fromSource ? './extract-child.ts' : './extract-child.js', import.meta.url).pathname;
/** A child process does not inherit tsx's loader: from source, it is given it on the command line. */
const loaderArgs = fromSource ? ['--import', import.meta.resolve('tsx/esm')] : [];

/** Header lines, UTF-8 text of MAX_TEXT_CHARS at most 3 bytes each: a child that sends more is stopped. */
const MAX_ANSWER_BYTES = 3 * MAX_TEXT_CHARS + 64 * 1024;

const slotsByLimits = new WeakMap<ExtractLimits, Semaphore>();
function slotsOf(limits: ExtractLimits): Semaphore {
  let slots = slotsByLimits.get(limits);
  if (slots === undefined) {
    slots = createSemaphore(limits.concurrency ?? DEFAULT_EXTRACT_CONCURRENCY);
    slotsByLimits.set(limits, slots);
  }
  return slots;
}

let warnedUnbound = false;
function warnUnbound(): void {
  if (warnedUnbound) return;
  warnedUnbound = true;
  process.emitWarning(
    'text extraction runs without an address-space bound (prlimit from util-linux, or /proc, is missing): ' +
      'EXTRACT_MEMORY_MB then limits the V8 heap of its child process only',
    { code: 'CHROME_PLUS_EXTRACT_UNBOUND' },
  );
}

/**
 * The text of one file. Waits for one of the `limits.concurrency` slots shared by every caller with the same limits
 * object (the wait ends on abort), then reads the file in a child process of its own.
 */
export async function extractText(
  input: ExtractInput,
  limits: ExtractLimits,
  signal?: AbortSignal,
): Promise<string> {
  const release = await slotsOf(limits).acquire(signal);
  try {
    return await runChild(input, limits, signal);
  } finally {
    release();
  }
}

function runChild(input: ExtractInput, limits: ExtractLimits, signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    // CPU seconds: a backstop for a child whose parent died; the wall-clock timer below is the real limit.
    const cpuSeconds = 2 * Math.ceil(limits.timeoutMs / 1000) + 5;
    const child = spawn(
      process.execPath,
      [
        ...loaderArgs,
        `--max-old-space-size=${limits.maxMemoryMb}`,
        childPath,
        input.kind,
        String(limits.maxMemoryMb),
        String(cpuSeconds),
      ],
      {
        stdio: ['pipe', 'ignore', 'pipe', 'pipe'],
        // No secrets in a process that parses hostile files; one malloc arena, so that every allocation of the C++
        // side maps new address space (spare arenas are reserved before the bound and could fill up under it).
        env: {
          MALLOC_ARENA_MAX: '1',
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          ...(process.env.TMPDIR === undefined ? {} : { TMPDIR: process.env.TMPDIR }),
        },
      },
    );
    const answer: Buffer[] = [];
    let answerBytes = 0;
    let stderr = '';
    let ready = false;
    let stoppedFor: string | undefined;

    const timer = setTimeout(
      () => stop(`reading it took longer than ${Math.round(limits.timeoutMs / 1000)} s`),
      limits.timeoutMs,
    );
    const onAbort = () => stop('aborted');
    signal?.addEventListener('abort', onAbort, { once: true });

    function stop(reason: string): void {
      stoppedFor ??= reason;
      child.kill('SIGKILL');
    }

    child.stdin?.on('error', () => {}); // the child died before it read everything: its exit says why
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-4096);
    });
    const results = child.stdio[RESULTS_FD];
    results?.on('data', (chunk: Buffer) => {
      answerBytes += chunk.length;
      if (answerBytes > MAX_ANSWER_BYTES) {
        stop(`its text is longer than ${Math.round(MAX_ANSWER_BYTES / 1_048_576)} MB`);
        return;
      }
      answer.push(chunk);
      if (!ready && chunk.includes(0x0a)) {
        ready = true;
        const line = JSON.parse(Buffer.concat(answer).toString('utf8').split('\n')[0]!) as ReadyLine;
        if (line.addressSpaceBytes === null) warnUnbound();
        child.stdin?.end(input.data);
      }
    });

    child.once('error', (error) =>
      finish(() => reject(new ExtractError(`the reader did not start: ${error.message}`))),
    );
    child.once('close', (code, exitSignal) => {
      finish(() => {
        if (stoppedFor === 'aborted') reject(signal?.reason ?? new Error('aborted'));
        else if (stoppedFor !== undefined) reject(new ExtractError(stoppedFor));
        else {
          const outcome = parseAnswer(Buffer.concat(answer), code, exitSignal, stderr, limits);
          if (typeof outcome === 'string') resolve(outcome);
          else reject(outcome);
        }
      });
    });

    let finished = false;
    function finish(outcome: () => void): void {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      child.kill('SIGKILL');
      outcome();
    }
  });
}

/** What the child said, or why it said nothing: a child that hit its memory bound dies, or reports a RangeError. */
function parseAnswer(
  answer: Buffer,
  code: number | null,
  exitSignal: NodeJS.Signals | null,
  stderr: string,
  limits: ExtractLimits,
): string | ExtractError {
  const memory = new ExtractError(`reading it needed more than ${limits.maxMemoryMb} MB`);
  const firstEnd = answer.indexOf(0x0a);
  const secondEnd = firstEnd < 0 ? -1 : answer.indexOf(0x0a, firstEnd + 1);
  if (code === 0 && secondEnd > 0) {
    const result = JSON.parse(answer.subarray(firstEnd + 1, secondEnd).toString('utf8')) as ResultLine;
    if (result.ok) return answer.subarray(secondEnd + 1).toString('utf8');
    return result.memory ? memory : new ExtractError(result.message);
  }
  if (exitSignal === 'SIGXCPU')
    return new ExtractError(`reading it took longer than ${Math.round(limits.timeoutMs / 1000)} s`);
  // V8 aborts (SIGABRT, SIGTRAP, or exit 134) when it cannot map memory it needs; a failed mmap can also fault.
  if (
    /out of memory|allocation failed|bad_alloc|Failed to reserve/i.test(stderr) ||
    (exitSignal !== null && ['SIGABRT', 'SIGTRAP', 'SIGSEGV', 'SIGBUS', 'SIGILL'].includes(exitSignal)) ||
    code === 133 ||
    code === 134
  )
    return memory;
  return new ExtractError(`the reader stopped (${exitSignal ?? `exit ${code}`})`);
}
