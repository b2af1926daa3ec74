// The per-request event log in Redis: claim, fenced append, read, cancel flag, expiry. The heart of the guarantees.
// Over 250 lines on purpose: the Lua scripts and the code that calls them are one unit; read them side by side.
import type { ChatDoneFrame, ErrorCode, WebSearchOutcome } from '@chrome-plus/protocol';
import type { PubSubMode, RedisClient } from '../redis/connect.ts';
import { defineScript } from '../redis/script.ts';
import type { Keys } from './keys.ts';

/** An event as a worker writes it: the log adds `seq`, the gateway adds the client's `id`. */
export type EventBody =
  | { type: 'chat.delta'; text?: string; reasoning?: string; webSearch?: WebSearchOutcome }
  | { type: 'chat.restart' }
  | Omit<ChatDoneFrame, 'id' | 'seq'>
  | { type: 'chat.error'; code: ErrorCode; message: string; retryable: boolean; retryAfterMs?: number }
  | { type: 'chat.cancelled' };

export type TerminalBody = Extract<EventBody, { type: 'chat.done' | 'chat.error' | 'chat.cancelled' }>;

/** Why an append was refused. */
export const AppendRefused = {
  /** The request already ended: nothing may follow its terminal event. */
  terminal: -1,
  /** Another attempt owns the request now (this worker lost its job): a zombie must not write. */
  fenced: -2,
  /** The request's record expired or never existed. */
  missing: -3,
  /** The user asked to cancel: the writer must stop and append `chat.cancelled`. */
  cancelRequested: -4,
  /**
   * The log ends before the seq the append expected: a Redis failover lost events the writer saw acknowledged. Not
   * one code but a range that carries the log's last seq: `gap - seq` (read it with `gapAt`). Nothing was written.
   */
  gap: -16,
} as const;

/** The log's last seq, if `code` is a gap refusal (the append expected a later seq); undefined otherwise. */
export function gapAt(code: number): number | undefined {
  return code <= AppendRefused.gap ? AppendRefused.gap - code : undefined;
}

/**
 * The seqs terminal events are to get, set by the attempt's writer (`finishingAt`). A side table rather than a
 * parameter of `finish`, so that it passes through the wrappers of the log (metrics, usage) as they are.
 */
const terminalSeqs = new WeakMap<TerminalBody, number>();

/**
 * Names the seq `body` is to get when it is passed to `finish`: that finish then refuses a gap, like an append. The
 * mark is the object's and is used once: pass a body of one's own (a copy), never a shared constant.
 */
export function finishingAt<T extends TerminalBody>(body: T, seq: number): T {
  terminalSeqs.set(body, seq);
  return body;
}

const submitScript = defineScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.call('HMGET', KEYS[1], 'status', 'created')
end
redis.call('HSET', KEYS[1], 'user', ARGV[1], 'id', ARGV[2], 'model', ARGV[3], 'status', 'pending',
  'seq', 0, 'starts', 0, 'created', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 'new'
`);

const beginScript = defineScript(`
local state = redis.call('HMGET', KEYS[1], 'terminal', 'cancel', 'seq', 'handedBack')
if state[3] == false then return {-3, 0, 0, 0} end
if state[1] == '1' then return {-1, 0, 0, 0} end
local starts = redis.call('HINCRBY', KEYS[1], 'starts', 1)
redis.call('HSET', KEYS[1], 'attempt', ARGV[1], 'status', 'running')
local cancelled = 0
if state[2] == '1' then cancelled = 1 end
return {cancelled, tonumber(state[3]), starts, tonumber(state[4] or '0')}
`);

// KEYS: meta. ARGV: token. Only the attempt that owns the request may say it handed it back in good order.
const handBackScript = defineScript(`
if redis.call('HGET', KEYS[1], 'attempt') ~= ARGV[1] then return 0 end
return redis.call('HINCRBY', KEYS[1], 'handedBack', 1)
`);

// KEYS: meta, log, events channel (a key, so that a cluster routes it: SPUBLISH goes to the slot's shard).
// ARGV: token ('' = any writer, for terminal events of the gateway or the sweeper), body JSON,
// terminal flag, rewrite flag ('1': an event written before that a failover lost, see below), log retention ms, meta TTL ms after the end, meta/log TTL ms while running, now,
// the seq this event is to get ('' = the next, whatever it is), the publish command (SPUBLISH or PUBLISH).
// An append whose seq is already taken by its own attempt was applied before: a client library that sends a
// command again after a reconnect (its reply lost when Redis went away) must not write the event twice.
// A terminal event is written once by its flag, not by its seq: one whose seq is taken goes after (an append whose
// reply was lost and that failed may have been written).
// An append whose seq is beyond the next one finds a log that lost its tail (a failover promoted a replica that
// had not received the last appends, which clients may have seen): it is refused with the log's seq (-16 - seq), and
// the writer writes the missing events again first, with the rewrite flag (a cancel does not stop those: they
// were written before it), so that every seq keeps the event clients may hold.
const appendScript = defineScript(`
local state = redis.call('HMGET', KEYS[1], 'terminal', 'attempt', 'cancel', 'seq')
if state[4] == false then return -3 end
if state[1] == '1' then return -1 end
if ARGV[1] ~= '' and state[2] ~= ARGV[1] then return -2 end
if ARGV[9] ~= '' then
  local current = tonumber(state[4])
  local expected = tonumber(ARGV[9])
  if expected > current + 1 then return -16 - current end
  if current >= expected and ARGV[3] ~= '1' then return expected end
end
if ARGV[3] ~= '1' and ARGV[4] ~= '1' and state[3] == '1' then return -4 end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
local entry = '{"seq":' .. seq .. ',' .. string.sub(ARGV[2], 2)
redis.call('XADD', KEYS[2], '0-' .. seq, 'e', entry)
if ARGV[3] == '1' then
  redis.call('HSET', KEYS[1], 'terminal', '1', 'status', 'done', 'ended', ARGV[8])
  redis.call('PEXPIRE', KEYS[2], ARGV[5])
  redis.call('PEXPIRE', KEYS[1], ARGV[6])
elseif seq == 1 then
  redis.call('PEXPIRE', KEYS[2], ARGV[7])
end
-- The published copy also carries the append time, for the gateways' delivery-latency metric; they strip it.
redis.call(ARGV[10], KEYS[3], string.sub(entry, 1, -2) .. ',"at":' .. ARGV[8] .. '}')
return seq
`);

/** Frees a request's slot among its user's answers in flight; returns the slot's score (its deadline), or nil. */
const releaseScript = defineScript(`
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score then redis.call('ZREM', KEYS[1], ARGV[1]) end
return score
`);

const cancelScript = defineScript(`
local state = redis.call('HMGET', KEYS[1], 'terminal', 'status')
if state[2] == false then return 'missing' end
if state[1] == '1' then return 'terminal' end
redis.call('HSET', KEYS[1], 'cancel', '1')
return state[2]
`);

export interface LogEntry {
  seq: number;
  /** The event as stored: `{"seq":N,"type":...}` without the client's id. */
  json: string;
}

export interface RequestState {
  user: string;
  id: string;
  model: string;
  status: 'pending' | 'running' | 'done';
  seq: number;
  terminal: boolean;
  createdAt: number;
  logExists: boolean;
}

export type SubmitResult = { created: true } | { created: false; status: string; createdAt: number };
export type BeginResult =
  | { kind: 'missing' }
  | { kind: 'terminal' }
  | {
      kind: 'started';
      cancelRequested: boolean;
      seq: number;
      starts: number;
      /** Earlier attempts that ended without writing a terminal event, and without handing the job back: crashes. */
      interrupted: number;
    };

export interface GenerationLogOptions {
  redis: RedisClient;
  keys: Keys;
  /** How long a finished log stays readable. */
  retentionMs: number;
  /** How long the record outlives the log (default 24 h). */
  recordMs?: number;
  /** How long an unfinished request may live at most (its record and log expire after it, whatever happens). */
  maxLifetimeMs: number;
  now?: () => number;
  /** Events go out on sharded Pub/Sub (SPUBLISH, Redis >= 7.0) or classic (PUBLISH); the follower must agree. */
  pubsub?: PubSubMode;
}

export type GenerationLog = ReturnType<typeof createGenerationLog>;

/** Reads the seq of a stored event without parsing the whole JSON: entries start with `{"seq":N,`. */
export function seqOf(entry: string): number {
  return Number.parseInt(entry.slice(7, entry.indexOf(',', 7)), 10);
}

/** Adds the client's id to a stored event, giving the frame as it goes on the wire. */
export function toFrame(entry: string, quotedId: string): string {
  return `{"id":${quotedId},${entry.slice(1)}`;
}

export function createGenerationLog(options: GenerationLogOptions) {
  const { redis, keys } = options;
  const now = options.now ?? Date.now;
  const publish = options.pubsub === 'sharded' ? 'SPUBLISH' : 'PUBLISH';
  // The record (and with it the claim of the id) outlives the log, so that a resume after expiry is told "expired".
  const metaTtlAfterEndMs = options.retentionMs + (options.recordMs ?? 24 * 3_600_000);

  async function append(
    key: string,
    token: string,
    body: EventBody,
    terminal: boolean,
    seq: number | undefined,
    rewrite = false,
  ): Promise<number> {
    const result = await appendScript.run(
      redis,
      [keys.meta(key), keys.log(key), keys.events(key)],
      [
        token,
        JSON.stringify(body),
        terminal ? '1' : '0',
        rewrite ? '1' : '',
        options.retentionMs,
        metaTtlAfterEndMs,
        options.maxLifetimeMs,
        now(),
        seq ?? '',
        publish,
      ],
    );
    return Number(result);
  }

  return {
    /** Claims (user, id) for a new request; a second claim of the same key reports the first one's state. */
    async submit(key: string, request: { user: string; id: string; model: string }): Promise<SubmitResult> {
      const result = await submitScript.run(
        redis,
        [keys.meta(key)],
        [request.user, request.id, request.model, now(), options.maxLifetimeMs],
      );
      if (result === 'new') return { created: true };
      const [status, createdAt] = result as [string | null, string | null];
      return { created: false, status: status ?? 'pending', createdAt: Number(createdAt ?? 0) };
    },

    /** Starts an attempt: records its fencing token, so that any earlier attempt can no longer write. */
    async begin(key: string, token: string): Promise<BeginResult> {
      const [code, seq, starts, handedBack] = (await beginScript.run(
        redis,
        [keys.meta(key)],
        [token],
      )) as number[];
      if (code === AppendRefused.missing) return { kind: 'missing' };
      if (code === AppendRefused.terminal) return { kind: 'terminal' };
      const begun = starts ?? 1;
      return {
        kind: 'started',
        cancelRequested: code === 1,
        seq: seq ?? 0,
        starts: begun,
        interrupted: begun - 1 - (handedBack ?? 0),
      };
    },

    /** Records that the attempt `token` gave its job back to the queue on shutdown: that start was no crash. */
    async handBack(key: string, token: string): Promise<boolean> {
      return Number(await handBackScript.run(redis, [keys.meta(key)], [token])) > 0;
    },

    /**
     * Appends a non-terminal event as the attempt `token`. Returns the new seq, or an AppendRefused code.
     * `seq`, the seq the attempt expects the event to get, makes the append idempotent: sent twice, it is written once.
     */
    append(
      key: string,
      token: string,
      body: Exclude<EventBody, TerminalBody>,
      seq?: number,
    ): Promise<number> {
      return append(key, token, body, false, seq);
    },

    /**
     * Writes again, at `seq`, a non-terminal event that was appended before and lost by a failover (the writer
     * repairing a gap): as an append with that seq, except that a cancel requested meanwhile does not refuse it.
     * Not wrapped by the log's observers (metrics, usage): it is no new event.
     */
    rewrite(
      key: string,
      token: string,
      body: Exclude<EventBody, TerminalBody>,
      seq: number,
    ): Promise<number> {
      return append(key, token, body, false, seq, true);
    },

    /**
     * Appends the terminal event, unless one exists already: exactly one terminal event per request.
     * `token` '' lets a writer that owns no attempt (the gateway cancelling a queued job, the deadline sweeper) end it.
     * A body marked with `finishingAt` names its seq (idempotent, a gap refused); others take the next seq.
     * Returns the seq, or an AppendRefused code (then someone else ended the request first).
     */
    async finish(key: string, token: string, body: TerminalBody, user: string): Promise<number> {
      const named = terminalSeqs.get(body);
      terminalSeqs.delete(body);
      // The user's slot is freed before the end is published: a client that sends its next request the moment it
      // hears this one end must not be refused for a slot this one still holds. (The slot and the request live in
      // different hash slots of a cluster, so one script cannot do both.) A writer refused for a reason that leaves
      // the request running puts the slot back.
      // If freeing it fails (Redis failing over), the end is written all the same and the slot freed after it.
      const slot = (await releaseScript.run(redis, [keys.inflight(user)], [key]).catch(() => undefined)) as
        | string
        | null
        | undefined;
      const seq = await append(key, token, body, true, named);
      if (seq > 0) {
        await Promise.all([
          redis.zrem(keys.deadlines(key), key),
          slot === undefined ? redis.zrem(keys.inflight(user), key) : undefined,
        ]);
      } else if (typeof slot === 'string' && seq !== AppendRefused.terminal && seq !== AppendRefused.missing)
        await redis.zadd(keys.inflight(user), slot, key);
      return seq;
    },

    /** Events with seq > after, in order, at most `count`. */
    async read(key: string, after: number, count = 1000): Promise<LogEntry[]> {
      const entries = await redis.xrange(keys.log(key), `(0-${after}`, '+', 'COUNT', count);
      return entries.map(([, fields]) => {
        const json = fields[1] ?? '{}';
        return { seq: seqOf(json), json };
      });
    },

    async state(key: string): Promise<RequestState | undefined> {
      const [fields, logExists] = await Promise.all([
        redis.hmget(keys.meta(key), 'user', 'id', 'model', 'status', 'seq', 'terminal', 'created'),
        redis.exists(keys.log(key)),
      ]);
      const [user, id, model, status, seq, terminal, created] = fields;
      if (user === null || user === undefined || seq === null || seq === undefined) return undefined;
      return {
        user,
        id: id ?? '',
        model: model ?? '',
        status: (status ?? 'pending') as RequestState['status'],
        seq: Number(seq),
        terminal: terminal === '1',
        createdAt: Number(created ?? 0),
        logExists: logExists === 1,
      };
    },

    /** Marks the request cancelled and tells every worker. */
    async requestCancel(key: string): Promise<'missing' | 'terminal' | 'pending' | 'running'> {
      const result = String(await cancelScript.run(redis, [keys.meta(key)], []));
      if (result === 'pending' || result === 'running') await redis.publish(keys.cancel, key);
      return result as 'missing' | 'terminal' | 'pending' | 'running';
    },

    /** The log's last seq and how many attempts began, as this Redis has them (a fenced writer checks its begin). */
    async attempts(key: string): Promise<{ seq: number; starts: number } | undefined> {
      const [seq, starts] = await redis.hmget(keys.meta(key), 'seq', 'starts');
      if (seq === null || seq === undefined) return undefined;
      return { seq: Number(seq), starts: Number(starts ?? 0) };
    },

    async isCancelRequested(key: string): Promise<boolean> {
      return (await redis.hget(keys.meta(key), 'cancel')) === '1';
    },

    /** Every request that should have ended by now (the sweeper ends them), from every bucket. */
    async overdue(limit = 100): Promise<string[]> {
      const time = now();
      const found = await Promise.all(
        keys.deadlineBuckets.map((bucket) => redis.zrangebyscore(bucket, '-inf', time, 'LIMIT', 0, limit)),
      );
      return found.flat().slice(0, limit);
    },

    setDeadline(key: string, at: number): Promise<number> {
      return redis.zadd(keys.deadlines(key), at, key);
    },

    clearDeadline(key: string): Promise<number> {
      return redis.zrem(keys.deadlines(key), key);
    },
  };
}

export function errorBody(
  code: ErrorCode,
  message: string,
  retryable: boolean,
  retryAfterMs?: number,
): Extract<TerminalBody, { type: 'chat.error' }> {
  return retryAfterMs === undefined
    ? { type: 'chat.error', code, message, retryable }
    : { type: 'chat.error', code, message, retryable, retryAfterMs };
}
