// How an attempt ends: which terminal event it writes (if any) for each way it can stop, and its failures normalised.
import { randomUUID } from 'node:crypto';
import { AppendRefused, type BeginResult, errorBody, type TerminalBody } from '../generations/log.ts';
import type { Logger } from '../logger.ts';
import { ProviderError, type ProviderEvent } from '../providers/types.ts';

/** Why an attempt stopped without writing a terminal event. */
export class AttemptAbandoned extends Error {
  override name = 'AttemptAbandoned';
}

/** Tells the attempt to stop: `cancel` ends the request as cancelled, `shutdown` hands it back to the queue. */
export type StopReason = 'cancel' | 'shutdown';

/** Write this terminal event; leave the request (someone else ended it); or give the job up (AttemptAbandoned). */
export type Ending =
  | { kind: 'write'; body: TerminalBody }
  | { kind: 'none' }
  | { kind: 'abandon'; reason: string };

const cancelled: Ending = { kind: 'write', body: { type: 'chat.cancelled' } };

/** After the log refused an append of this attempt. */
export function endingAfterRefusal(code: number): Ending {
  if (code === AppendRefused.cancelRequested) return cancelled;
  if (code === AppendRefused.terminal || code === AppendRefused.missing) return { kind: 'none' };
  return { kind: 'abandon', reason: 'another attempt owns this request now' };
}

/** After the attempt was told to stop (its signal aborted). */
export function endingAfterStop(reason: StopReason | undefined): Ending {
  if (reason === 'cancel') return cancelled;
  return { kind: 'abandon', reason: 'worker shutting down: the job goes back to the queue' };
}

/** Before the model is called, from what `begin` found: cancelled while queued, or a poison request. */
export function endingAtBegin(
  begun: Extract<BeginResult, { kind: 'started' }>,
  maxInterruptions: number,
): Ending | undefined {
  if (begun.cancelRequested) return cancelled;
  if (begun.interrupted >= maxInterruptions) {
    const message = `this request stopped its worker ${begun.interrupted} times (a crash or a kill) and was not started again; if it happens again, tell the server's administrator`;
    return { kind: 'write', body: errorBody('internal', message, false) };
  }
  return undefined;
}

/** The terminal event of a failed call (or of anything else that went wrong while generating). */
export function failureBody(failure: ProviderError): TerminalBody {
  return errorBody(failure.code, failure.message, failure.retryable, failure.retryAfterMs);
}

/** The terminal event of a finished answer. */
export function doneBody(event: Extract<ProviderEvent, { type: 'finish' }>): TerminalBody {
  return {
    type: 'chat.done',
    finishReason: event.finishReason,
    model: event.model,
    ...(event.usage && { usage: event.usage }),
  };
}

/** A ProviderError as it is; anything else is our own failure: logged whole, told to the client by reference. */
export function toProviderError(error: unknown, logger: Logger, key: string): ProviderError {
  if (error instanceof ProviderError) return error;
  const ref = randomUUID().slice(0, 8);
  logger.error({ err: error, key, ref }, 'internal error while generating');
  return new ProviderError('internal', `internal error while generating; try again (ref ${ref})`, {
    retryable: true,
    cause: error,
  });
}
