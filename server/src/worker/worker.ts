// The worker role: takes chat jobs from BullMQ, runs them, listens for cancels, hands jobs back on shutdown.
import { DelayedError, type Job, UnrecoverableError, Worker } from 'bullmq';
import type { UsageRecorder } from '../accounts/usage-recorder.ts';
import { type Keys, QUEUE_NAME } from '../generations/keys.ts';
import { errorBody, type GenerationLog } from '../generations/log.ts';
import type { AnswerRecorder } from '../history/answer-recorder.ts';
import { chatJobSchema } from '../jobs.ts';
import type { Logger } from '../logger.ts';
import type { Providers } from '../providers/registry.ts';
import type { RedisClient } from '../redis/connect.ts';
import { AttemptAbandoned } from './attempt-ending.ts';
import { type Attempt, type AttemptHooks, type GenerateOptions, startAttempt } from './generate.ts';

export interface ChatWorkerOptions extends Omit<GenerateOptions, 'log' | 'providers' | 'logger'> {
  /** Used by BullMQ (blocking commands) and for our appends. */
  connection: RedisClient;
  /** A connection of its own, in subscriber mode, for cancels. */
  subscriber: RedisClient;
  keys: Keys;
  log: GenerationLog;
  providers: Providers;
  logger: Logger;
  concurrency: number;
  lockDurationMs: number;
  /** How often running jobs re-check their cancel flag, in case a cancel message was missed. */
  cancelPollMs?: number;
  hooks?: WorkerHooks;
  /** Records each request's usage once its attempt wrote the terminal event (accounts/usage-recorder.ts). */
  usage?: UsageRecorder;
  /** Records each answer in the user's history, in the transaction of its usage (history/answer-recorder.ts). */
  answers?: AnswerRecorder;
}

/** Observation points for metrics; all optional. */
export interface WorkerHooks extends AttemptHooks {
  jobStarted?(job: Job, waitedMs: number): void;
  jobEnded?(job: Job, outcome: 'finished' | 'handed-back' | 'abandoned' | 'failed'): void;
}

export interface ChatWorker {
  readonly active: number;
  /** Stops taking jobs; waits up to `graceMs` for the active ones, then hands them back to the queue. */
  close(graceMs: number): Promise<void>;
}

export async function startChatWorker(options: ChatWorkerOptions): Promise<ChatWorker> {
  const { keys, log, logger } = options;
  const running = new Map<string, Attempt>();

  // Not subscribeWhenReady: with it, a Sentinel master killed mid-answer hung answers in 2 of 3 runs (cause not
  // found yet); a cancel this subscription misses still arrives through the poll below, within a second.
  await options.subscriber.subscribe(keys.cancel);
  options.subscriber.on('message', (channel: string, key: string) => {
    if (channel === keys.cancel) running.get(key)?.stop('cancel');
  });
  // Pub/Sub is fire-and-forget: a cancel sent while our subscriber reconnected would be lost without this poll.
  const poll = setInterval(() => {
    for (const [key, attempt] of running) {
      log.isCancelRequested(key).then(
        (cancelled) => cancelled && attempt.stop('cancel'),
        () => {},
      );
    }
  }, options.cancelPollMs ?? 1_000);

  const processor = async (job: Job, token?: string): Promise<void> => {
    const parsed = chatJobSchema.safeParse(job.data);
    if (!parsed.success) {
      logger.error({ jobId: job.id }, 'malformed job data');
      const key = typeof job.data?.key === 'string' ? job.data.key : undefined;
      const user = typeof job.data?.user === 'string' ? job.data.user : '';
      if (key !== undefined)
        await log.finish(key, '', errorBody('bad_request', 'the request was malformed', false), user);
      throw new UnrecoverableError('malformed job data');
    }
    const data = parsed.data;
    // The job log at debug level: which worker process took which request, and how long it waited.
    logger.debug({ jobId: job.id, key: data.key, waitedMs: Date.now() - job.timestamp }, 'job started');
    options.hooks?.jobStarted?.(job, Date.now() - job.timestamp);
    const usage = options.usage?.track(data, log);
    // Only with usage: the answer is written in the usage's transaction.
    const answer = usage === undefined ? undefined : options.answers?.track(data, usage.log);
    const attempt = startAttempt(data, job.timestamp, {
      ...options,
      log: answer?.log ?? usage?.log ?? log,
      logger,
      providers: options.providers,
    });
    running.set(data.key, attempt);
    try {
      await attempt.done;
      options.hooks?.jobEnded?.(job, 'finished');
    } catch (error) {
      if (error instanceof AttemptAbandoned && closing && token !== undefined) {
        // Shutting down: hand the job back; the next attempt appends chat.restart and starts over.
        await attempt.handBack();
        await job.moveToDelayed(Date.now(), token);
        options.hooks?.jobEnded?.(job, 'handed-back');
        throw new DelayedError();
      }
      options.hooks?.jobEnded?.(job, error instanceof AttemptAbandoned ? 'abandoned' : 'failed');
      if (!(error instanceof AttemptAbandoned)) {
        logger.error({ err: error, key: data.key }, 'job failed unexpectedly');
        await log
          .finish(
            data.key,
            '',
            errorBody('internal', 'the worker failed while generating; try again', true),
            data.user,
          )
          .catch(() => {});
      }
      throw error;
    } finally {
      running.delete(data.key);
      await usage?.settle(answer?.write);
      await answer?.announce();
    }
  };

  let closing = false;
  const worker = new Worker(QUEUE_NAME, processor, {
    connection: options.connection,
    prefix: keys.queuePrefix,
    concurrency: options.concurrency,
    lockDuration: options.lockDurationMs,
    stalledInterval: Math.max(250, Math.floor(options.lockDurationMs / 2)),
    // Restarts after a crash are counted by our own fencing (maxInterruptions); BullMQ should not give up first.
    maxStalledCount: options.maxInterruptions + 1,
    autorun: true,
  });
  worker.on('error', (error) => logger.warn({ err: error }, 'worker connection error'));
  worker.on('stalled', (jobId) =>
    logger.warn({ jobId }, 'job stalled (its worker stopped); handed to another'),
  );
  await worker.waitUntilReady();

  return {
    get active() {
      return running.size;
    },
    async close(graceMs) {
      closing = true;
      clearInterval(poll);
      const closed = worker.close();
      const timer = setTimeout(() => {
        for (const attempt of running.values()) attempt.stop('shutdown');
      }, graceMs);
      await closed;
      clearTimeout(timer);
      await options.subscriber.unsubscribe(keys.cancel).catch(() => {});
    },
  };
}
