// The live feed of history changes: whoever commits a change (a gateway for a send or an edit, a worker for an
// answer) publishes it on one Redis Pub/Sub channel, as the accounts directory does for revocations; every gateway
// hears it and tells the sockets of that user that follow the feed (those that sent history.list), except the one
// that made the change. Pub/Sub may lose a message: after a reconnect of the subscriber every follower is told to
// list again since its cursor, which the database always answers rightly.
import type { HistoryChangedFrame } from '@chrome-plus/protocol';
import type { Logger } from '../logger.ts';
import type { RedisClient } from '../redis/connect.ts';
import { subscribeWhenReady } from '../redis/subscribe-when-ready.ts';
import type { HistoryChange } from './history-store.ts';

/** A change as it crosses Redis: `origin`, the socket that made it (it is not told). */
interface Notice extends HistoryChange {
  origin?: string;
}

export interface HistoryPublisher {
  /** Never throws: the feed is a hint, the database the truth. */
  publish(change: HistoryChange, origin?: string): Promise<void>;
}

export function createHistoryPublisher(
  redis: RedisClient,
  channel: string,
  logger: Logger,
): HistoryPublisher {
  return {
    async publish(change, origin) {
      const notice: Notice = { ...change, ...(origin !== undefined && { origin }) };
      try {
        await redis.publish(channel, JSON.stringify(notice));
      } catch (error) {
        logger.warn({ err: error, user: change.user }, 'could not publish a history change');
      }
    },
  };
}

export type FeedListener = (frame: HistoryChangedFrame) => void;

export interface HistoryFeed {
  /** Calls `listener` for each change of `user` not made by `origin`; returns the unfollow. */
  follow(user: string, origin: string, listener: FeedListener): () => void;
  close(): Promise<void>;
}

export async function startHistoryFeed(options: {
  /** A connection of its own, in subscriber mode. */
  subscriber: RedisClient;
  channel: string;
  logger: Logger;
}): Promise<HistoryFeed> {
  const { subscriber, channel, logger } = options;
  const followers = new Map<string, Map<string, FeedListener>>();

  function tell(listener: FeedListener, frame: HistoryChangedFrame): void {
    try {
      listener(frame);
    } catch (error) {
      logger.warn({ err: error }, 'a history follower failed');
    }
  }

  await subscribeWhenReady(subscriber, channel, logger);
  subscriber.on('message', (from: string, text: string) => {
    if (from !== channel) return;
    let notice: Notice;
    try {
      notice = JSON.parse(text) as Notice;
    } catch {
      return;
    }
    const listeners = followers.get(notice.user);
    if (listeners === undefined) return;
    const frame: HistoryChangedFrame = {
      type: 'history.changed',
      conversationId: notice.conversationId,
      seq: notice.seq,
      change: notice.change,
    };
    for (const [origin, listener] of listeners) if (origin !== notice.origin) tell(listener, frame);
  });
  let ready = false;
  subscriber.on('ready', () => {
    // The first 'ready' is the connection itself; any later one is a reconnect that may have lost notices.
    if (!ready) {
      ready = true;
      return;
    }
    for (const listeners of followers.values())
      for (const listener of listeners.values()) tell(listener, { type: 'history.changed' });
  });
  if (subscriber.status === 'ready') ready = true;

  return {
    follow(user, origin, listener) {
      let listeners = followers.get(user);
      if (listeners === undefined) {
        listeners = new Map();
        followers.set(user, listeners);
      }
      listeners.set(origin, listener);
      return () => {
        const current = followers.get(user);
        current?.delete(origin);
        if (current?.size === 0) followers.delete(user);
      };
    },
    async close() {
      followers.clear();
      await subscriber.unsubscribe(channel).catch(() => {});
    },
  };
}
