// An attempt's pen: every event it writes goes through here, fenced by its token and numbered by the seq it is to
// get; model deltas are coalesced into fewer appends. A refused append is remembered, so that the attempt can tell
// "the request was cancelled" or "another attempt owns it" from a model failure.
import { createCoalescer } from '../generations/coalescer.ts';
import type { EventBody, GenerationLog, TerminalBody } from '../generations/log.ts';
import { AttemptAbandoned } from './attempt-ending.ts';

export interface AttemptWriterOptions {
  log: GenerationLog;
  key: string;
  user: string;
  /** The attempt's fencing token. */
  token: string;
  /** The last seq of the log as the attempt found it. */
  seq: number;
  coalesce: { maxDelayMs: number; maxChars: number };
  /** The first delta of the attempt reached the log. */
  firstDelta?(): void;
  /** A delta's append was refused (with this AppendRefused code): the attempt must stop calling the model. */
  refused(code: number): void;
}

export interface AttemptWriter {
  /** True once a delta reached the log: the client has seen text, a silent retry would show a different answer. */
  readonly wroteText: boolean;
  /** The code of the delta append that was refused, if one was. */
  readonly refusal: number | undefined;
  /** Appends one event now (not a delta: those are pushed); returns its seq, or a negative AppendRefused code. */
  append(body: Exclude<EventBody, TerminalBody>): Promise<number>;
  push(text: string | undefined, reasoning: string | undefined): void;
  /** Writes the deltas waiting; rejects with AttemptAbandoned after a refusal, or with a write's error. */
  flush(): Promise<void>;
  /** Drops the deltas waiting (of a failed or aborted call: never shown). */
  discard(): void;
  /** Writes the terminal event; returns its seq, or a negative AppendRefused code. */
  finish(body: TerminalBody): Promise<number>;
}

export function createAttemptWriter(options: AttemptWriterOptions): AttemptWriter {
  const { log, key, token } = options;
  /** Each append names the seq it is to get, so that one resent after a reconnect is not written twice. */
  let lastSeq = options.seq;
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
        options.refused(seq);
        throw new AttemptAbandoned(`append refused (${seq})`);
      }
      lastSeq = seq;
      if (!wroteText) options.firstDelta?.();
      wroteText = true;
    },
  });

  return {
    get wroteText() {
      return wroteText;
    },
    get refusal() {
      return refusal;
    },
    async append(body) {
      const seq = await log.append(key, token, body, lastSeq + 1);
      if (seq >= 0) lastSeq = seq;
      return seq;
    },
    push: (text, reasoning) => coalescer.push(text, reasoning),
    flush: () => coalescer.flush(),
    discard: () => coalescer.discard(),
    finish: (body) => log.finish(key, token, body, options.user),
  };
}
