// The worker's half of the history: it watches what an attempt appends (the text and reasoning since the last
// restart, the terminal event) and, when that attempt wrote the terminal event, records the answer beside its user
// message in the transaction of the request's usage (usage-recorder.ts calls `write`), then publishes the change.
import type { Transaction } from 'kysely';
import type { UsageRecord } from '../accounts/account-store.ts';
import type { Tables } from '../db/schema.ts';
import type { GenerationLog, TerminalBody } from '../generations/log.ts';
import type { ChatJob } from '../jobs.ts';
import type { HistoryPublisher } from './history-feed.ts';
import type { HistoryChange, HistoryStore } from './history-store.ts';

export interface AnswerTracking {
  readonly log: GenerationLog;
  /** Records the answer in the usage's transaction; nothing unless this attempt wrote the terminal event. */
  write(transaction: Transaction<Tables>, usage: UsageRecord): Promise<void>;
  /** After the transaction committed: tells the user's sockets. Never throws. */
  announce(): Promise<void>;
}

export interface AnswerRecorder {
  track(job: ChatJob, log: GenerationLog): AnswerTracking;
}

export function createAnswerRecorder(options: {
  store: Pick<HistoryStore, 'recordAnswer'>;
  publisher: HistoryPublisher;
}): AnswerRecorder {
  return {
    track(job, log) {
      let text = '';
      let reasoning = '';
      let terminal: TerminalBody | undefined;
      let change: HistoryChange | undefined;
      return {
        log: {
          ...log,
          async append(key, token, body, seq) {
            const appended = await log.append(key, token, body, seq);
            if (appended > 0) {
              if (body.type === 'chat.restart') {
                text = '';
                reasoning = '';
              } else if (body.type === 'chat.delta') {
                text += body.text ?? '';
                reasoning += body.reasoning ?? '';
              }
            }
            return appended;
          },
          async finish(key, token, body, user) {
            const finished = await log.finish(key, token, body, user);
            if (finished > 0) terminal = body;
            return finished;
          },
        },
        async write(transaction, usage) {
          if (terminal === undefined) return;
          change = await options.store.recordAnswer(transaction, {
            user: job.user,
            requestId: job.id,
            content: text,
            reasoning,
            status: usage.outcome,
            model: terminal.type === 'chat.done' ? terminal.model : job.model,
            ...(terminal.type === 'chat.done' && { finishReason: terminal.finishReason }),
            usage: {
              promptTokens: usage.promptTokens,
              completionTokens: usage.completionTokens,
              estimated: usage.estimated,
            },
            ...(terminal.type === 'chat.error' && {
              error: { code: terminal.code, message: terminal.message },
            }),
          });
        },
        async announce() {
          if (change !== undefined) await options.publisher.publish(change);
          change = undefined;
        },
      };
    },
  };
}
