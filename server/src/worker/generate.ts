// One attempt at one chat job: fence, call the model with retries, stream into the log, end with one terminal event.
// The attempt's lifecycle is here; its pen is attempt-writer.ts, the terminal event of each ending attempt-ending.ts.
// Over 250 lines by a few: `run` is one sequence (begin, resolve, prepare, search, generate), read top to bottom.
import { randomUUID } from 'node:crypto';
import type { ErrorCode } from '@chrome-plus/protocol';
import { errorBody, type GenerationLog, type TerminalBody } from '../generations/log.ts';
import type { ChatJob } from '../jobs.ts';
import type { Logger } from '../logger.ts';
import type { Providers, ResolvedModel } from '../providers/registry.ts';
import { retryDelayMs, shouldRetry } from '../providers/retry.ts';
import type { ProviderError, ProviderMessage } from '../providers/types.ts';
import {
  AttemptAbandoned,
  doneBody,
  type Ending,
  endingAfterRefusal,
  endingAfterStop,
  endingAtBegin,
  failureBody,
  type StopReason,
  toProviderError,
} from './attempt-ending.ts';
import { type AttemptWriter, createAttemptWriter, type LossReport } from './attempt-writer.ts';
import { callModelOnce, modelRequest } from './model-call.ts';
import { type SearchStepOptions, searchStep } from './search-step.ts';

export interface GenerateOptions extends SearchStepOptions {
  log: GenerationLog;
  providers: Providers;
  logger: Logger;
  timeouts: { totalMs: number; queueWaitMs: number };
  retries: { maxAttempts: number; baseDelayMs: number; maxDelayMs: number };
  /**
   * A request whose earlier attempts stopped their worker this many times (crashed or killed it, not handed back
   * in good order) ends with an error instead of starting again: a poison request must not take worker after worker.
   */
  maxInterruptions: number;
  coalesce: { maxDelayMs: number; maxChars: number };
  /** Turns the job's messages into what the model takes (attachments); may throw a ProviderError-like refusal. */
  prepareMessages?(job: ChatJob, vision: boolean, signal: AbortSignal): Promise<ProviderMessage[]>;
  now?: () => number;
  hooks?: AttemptHooks;
}

/** Observation points for metrics; all optional. */
export interface AttemptHooks {
  /** The attempt's first delta reached the log, `elapsedMs` after the attempt started. */
  firstDelta?(elapsedMs: number): void;
  /** A model call failed (retried or not). */
  providerFailed?(code: ErrorCode): void;
}

export interface Attempt {
  /** Resolves when the job is finished (terminal event written, or someone else's). Rejects with AttemptAbandoned. */
  done: Promise<void>;
  stop(reason: StopReason): void;
  /** Records that this attempt's job goes back to the queue in good order (shutdown), so it counts as no crash. */
  handBack(): Promise<boolean>;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

class ChatAttempt implements Attempt {
  readonly done: Promise<void>;
  private readonly controller = new AbortController();
  private stopReason: StopReason | undefined;
  private readonly token = randomUUID();
  private readonly now: () => number;
  private readonly startedAt: number;
  private readonly key: string;
  private writer: AttemptWriter | undefined;
  private deadline: number | undefined;

  constructor(
    private readonly job: ChatJob,
    private readonly queuedAt: number,
    private readonly options: GenerateOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.startedAt = this.now();
    this.key = job.key;
    this.done = this.run();
  }

  stop(reason: StopReason): void {
    this.stopReason ??= reason;
    this.controller.abort();
  }

  handBack(): Promise<boolean> {
    return this.options.log.handBack(this.key, this.token);
  }

  private async run(): Promise<void> {
    const { log, logger } = this.options;
    const begun = await log.begin(this.key, this.token);
    if (begun.kind !== 'started') return; // ended already (cancelled while queued, swept) or expired: nothing to do
    const refused = endingAtBegin(begun, this.options.maxInterruptions);
    if (refused !== undefined) {
      if (refused.kind === 'write' && refused.body.type === 'chat.error') {
        const interrupted = begun.interrupted;
        logger.error({ key: this.key, interrupted }, 'a request stopped its workers: not started again');
      }
      return this.end(refused);
    }
    const writer = createAttemptWriter({
      log,
      key: this.key,
      user: this.job.user,
      token: this.token,
      seq: begun.seq,
      starts: begun.starts,
      record: { id: this.job.id, model: this.job.model },
      coalesce: this.options.coalesce,
      firstDelta: () => this.options.hooks?.firstDelta?.(this.now() - this.startedAt),
      refused: () => this.controller.abort(),
      lost: (report) => this.lost(report),
    });
    this.writer = writer;
    if (begun.seq > 0) {
      // A previous attempt died after writing: the client must discard what it showed.
      const seq = await writer.append({ type: 'chat.restart' });
      if (seq < 0) return this.end(endingAfterRefusal(seq));
    }
    if (this.now() - this.queuedAt > this.options.timeouts.queueWaitMs && begun.starts === 1) {
      await this.finish(
        errorBody('overloaded', 'the request waited too long for a free worker; try again later', true),
      );
      return;
    }
    const deadline = this.now() + this.options.timeouts.totalMs;
    this.deadline = deadline;
    // The sweeper's deadline moves to the end of the generation; the model call does not wait for it (until it is
    // written, the gateway's queue-wait deadline stands, minutes away).
    log.setDeadline(this.key, deadline + 30_000).catch((error: unknown) => {
      logger.warn({ err: error, key: this.key }, 'could not move the request deadline');
    });

    const resolved = this.options.providers.resolve(this.job.model);
    if (resolved === undefined) {
      const message = `model "${this.job.model}" is not configured on this server`;
      await this.finish(errorBody('model_not_found', message, false));
      return;
    }
    let messages: ProviderMessage[] | number;
    try {
      const prepared = await this.messagesFor(resolved);
      messages = await searchStep(this.job, prepared, this.options, writer, this.controller.signal);
    } catch (error) {
      if (this.controller.signal.aborted) return this.end(endingAfterStop(this.stopReason));
      await this.finish(failureBody(toProviderError(error, logger, this.key)));
      return;
    }
    if (typeof messages === 'number') return this.end(endingAfterRefusal(messages));
    await this.generate(resolved, messages, deadline, writer);
  }

  private messagesFor(resolved: ResolvedModel): Promise<ProviderMessage[]> | ProviderMessage[] {
    const { job } = this;
    if (this.options.prepareMessages)
      return this.options.prepareMessages(job, resolved.model.vision, this.controller.signal);
    return job.messages.map((message) => ({ role: message.role, content: message.content }));
  }

  /** The retry loop: calls the model until an answer finishes, a failure may not be retried, or the attempt stops. */
  private async generate(
    resolved: ResolvedModel,
    messages: ProviderMessage[],
    deadline: number,
    writer: AttemptWriter,
  ): Promise<void> {
    const { logger, hooks } = this.options;
    const { key } = this;
    const signal = this.controller.signal;
    for (let attempt = 1; ; attempt++) {
      try {
        const request = modelRequest(this.job, messages, this.controller.signal);
        const finished = await callModelOnce(resolved.provider, request, writer);
        await this.finish(doneBody(finished));
        return;
      } catch (error) {
        if (writer.refusal !== undefined) return this.end(endingAfterRefusal(writer.refusal));
        if (signal.aborted) {
          writer.discard();
          return this.end(endingAfterStop(this.stopReason));
        }
        const failure = toProviderError(error, logger, key);
        hooks?.providerFailed?.(failure.code);
        const delay = this.retryDelay(failure, attempt, writer.wroteText, deadline);
        if (delay !== undefined) {
          // Pieces of the failed attempt still waiting in the coalescer were never shown: drop them.
          writer.discard();
          logger.info({ key, attempt, code: failure.code, delay }, 'provider call failed, retrying');
          await sleep(delay, signal);
          if (signal.aborted) return this.end(endingAfterStop(this.stopReason));
          continue;
        }
        try {
          await writer.flush();
        } catch {
          if (writer.refusal !== undefined) return this.end(endingAfterRefusal(writer.refusal));
        }
        logger.warn(
          { key, code: failure.code, status: failure.status },
          `generation failed: ${failure.message}`,
        );
        await this.finish(failureBody(failure));
        return;
      }
    }
  }

  /** How long to wait before calling again, or undefined: text already shown cannot be taken back by a retry. */
  private retryDelay(failure: ProviderError, attempt: number, wroteText: boolean, deadline: number) {
    const { retries } = this.options;
    if (wroteText || !shouldRetry(failure, attempt, retries.maxAttempts)) return undefined;
    const delay = retryDelayMs(attempt, failure, retries);
    return this.now() + delay < deadline ? delay : undefined;
  }

  /** Through the writer once there is one: after its last write, at the seq after it (a failover's gap refused). */
  private finish(body: TerminalBody): Promise<number> {
    if (this.writer !== undefined) return this.writer.finish(body);
    return this.options.log.finish(this.key, this.token, body, this.job.user);
  }

  /** A failover lost events of this request: the writer handled it; what else it lost is the moved deadline. */
  private lost(report: LossReport): void {
    const { log, logger } = this.options;
    logger.warn({ key: this.key, ...report }, 'the log had lost events (a Redis failover)');
    if (report.outcome === 'rewritten' && this.deadline !== undefined) {
      log.setDeadline(this.key, this.deadline + 30_000).catch(() => {});
    }
  }

  private async end(ending: Ending): Promise<void> {
    if (ending.kind === 'write') await this.finish(ending.body);
    else if (ending.kind === 'abandon') throw new AttemptAbandoned(ending.reason);
  }
}

export function startAttempt(job: ChatJob, queuedAt: number, options: GenerateOptions): Attempt {
  return new ChatAttempt(job, queuedAt, options);
}
