// Follows request logs for this gateway's sockets: a Pub/Sub message carries each new event for speed,
// the log (XRANGE) fills any gap, so a socket gets every event in order, once, however late it joins.
import type { Redis } from 'ioredis';
import type { Keys } from '../generations/keys.ts';
import type { GenerationLog } from '../generations/log.ts';
import { seqOf, toFrame } from '../generations/log.ts';
import type { Logger } from '../logger.ts';

/** One socket watching one request. */
export interface WatchOptions {
  key: string;
  /** The client's request id, for the frames. */
  id: string;
  /** Deliver events with seq > after. */
  after: number;
  /** Writes one frame to the socket. */
  send(frame: string): void;
  /** True while the socket's send buffer is too full to take more: delivery pauses, the log keeps the rest. */
  congested(): boolean;
  /** Called when the socket stayed congested for too long. */
  stuck(): void;
  /** Called after the terminal event was sent. */
  ended?(): void;
}

export interface Watch {
  readonly last: number;
  close(): void;
}

interface Subscription {
  options: WatchOptions;
  channel: string;
  quotedId: string;
  last: number;
  mode: 'catching' | 'live' | 'paused';
  /** An event arrived while catching up: read the log again before going live. */
  dirty: boolean;
  closed: boolean;
  pausedAt: number;
  lastActivity: number;
}

export interface FollowerOptions {
  subscriber: Redis;
  log: GenerationLog;
  keys: Keys;
  logger: Logger;
  /** How long a congested socket may stay so before it is told to go (1013). */
  stuckMs?: number;
  /** How often live watches that heard nothing re-read their log, in case a Pub/Sub message was lost. */
  idleCheckMs?: number;
  /** The clock (epoch ms). */
  now?: () => number;
  /** Called after a live event went to a socket, with its append time (epoch ms, the writer's clock), for metrics. */
  delivered?(appendedAt: number): void;
}

export interface Follower {
  watch(options: WatchOptions): Watch;
  readonly watching: number;
  close(): Promise<void>;
}

const TERMINAL = /^"type":"chat\.(?:done|error|cancelled)"/;
/** The field the log script adds, last, to the published copy of an event: `,"at":<append time ms>}`. */
const APPENDED_AT = ',"at":';

function isTerminalEntry(entry: string): boolean {
  // Entries start with {"seq":N, then "type":...; no need to parse the JSON for this.
  return TERMINAL.test(entry.slice(entry.indexOf(',') + 1, entry.indexOf(',') + 30));
}

export function createFollower(options: FollowerOptions): Follower {
  const { subscriber, log, logger } = options;
  const now = options.now ?? Date.now;
  const stuckMs = options.stuckMs ?? 30_000;
  const channels = new Map<string, { subscriptions: Set<Subscription>; ready: Promise<unknown> }>();
  const paused = new Set<Subscription>();
  let count = 0;

  function remove(subscription: Subscription): void {
    if (subscription.closed) return;
    subscription.closed = true;
    count--;
    paused.delete(subscription);
    const entry = channels.get(subscription.channel);
    if (entry === undefined) return;
    entry.subscriptions.delete(subscription);
    if (entry.subscriptions.size === 0) {
      channels.delete(subscription.channel);
      subscriber.unsubscribe(subscription.channel).catch(() => {});
    }
  }

  /** Sends one stored event; false when delivery must stop (ended, closed or congested). */
  function deliver(subscription: Subscription, seq: number, entry: string): boolean {
    subscription.options.send(toFrame(entry, subscription.quotedId));
    subscription.last = seq;
    subscription.lastActivity = now();
    if (isTerminalEntry(entry)) {
      remove(subscription);
      subscription.options.ended?.();
      return false;
    }
    if (subscription.options.congested()) {
      subscription.mode = 'paused';
      subscription.pausedAt = now();
      paused.add(subscription);
      return false;
    }
    return true;
  }

  async function catchUp(subscription: Subscription): Promise<void> {
    subscription.mode = 'catching';
    paused.delete(subscription);
    try {
      do {
        subscription.dirty = false;
        const entries = await log.read(subscription.options.key, subscription.last, 512);
        if (subscription.closed) return;
        for (const entry of entries) {
          if (entry.seq <= subscription.last) continue;
          if (!deliver(subscription, entry.seq, entry.json)) return;
        }
        if (entries.length === 512) subscription.dirty = true;
      } while (subscription.dirty && !subscription.closed);
      subscription.mode = 'live';
    } catch (error) {
      // Redis unreachable: stay in catch-up; the idle check retries once Redis is back.
      logger.warn({ err: error, key: subscription.options.key }, 'reading a log failed; will retry');
      subscription.mode = 'live';
      subscription.lastActivity = 0;
    }
  }

  subscriber.on('message', (channel: string, message: string) => {
    const entry_ = channels.get(channel);
    if (entry_ === undefined) return;
    // Strip the append time, so that a live frame is byte for byte the one a replay sends.
    const at = message.lastIndexOf(APPENDED_AT);
    const entry = at < 0 ? message : `${message.slice(0, at)}}`;
    const appendedAt = at < 0 ? 0 : Number(message.slice(at + APPENDED_AT.length, -1));
    const seq = seqOf(entry);
    for (const subscription of entry_.subscriptions) {
      if (subscription.mode === 'catching') {
        subscription.dirty = true;
      } else if (subscription.mode === 'live') {
        if (seq === subscription.last + 1) {
          deliver(subscription, seq, entry);
          if (appendedAt > 0) options.delivered?.(appendedAt);
        } else if (seq > subscription.last + 1) void catchUp(subscription);
      }
    }
  });

  // After a reconnect, messages published meanwhile are gone: every live watch re-reads its log.
  subscriber.on('ready', () => {
    for (const entry of channels.values()) {
      for (const subscription of entry.subscriptions)
        if (subscription.mode === 'live') void catchUp(subscription);
    }
  });

  const pauseTimer = setInterval(() => {
    const time = now();
    for (const subscription of paused) {
      if (!subscription.options.congested()) void catchUp(subscription);
      else if (time - subscription.pausedAt > stuckMs) {
        remove(subscription);
        subscription.options.stuck();
      }
    }
  }, 50);

  const idleCheckMs = options.idleCheckMs ?? 10_000;
  const idleTimer = setInterval(
    () => {
      const time = now();
      for (const entry of channels.values()) {
        for (const subscription of entry.subscriptions) {
          if (subscription.mode === 'live' && time - subscription.lastActivity > idleCheckMs) {
            subscription.lastActivity = time;
            void catchUp(subscription);
          }
        }
      }
    },
    Math.max(100, Math.floor(idleCheckMs / 2)),
  );

  return {
    get watching() {
      return count;
    },
    watch(watchOptions) {
      const channel = options.keys.events(watchOptions.key);
      const subscription: Subscription = {
        options: watchOptions,
        channel,
        quotedId: JSON.stringify(watchOptions.id),
        last: watchOptions.after,
        mode: 'catching',
        dirty: false,
        closed: false,
        pausedAt: 0,
        lastActivity: now(),
      };
      count++;
      let entry = channels.get(channel);
      if (entry === undefined) {
        entry = { subscriptions: new Set(), ready: subscriber.subscribe(channel) };
        channels.set(channel, entry);
      }
      entry.subscriptions.add(subscription);
      // Subscribe first, then read the log: an event appended in between arrives by message and marks us dirty.
      entry.ready.then(
        () => catchUp(subscription),
        () => catchUp(subscription),
      );
      return {
        get last() {
          return subscription.last;
        },
        close: () => remove(subscription),
      };
    },
    async close() {
      clearInterval(pauseTimer);
      clearInterval(idleTimer);
      for (const entry of channels.values())
        for (const subscription of entry.subscriptions) remove(subscription);
    },
  };
}
