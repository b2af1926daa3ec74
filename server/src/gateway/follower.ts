// Follows request logs for this gateway's sockets: a Pub/Sub message carries each new event for speed,
// the log (XRANGE) fills any gap, so a socket gets every event in order, once, however late it joins.
// Here: one subscription per request shared by its watches, message routing, and the timers; one watch's delivery
// is log-watch.ts. The subscriptions themselves (a node's connection, or one per cluster master) are redis/.
import { Redis } from 'ioredis';
import type { Keys } from '../generations/keys.ts';
import type { GenerationLog } from '../generations/log.ts';
import { seqOf } from '../generations/log.ts';
import type { Logger } from '../logger.ts';
import type { PubSubMode } from '../redis/connect.ts';
import { createNodeSubscriber, type EventSubscriber } from '../redis/event-subscriber.ts';
import { LogWatch, type Watch, type WatchHost, type WatchOptions } from './log-watch.ts';

export type { Watch, WatchOptions } from './log-watch.ts';

export interface FollowerOptions {
  /** The event channels' subscriptions; a connection of its own is wrapped (redis/event-subscriber.ts). */
  subscriber: EventSubscriber | Redis;
  /** With a connection as `subscriber`: sharded (SSUBSCRIBE) or classic Pub/Sub, as the log publishes (default classic). */
  pubsub?: PubSubMode;
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

/** The field the log script adds, last, to the published copy of an event: `,"at":<append time ms>}`. */
const APPENDED_AT = ',"at":';

/** A published event: the entry as the log stores it (so a live frame is byte for byte a replay's), its append time. */
export function parsePublished(message: string): { entry: string; seq: number; appendedAt: number } {
  const at = message.lastIndexOf(APPENDED_AT);
  const entry = at < 0 ? message : `${message.slice(0, at)}}`;
  const appendedAt = at < 0 ? 0 : Number(message.slice(at + APPENDED_AT.length, -1));
  return { entry, seq: seqOf(entry), appendedAt };
}

export function createFollower(options: FollowerOptions): Follower {
  const { log, logger } = options;
  const subscriber =
    options.subscriber instanceof Redis
      ? createNodeSubscriber(options.subscriber, options.pubsub ?? 'classic')
      : options.subscriber;
  const now = options.now ?? Date.now;
  const stuckMs = options.stuckMs ?? 30_000;
  const channels = new Map<string, { watches: Set<LogWatch>; ready: Promise<unknown> }>();
  const paused = new Set<LogWatch>();
  let count = 0;

  const host: WatchHost = {
    read: (key, after, pageSize) => log.read(key, after, pageSize),
    now,
    logger,
    paused: (watch) => paused.add(watch),
    resumed: (watch) => paused.delete(watch),
    closed(watch) {
      count--;
      paused.delete(watch);
      const entry = channels.get(watch.channel);
      if (entry === undefined) return;
      entry.watches.delete(watch);
      if (entry.watches.size === 0) {
        channels.delete(watch.channel);
        subscriber.unsubscribe(watch.channel);
      }
    },
    ...(options.delivered !== undefined && { delivered: options.delivered }),
  };

  subscriber.onMessage((channel, message) => {
    const entry = channels.get(channel);
    if (entry === undefined) return;
    const published = parsePublished(message);
    for (const watch of entry.watches) watch.heard(published.seq, published.entry, published.appendedAt);
  });

  // A reconnect, a failover or a moved slot: what was published meanwhile is read from the log.
  subscriber.onResync((resynced) => {
    const affected =
      resynced === undefined ? [...channels.values()] : resynced.map((channel) => channels.get(channel));
    for (const entry of affected) for (const watch of entry?.watches ?? []) watch.reconnected();
  });

  const pauseTimer = setInterval(() => {
    const time = now();
    for (const watch of paused) watch.checkPaused(time, stuckMs);
  }, 50);

  const idleCheckMs = options.idleCheckMs ?? 10_000;
  const idleTimer = setInterval(
    () => {
      const time = now();
      for (const entry of channels.values())
        for (const watch of entry.watches) watch.checkIdle(time, idleCheckMs);
    },
    Math.max(100, Math.floor(idleCheckMs / 2)),
  );

  return {
    get watching() {
      return count;
    },
    watch(watchOptions) {
      const channel = options.keys.events(watchOptions.key);
      const watch = new LogWatch(watchOptions, channel, host);
      count++;
      let entry = channels.get(channel);
      if (entry === undefined) {
        entry = { watches: new Set(), ready: subscriber.subscribe(channel) };
        channels.set(channel, entry);
      }
      entry.watches.add(watch);
      // Subscribe first, then read the log: an event appended in between arrives by message and marks it dirty.
      watch.start(entry.ready);
      return watch;
    },
    async close() {
      clearInterval(pauseTimer);
      clearInterval(idleTimer);
      for (const entry of channels.values()) for (const watch of entry.watches) watch.close();
    },
  };
}
