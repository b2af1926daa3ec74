// Text from a file, extracted in a worker thread bounded in time and memory: a zip bomb or a PDF that never ends
// fails its own request only.
import { Worker } from 'node:worker_threads';
import type { ExtractInput, ExtractOutput } from './extract-thread.ts';

export interface ExtractLimits {
  timeoutMs: number;
  maxMemoryMb: number;
}

export class ExtractError extends Error {
  override name = 'ExtractError';
}

// Run as TypeScript under tsx, as JavaScript when built: the thread's file sits beside this one either way.
const fromSource = import.meta.url.endsWith('.ts');
const threadUrl = new URL(fromSource ? './extract-thread.ts' : './extract-thread.js', import.meta.url);

/** A worker thread does not inherit tsx's loader: from source, the thread registers it before loading the file. */
function startThread(options: ConstructorParameters<typeof Worker>[1]): Worker {
  if (!fromSource) return new Worker(threadUrl, options);
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(threadUrl.href)}); })`;
  return new Worker(bootstrap, { ...options, eval: true });
}

export function extractText(
  input: ExtractInput,
  limits: ExtractLimits,
  signal?: AbortSignal,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const worker = startThread({
      workerData: input,
      resourceLimits: { maxOldGenerationSizeMb: limits.maxMemoryMb, maxYoungGenerationSizeMb: 32 },
      stdout: true,
      stderr: true,
    });
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      void worker.terminate();
      outcome();
    };
    const timer = setTimeout(
      () =>
        settle(() =>
          reject(new ExtractError(`reading it took longer than ${Math.round(limits.timeoutMs / 1000)} s`)),
        ),
      limits.timeoutMs,
    );
    const onAbort = () => settle(() => reject(signal?.reason ?? new Error('aborted')));
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.once('message', (output: ExtractOutput) =>
      settle(() => (output.ok ? resolve(output.text) : reject(new ExtractError(output.message)))),
    );
    worker.once('error', (error: Error & { code?: string }) =>
      settle(() =>
        reject(
          new ExtractError(
            error.code === 'ERR_WORKER_OUT_OF_MEMORY'
              ? `reading it needed more than ${limits.maxMemoryMb} MB`
              : error.message,
          ),
        ),
      ),
    );
    worker.once('exit', (code) => settle(() => reject(new ExtractError(`the reader stopped (${code})`))));
  });
}
