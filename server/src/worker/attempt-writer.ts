// An attempt's pen: every event it writes goes through here, one at a time, fenced by its token and numbered by the
// seq it is to get; model deltas are coalesced into fewer appends. A refused append is remembered, so that the
// attempt can tell "the request was cancelled" or "another attempt owns it" from a model failure.
//
// A Redis failover may promote a replica that lacks the last appends, which clients may already have seen (Redis
// replicates asynchronously). The next append then finds a gap (it expected seq 31, the log ends at 13): the writer
// keeps the events it appended (seq → body, as big as the answer) and writes the lost ones again, identically and at
// their seqs, before the new one; a client holding them sees repeats it drops. What it cannot write again (events
// of an earlier attempt, or its own begin lost) ends the request with a retryable error after the seqs clients may
// hold, so that they see it. A record lost whole is written again, with this attempt's claim, and then its events.
import { createCoalescer } from '../generations/coalescer.ts';
import {
  AppendRefused,
  type EventBody,
  errorBody,
  finishingAt,
  type GenerationLog,
  gapAt,
  type TerminalBody,
} from '../generations/log.ts';
import { AttemptAbandoned } from './attempt-ending.ts';

type Body = Exclude<EventBody, TerminalBody>;

/** How many gaps one write repairs before it gives up (each is a failover during the repair of the one before). */
const MAX_REPAIRS = 5;

/** What a failover lost, and what the writer did about it. */
export interface LossReport {
  /** The log's last seq as the writer found it (on the new master). */
  logSeq: number;
  /** The seq the writer was writing. */
  seq: number;
  /** 'rewritten': the lost events were written again and the answer goes on; 'ended': the request ended with an error. */
  outcome: 'rewritten' | 'ended';
  /** Why it ended, if it did. */
  reason?: string;
}

export interface AttemptWriterOptions {
  log: GenerationLog;
  key: string;
  user: string;
  /** The attempt's fencing token. */
  token: string;
  /** The last seq of the log as the attempt found it. */
  seq: number;
  /**
   * The request's id and model, to write its record again if a failover lost it whole (a master killed before the
   * record reached a replica): without them such a request would end nowhere, and its client would wait forever.
   */
  record?: { id: string; model: string };
  /**
   * How many attempts had begun, this one included (begin's `starts`). A fenced append compares it with the log's:
   * fewer there means that this attempt's begin was lost by a failover (not that another attempt took over).
   */
  starts?: number;
  coalesce: { maxDelayMs: number; maxChars: number };
  /** The first delta of the attempt reached the log. */
  firstDelta?(): void;
  /** A delta's append was refused (with this AppendRefused code): the attempt must stop calling the model. */
  refused(code: number): void;
  /** The log had lost events of this request (a failover): told after the writer handled it. */
  lost?(report: LossReport): void;
}

export interface AttemptWriter {
  /** True once a delta reached the log: the client has seen text, a silent retry would show a different answer. */
  readonly wroteText: boolean;
  /** The code of the delta append that was refused, if one was. */
  readonly refusal: number | undefined;
  /** Appends one event now (not a delta: those are pushed); returns its seq, or a negative AppendRefused code. */
  append(body: Body): Promise<number>;
  push(text: string | undefined, reasoning: string | undefined): void;
  /** Writes the deltas waiting; rejects with AttemptAbandoned after a refusal, or with a write's error. */
  flush(): Promise<void>;
  /** Drops the deltas waiting (of a failed or aborted call: never shown). */
  discard(): void;
  /** Writes the terminal event (after any write in flight); returns its seq, or a negative AppendRefused code. */
  finish(body: TerminalBody): Promise<number>;
}

const lostError = (reason: string) =>
  errorBody(
    'internal',
    `the server's Redis failed over and lost part of this answer (${reason}); try again`,
    true,
  );

export function createAttemptWriter(options: AttemptWriterOptions): AttemptWriter {
  const { log, key, token, user } = options;
  /** Each append names the seq it is to get, so that one resent after a reconnect is not written twice. */
  let lastSeq = options.seq;
  let wroteText = false;
  let refusal: number | undefined;
  /** Every non-terminal event this attempt appended, by seq: what a failover may make it write again. */
  const written = new Map<number, Body>();
  /** Writes go out one after another: each names the seq after the one before. */
  let chain: Promise<unknown> = Promise.resolve();

  function serial<T>(task: () => Promise<T>): Promise<T> {
    const run = chain.then(task, task);
    chain = run.catch(() => {});
    return run;
  }

  function put(body: EventBody, terminal: boolean, seq: number, as: string): Promise<number> {
    return terminal
      ? // A copy: bodies may be shared constants (attempt-ending.ts), and the mark is the object's.
        log.finish(key, as, finishingAt({ ...(body as TerminalBody) }, seq), user)
      : log.append(key, as, body as Body, seq);
  }

  /** Writes again the events of seqs logSeq+1 .. seq-1 (`filler` where this attempt has none); 0, or a refusal. */
  async function rewrite(logSeq: number, seq: number, as: string, filler?: Body): Promise<number> {
    for (let at = logSeq + 1; at < seq; at++) {
      const body = written.get(at) ?? filler;
      if (body === undefined) throw new Error(`no event ${at} to write again`); // callers check first
      const result = await log.rewrite(key, as, body, at);
      if (result < 0) return result;
    }
    return 0;
  }

  /**
   * The lost events cannot all be written again: ends the request with a retryable error (or with `body`, if it is
   * the terminal event: every event before it is written again or a `chat.restart`) after every seq clients may
   * hold, the others filled with `chat.restart` or this attempt's own events. Written as `as` ('' once fenced).
   */
  async function end(body: EventBody, terminal: boolean, seq: number, as: string, reason: string) {
    const report = (logSeq: number) => options.lost?.({ logSeq, seq, outcome: 'ended', reason });
    for (let round = 0; round < MAX_REPAIRS; round++) {
      const state = await log.attempts(key);
      if (state === undefined) return AppendRefused.missing;
      let result = await rewrite(state.seq, seq, as, { type: 'chat.restart' });
      if (result === 0 && terminal) result = await put(body, true, seq, as);
      else if (result === 0) {
        result = await log.rewrite(key, as, body as Body, seq);
        if (result > 0) result = await put(lostError(reason), true, seq + 1, as);
        if (result > 0) result = AppendRefused.terminal; // ended: the attempt stops
      }
      if (gapAt(result) === undefined) {
        report(state.seq);
        return result;
      }
    }
    return AppendRefused.terminal;
  }

  async function write(body: EventBody, terminal: boolean): Promise<number> {
    const seq = lastSeq + 1;
    let result = await put(body, terminal, seq, token);
    if (result === AppendRefused.missing && options.record !== undefined) {
      // The record is gone mid-attempt: a failover lost it (it never expires while a request runs). Written again,
      // with this attempt's claim, the log is empty: the gap below writes back every event of this attempt.
      await log.submit(key, { user, ...options.record });
      const begun = await log.begin(key, token);
      if (begun.kind === 'started') result = await put(body, terminal, seq, token);
    }
    let logSeq = gapAt(result);
    if (logSeq === undefined && result === AppendRefused.fenced && options.starts !== undefined) {
      // Fenced: another attempt began after this one, or this one's begin was lost (fewer starts than ours).
      const state = await log.attempts(key);
      // Each begin counts one start: with ours lost, the log counts fewer, or as many if another attempt began since
      // (its job handed out again because BullMQ's state was lost too): then clients may hold seqs of ours that the
      // other attempt reuses, and the request ends here, after them, rather than mix two answers.
      if (state !== undefined && state.starts <= options.starts)
        return end(body, terminal, seq, '', 'the start of this attempt was lost');
    }
    if (logSeq === undefined) return accept(body, terminal, result);
    const firstLogSeq = logSeq;
    for (let round = 0; logSeq !== undefined; round++) {
      // The seqs after the log's end up to this attempt's last are all this attempt's, unless the log ends before
      // the attempt began (impossible when a replica holds a prefix of its master's writes, as Redis's do).
      if (logSeq < options.seq)
        return end(body, terminal, seq, token, 'events of an earlier attempt were lost');
      if (round === MAX_REPAIRS) return end(body, terminal, seq, token, 'it failed over again and again');
      result = await rewrite(logSeq, seq, token);
      if (result === 0) result = await put(body, terminal, seq, token);
      logSeq = gapAt(result);
    }
    if (result > 0) options.lost?.({ logSeq: firstLogSeq, seq, outcome: 'rewritten' });
    return accept(body, terminal, result);
  }

  function accept(body: EventBody, terminal: boolean, result: number): number {
    if (result > 0 && !terminal) {
      lastSeq = result;
      written.set(result, body as Body);
    }
    return result;
  }

  const coalescer = createCoalescer({
    ...options.coalesce,
    write: async (pending) => {
      const seq = await serial(() =>
        write(
          {
            type: 'chat.delta',
            ...(pending.text !== '' && { text: pending.text }),
            ...(pending.reasoning !== '' && { reasoning: pending.reasoning }),
          },
          false,
        ),
      );
      if (seq < 0) {
        refusal = seq;
        options.refused(seq);
        throw new AttemptAbandoned(`append refused (${seq})`);
      }
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
    append: (body) => serial(() => write(body, false)),
    push: (text, reasoning) => coalescer.push(text, reasoning),
    flush: () => coalescer.flush(),
    discard: () => coalescer.discard(),
    finish: (body) => serial(() => write(body, true)),
  };
}
