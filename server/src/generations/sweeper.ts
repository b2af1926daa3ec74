// The backstop of "every accepted request ends": requests past their deadline get a terminal error.
import type { Queue } from 'bullmq';
import type { Logger } from '../logger.ts';
import { errorBody, type GenerationLog } from './log.ts';

export interface SweeperOptions {
  log: GenerationLog;
  queue: Queue;
  logger: Logger;
  intervalMs: number;
}

export async function sweepOnce(options: Omit<SweeperOptions, 'intervalMs'>): Promise<number> {
  const { log, queue, logger } = options;
  let ended = 0;
  for (const key of await log.overdue()) {
    const state = await log.state(key);
    if (state === undefined || state.terminal) {
      await log.clearDeadline(key);
      continue;
    }
    const body =
      state.status === 'pending'
        ? errorBody('overloaded', 'no worker took the request in time; try again later', true)
        : errorBody('provider_timeout', 'the answer did not finish in time; try again', true);
    // Several sweepers may race: finish() writes the terminal event only once.
    if ((await log.finish(key, '', body, state.user)) > 0) {
      ended++;
      logger.warn({ key, status: state.status }, 'ended an overdue request');
    }
    await queue.remove(key).catch(() => 0);
  }
  return ended;
}

export function startSweeper(options: SweeperOptions): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    sweepOnce(options)
      .catch((error: unknown) => options.logger.warn({ err: error }, 'sweeping overdue requests failed'))
      .finally(() => {
        running = false;
      });
  }, options.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
