// Records each generation's usage when its worker writes the terminal event: the provider's counts when it gave
// them, otherwise an estimate (about 4 characters a token) marked as such. Also counted for Prometheus.
import { Counter, type Registry } from 'prom-client';
import type { GenerationLog, TerminalBody } from '../generations/log.ts';
import type { ChatJob } from '../jobs.ts';
import type { Logger } from '../logger.ts';
import type { AccountStore, UsageRecord } from './account-store.ts';

/** A rough count where the provider gave none: English runs about 4 characters a token in OpenAI's tokenizers. */
export function estimateTokens(characters: number): number {
  return Math.ceil(characters / 4);
}

export interface UsageTracking {
  /** The log the attempt writes through: it watches what the attempt appends. */
  readonly log: GenerationLog;
  /** Records the usage if this attempt wrote the request's terminal event; never throws. */
  settle(): Promise<void>;
}

export interface UsageRecorder {
  track(job: ChatJob, log: GenerationLog): UsageTracking;
}

export function createUsageRecorder(options: {
  store: Pick<AccountStore, 'recordUsage'>;
  logger: Logger;
  registry?: Registry;
  now?: () => number;
}): UsageRecorder {
  const now = options.now ?? Date.now;
  const tokens = new Counter({
    name: 'chrome_plus_tokens_total',
    help: 'Tokens of finished, failed and cancelled generations, by user, model and kind (prompt, completion); estimated ones included.',
    labelNames: ['user', 'model', 'kind'],
    registers: options.registry === undefined ? [] : [options.registry],
  });

  return {
    track(job, log) {
      const startedAt = now();
      let characters = 0;
      let terminal: TerminalBody | undefined;
      return {
        log: {
          ...log,
          async append(key, token, body, seq) {
            const written = await log.append(key, token, body, seq);
            if (written > 0 && body.type === 'chat.delta')
              characters += (body.text?.length ?? 0) + (body.reasoning?.length ?? 0);
            return written;
          },
          async finish(key, token, body, user) {
            const written = await log.finish(key, token, body, user);
            if (written > 0) terminal = body;
            return written;
          },
        },
        async settle() {
          if (terminal === undefined) return;
          const usage = terminal.type === 'chat.done' ? terminal.usage : undefined;
          const promptCharacters = job.messages.reduce((sum, message) => sum + message.content.length, 0);
          // Without a word from the model, a failed or cancelled request is charged its prompt only if the model
          // answered at all.
          const record: UsageRecord = {
            requestKey: job.key,
            user: job.user,
            model: job.model,
            outcome:
              terminal.type === 'chat.done' ? 'done' : terminal.type === 'chat.error' ? 'error' : 'cancelled',
            promptTokens:
              usage?.promptTokens ??
              (terminal.type === 'chat.done' || characters > 0 ? estimateTokens(promptCharacters) : 0),
            completionTokens: usage?.completionTokens ?? estimateTokens(characters),
            estimated: usage === undefined,
            durationMs: Math.max(0, Math.round(now() - startedAt)),
          };
          tokens.inc({ user: record.user, model: record.model, kind: 'prompt' }, record.promptTokens);
          tokens.inc({ user: record.user, model: record.model, kind: 'completion' }, record.completionTokens);
          try {
            await options.store.recordUsage(record);
          } catch (error) {
            options.logger.error({ err: error, key: job.key, user: job.user }, 'could not record usage');
          }
        },
      };
    },
  };
}
