// One attempt at one chat job: fence, call the model with retries, stream into the log, end with one terminal event.
// Over 250 lines: one attempt's state (its fencing token, the last seq, the stop reason) is shared by every step;
// splitting the retry loop out is the next step, not yet done.
import { randomUUID } from 'node:crypto';
import type { ErrorCode } from '@chrome-plus/protocol';
import { createCoalescer } from '../generations/coalescer.ts';
import { AppendRefused, errorBody, type GenerationLog, type TerminalBody } from '../generations/log.ts';
import type { ChatJob } from '../jobs.ts';
import type { Logger } from '../logger.ts';
import type { Providers } from '../providers/registry.ts';
import { retryDelayMs, shouldRetry } from '../providers/retry.ts';
import type { ProviderMessage, ProviderRequest } from '../providers/types.ts';
import { ProviderError } from '../providers/types.ts';

export interface GenerateOptions {
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

/** Why an attempt stopped without writing a terminal event. */
export class AttemptAbandoned extends Error {
  override name = 'AttemptAbandoned';
}

/** Tells the attempt to stop: `cancel` ends the request as cancelled, `shutdown` hands it back to the queue. */
export type StopReason = 'cancel' | 'shutdown';

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

/** A ProviderError as it is; anything else is our own failure: logged whole, told to the client by reference. */
function toProviderError(error: unknown, logger: Logger, key: string): ProviderError {
  if (error instanceof ProviderError) return error;
  const ref = randomUUID().slice(0, 8);
  logger.error({ err: error, key, ref }, 'internal error while generating');
  return new ProviderError('internal', `internal error while generating; try again (ref ${ref})`, {
    retryable: true,
    cause: error,
  });
}

export function startAttempt(job: ChatJob, queuedAt: number, options: GenerateOptions): Attempt {
  const now = options.now ?? Date.now;
  const controller = new AbortController();
  let stopReason: StopReason | undefined;
  const token = randomUUID();
  const startedAt = now();
  const { log, logger } = options;
  const key = job.key;

  function finish(body: TerminalBody): Promise<number> {
    return log.finish(key, token, body, job.user);
  }

  async function run(): Promise<void> {
    const begun = await log.begin(key, token);
    if (begun.kind !== 'started') return; // ended already (cancelled while queued, swept) or expired: nothing to do
    if (begun.cancelRequested) {
      await finish({ type: 'chat.cancelled' });
      return;
    }
    if (begun.interrupted >= options.maxInterruptions) {
      logger.error(
        { key, interrupted: begun.interrupted },
        'a request stopped its workers: not started again',
      );
      await finish(
        errorBody(
          'internal',
          `this request stopped its worker ${begun.interrupted} times (a crash or a kill) and was not started again; if it happens again, tell the server's administrator`,
          false,
        ),
      );
      return;
    }
    /** The last seq of the log as this attempt knows it: each append names the seq it is to get. */
    let lastSeq = begun.seq;
    if (begun.seq > 0) {
      // A previous attempt died after writing: the client must discard what it showed.
      const seq = await log.append(key, token, { type: 'chat.restart' }, lastSeq + 1);
      if (seq < 0) return abandonOrCancel(seq);
      lastSeq = seq;
    }
    if (now() - queuedAt > options.timeouts.queueWaitMs && begun.starts === 1) {
      await finish(
        errorBody('overloaded', 'the request waited too long for a free worker; try again later', true),
      );
      return;
    }
    const deadline = now() + options.timeouts.totalMs;
    // The sweeper's deadline moves to the end of the generation; the model call does not wait for it (until it is
    // written, the gateway's queue-wait deadline stands, minutes away).
    log.setDeadline(key, deadline + 30_000).catch((error: unknown) => {
      logger.warn({ err: error, key }, 'could not move the request deadline');
    });

    const resolved = options.providers.resolve(job.model);
    if (resolved === undefined) {
      await finish(
        errorBody('model_not_found', `model "${job.model}" is not configured on this server`, false),
      );
      return;
    }
    let messages: ProviderMessage[];
    try {
      messages = options.prepareMessages
        ? await options.prepareMessages(job, resolved.model.vision, controller.signal)
        : job.messages.map((message) => ({ role: message.role, content: message.content }));
    } catch (error) {
      if (controller.signal.aborted) return stopped();
      const failure = toProviderError(error, logger, key);
      await finish(errorBody(failure.code, failure.message, failure.retryable));
      return;
    }

    let wroteText = false;
    let refusal: number | undefined;
    const coalescer = createCoalescer({
      ...options.coalesce,
      write: async (pending) => {
        const seq = await log.append(
          key,
          token,
          {
            type: 'chat.delta',
            ...(pending.text !== '' && { text: pending.text }),
            ...(pending.reasoning !== '' && { reasoning: pending.reasoning }),
          },
          lastSeq + 1,
        );
        if (seq < 0) {
          refusal = seq;
          controller.abort();
          throw new AttemptAbandoned(`append refused (${seq})`);
        }
        lastSeq = seq;
        if (!wroteText) options.hooks?.firstDelta?.(now() - startedAt);
        wroteText = true;
      },
    });

    for (let attempt = 1; ; attempt++) {
      const request: ProviderRequest = {
        model: job.model,
        messages,
        signal: controller.signal,
        ...(job.options?.temperature !== undefined && { temperature: job.options.temperature }),
        ...(job.options?.maxTokens !== undefined && { maxTokens: job.options.maxTokens }),
      };
      try {
        let sawDelta = false;
        for await (const event of resolved.provider.stream(request)) {
          if (event.type === 'delta') {
            sawDelta = true;
            coalescer.push(event.text, event.reasoning);
          } else {
            await coalescer.flush();
            await finish({
              type: 'chat.done',
              finishReason: event.finishReason,
              model: event.model,
              ...(event.usage && { usage: event.usage }),
            });
            return;
          }
        }
        if (!sawDelta)
          throw new ProviderError('provider_error', 'the model ended its answer without finishing it', {
            retryable: true,
          });
        throw new ProviderError('provider_error', 'the model stream ended without a finish', {
          retryable: true,
        });
      } catch (error) {
        if (refusal !== undefined) return abandonOrCancel(refusal);
        if (controller.signal.aborted) {
          coalescer.discard();
          return stopped();
        }
        const failure = toProviderError(error, logger, key);
        options.hooks?.providerFailed?.(failure.code);
        // Text already shown cannot be taken back by a silent retry: only retry before the first token.
        if (!wroteText && shouldRetry(failure, attempt, options.retries.maxAttempts)) {
          const delay = retryDelayMs(attempt, failure, options.retries);
          if (now() + delay < deadline) {
            // Pieces of the failed attempt still waiting in the coalescer were never shown: drop them.
            coalescer.discard();
            logger.info({ key, attempt, code: failure.code, delay }, 'provider call failed, retrying');
            await sleep(delay, controller.signal);
            if (controller.signal.aborted) return stopped();
            continue;
          }
        }
        try {
          await coalescer.flush();
        } catch {
          if (refusal !== undefined) return abandonOrCancel(refusal);
        }
        logger.warn(
          { key, code: failure.code, status: failure.status },
          `generation failed: ${failure.message}`,
        );
        await finish(errorBody(failure.code, failure.message, failure.retryable, failure.retryAfterMs));
        return;
      }
    }
  }

  async function stopped(): Promise<void> {
    if (stopReason === 'cancel') {
      await finish({ type: 'chat.cancelled' });
      return;
    }
    throw new AttemptAbandoned('worker shutting down: the job goes back to the queue');
  }

  async function abandonOrCancel(code: number): Promise<void> {
    if (code === AppendRefused.cancelRequested) {
      await finish({ type: 'chat.cancelled' });
      return;
    }
    if (code === AppendRefused.terminal || code === AppendRefused.missing) return; // someone else ended it
    throw new AttemptAbandoned('another attempt owns this request now');
  }

  return {
    done: run(),
    stop(reason) {
      stopReason ??= reason;
      controller.abort();
    },
    handBack: () => log.handBack(key, token),
  };
}
