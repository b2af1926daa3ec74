// The state of one assistant answer, folded from its request events (text since the last restart).
import type { ErrorCode, Usage, WebSearchOutcome } from '@chrome-plus/protocol';
import type { RequestEvent } from './chat-client.ts';

export type AnswerStatus = 'streaming' | 'done' | 'error' | 'cancelled';

export interface AnswerError {
  code: ErrorCode | 'offline';
  message: string;
  retryable: boolean;
  /** Epoch ms after which a retry may succeed (from `retryAfterMs`). */
  retryAt?: number;
  /** Set when the request carried files: a `not_found` then means a file expired, not the answer. */
  withAttachments?: boolean;
}

export interface AnswerState {
  text: string;
  reasoning: string;
  status: AnswerStatus;
  lastSeq: number;
  /** Jobs ahead of this one when it was accepted. */
  queued?: number;
  model?: string;
  finishReason?: string;
  usage?: Usage;
  error?: AnswerError;
  /** The request's web search: its numbered sources, or why it failed. */
  webSearch?: WebSearchOutcome;
}

export function emptyAnswer(): AnswerState {
  return { text: '', reasoning: '', status: 'streaming', lastSeq: 0 };
}

/**
 * Applies one event (already deduplicated and in order) and returns the new state.
 * `now` dates a rate limit's retry time.
 */
export function applyAnswerEvent(answer: AnswerState, event: RequestEvent, now = Date.now()): AnswerState {
  switch (event.type) {
    case 'chat.accepted':
      return { ...answer, queued: event.queued };
    case 'chat.delta':
      return {
        ...answer,
        text: answer.text + (event.text ?? ''),
        reasoning: answer.reasoning + (event.reasoning ?? ''),
        lastSeq: event.seq,
        queued: undefined,
        ...(event.webSearch !== undefined && { webSearch: event.webSearch }),
      };
    case 'chat.restart':
      // The worker died and the generation starts again: what came before is not part of the answer.
      return { ...answer, text: '', reasoning: '', lastSeq: event.seq, webSearch: undefined };
    case 'chat.done':
      return {
        ...answer,
        status: 'done',
        lastSeq: event.seq,
        model: event.model,
        finishReason: event.finishReason,
        usage: event.usage,
      };
    case 'chat.cancelled':
      return { ...answer, status: 'cancelled', lastSeq: event.seq };
    case 'chat.error':
      return {
        ...answer,
        status: 'error',
        lastSeq: event.seq ?? answer.lastSeq,
        error: {
          code: event.code,
          message: event.message,
          retryable: event.retryable,
          retryAt: event.retryAfterMs !== undefined ? now + event.retryAfterMs : undefined,
        },
      };
    default:
      return answer;
  }
}
