// Records each generation's usage when its worker writes the terminal event: the provider's counts when it gave
// them, otherwise counted with a tokenizer (token-count.ts: bounded, once per answer) and marked as estimated. Also
// counted for Prometheus.
import type { Transaction } from 'kysely';
import { Counter, type Registry } from 'prom-client';
import type { Tables } from '../db/schema.ts';
import type { GenerationLog, TerminalBody } from '../generations/log.ts';
import type { ChatJob } from '../jobs.ts';
import type { Logger } from '../logger.ts';
import type { AccountStore, UsageRecord } from './account-store.ts';
import { COUNT_LIMIT_CHARS, countPromptTokens, countTokens } from './token-count.ts';

export interface UsageTracking {
  /** The log the attempt writes through: it watches what the attempt appends. */
  readonly log: GenerationLog;
  /**
   * Records the usage if this attempt wrote the request's terminal event; never throws. `alongside` writes more in
   * the same transaction (history/answer-recorder.ts: the answer).
   */
  settle(alongside?: (transaction: Transaction<Tables>, record: UsageRecord) => Promise<void>): Promise<void>;
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
      // What the model wrote (reasoning and text): its length, and its beginning for the tokenizer.
      let characters = 0;
      let written = '';
      const keep = (piece: string | undefined) => {
        if (piece === undefined || piece.length === 0) return;
        characters += piece.length;
        if (written.length < COUNT_LIMIT_CHARS) written += piece.slice(0, COUNT_LIMIT_CHARS - written.length);
      };
      let terminal: TerminalBody | undefined;
      return {
        log: {
          ...log,
          async append(key, token, body, seq) {
            const appended = await log.append(key, token, body, seq);
            if (appended > 0 && body.type === 'chat.delta') {
              keep(body.reasoning);
              keep(body.text);
            }
            return appended;
          },
          async finish(key, token, body, user) {
            const finished = await log.finish(key, token, body, user);
            if (finished > 0) terminal = body;
            return finished;
          },
        },
        async settle(alongside) {
          if (terminal === undefined) return;
          // The answer's time, not the counting's.
          const durationMs = Math.max(0, Math.round(now() - startedAt));
          const usage = terminal.type === 'chat.done' ? terminal.usage : undefined;
          // Without a word from the model, a failed or cancelled request is charged its prompt only if the model
          // answered at all.
          const charged = terminal.type === 'chat.done' || characters > 0;
          const record: UsageRecord = {
            requestKey: job.key,
            user: job.user,
            model: job.model,
            outcome:
              terminal.type === 'chat.done' ? 'done' : terminal.type === 'chat.error' ? 'error' : 'cancelled',
            promptTokens: usage?.promptTokens ?? (charged ? await countPromptTokens(job.messages) : 0),
            completionTokens: usage?.completionTokens ?? (await countTokens(written, characters)),
            estimated: usage === undefined,
            durationMs,
          };
          tokens.inc({ user: record.user, model: record.model, kind: 'prompt' }, record.promptTokens);
          tokens.inc({ user: record.user, model: record.model, kind: 'completion' }, record.completionTokens);
          try {
            await options.store.recordUsage(
              record,
              alongside === undefined ? undefined : (transaction) => alongside(transaction, record),
            );
          } catch (error) {
            options.logger.error({ err: error, key: job.key, user: job.user }, 'could not record usage');
          }
        },
      };
    },
  };
}
