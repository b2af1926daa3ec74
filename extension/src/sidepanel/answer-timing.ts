// An answer's speed as the panel sees it: time from the send to the first text (TTFT), and characters per second
// of text over the time it streamed (from the first text to the end, or to now while it streams).
import type { AnswerState } from '@chrome-plus/client';
import type { AnswerTiming } from '../store/types.ts';

/**
 * The timing after one event: the first text is dated when an answer that had none gets some, the end when it stops
 * streaming. An answer restored with text already in it (the panel was closed) never gets a first-text time: its
 * TTFT is unknown rather than wrong.
 */
export function timingAfter(
  timing: AnswerTiming,
  before: Pick<AnswerState, 'text' | 'status'>,
  after: Pick<AnswerState, 'text' | 'status'>,
  now: number,
): AnswerTiming {
  let next = timing;
  if (next.firstTextAt === undefined && before.text === '' && after.text !== '' && next.endedAt === undefined)
    next = { ...next, firstTextAt: now };
  if (next.endedAt === undefined && before.status === 'streaming' && after.status !== 'streaming')
    next = { ...next, endedAt: now };
  return next;
}

/** Milliseconds from the send to the first text, when known. */
export function timeToFirstText(timing: AnswerTiming | undefined): number | undefined {
  if (timing?.firstTextAt === undefined) return undefined;
  return Math.max(0, timing.firstTextAt - timing.sentAt);
}

/** Below this much streaming time a rate means nothing (one delta that carried everything). */
const minimumSpanMs = 100;

/** Characters of text per second of streaming, when known; `now` stands for the end while it streams. */
export function charactersPerSecond(
  timing: AnswerTiming | undefined,
  characters: number,
  now: number,
): number | undefined {
  if (timing?.firstTextAt === undefined) return undefined;
  const span = (timing.endedAt ?? now) - timing.firstTextAt;
  if (span < minimumSpanMs) return undefined;
  return characters / (span / 1000);
}

/** "0.42" seconds for a TTFT, "1.3" past ten seconds. */
export function formatSeconds(milliseconds: number): string {
  const seconds = milliseconds / 1000;
  return seconds < 10 ? seconds.toFixed(2) : seconds.toFixed(1);
}
