// Subscriptions to the generation-event channels, one shape for every deployment: a node's own connection here,
// one connection per cluster master in cluster-subscriber.ts. Pub/Sub may lose messages: `onResync` names the
// channels that may have, so that their readers go back to the log.
import type { Redis } from 'ioredis';
import { createClusterSubscriber } from './cluster-subscriber.ts';
import {
  createNodeRedis,
  createRedis,
  isCluster,
  type PubSubMode,
  type RedisClient,
  type RedisTarget,
} from './connect.ts';

export interface EventSubscriber {
  /** Resolves once the channel is subscribed, or once it is clear that it cannot be yet (the log covers the rest). */
  subscribe(channel: string): Promise<void>;
  unsubscribe(channel: string): void;
  onMessage(handler: (channel: string, message: string) => void): void;
  /** Messages of these channels (undefined: of all) may have been lost: a reconnect, a failover, a moved slot. */
  onResync(handler: (channels: readonly string[] | undefined) => void): void;
  close(): Promise<void>;
}

/** One connection to one node (alone or Sentinel-managed): SSUBSCRIBE or SUBSCRIBE; a reconnect resyncs all. */
export function createNodeSubscriber(redis: Redis, mode: PubSubMode): EventSubscriber {
  const sharded = mode === 'sharded';
  return {
    async subscribe(channel) {
      await (sharded ? redis.ssubscribe(channel) : redis.subscribe(channel));
    },
    unsubscribe(channel) {
      (sharded ? redis.sunsubscribe(channel) : redis.unsubscribe(channel)).catch(() => {});
    },
    onMessage(handler) {
      redis.on(sharded ? 'smessage' : 'message', handler);
    },
    onResync(handler) {
      // ioredis subscribes again by itself after a reconnect; what was published meanwhile is gone.
      redis.on('ready', () => handler(undefined));
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

/** The event subscriptions of a deployment: a connection of their own, or (a cluster) one per master. */
export function createEventSubscriber(
  target: RedisTarget,
  redis: RedisClient,
  mode: PubSubMode,
  name: string,
): EventSubscriber {
  if (target.mode === 'cluster' && isCluster(redis)) {
    return createClusterSubscriber({
      cluster: redis,
      connect: (address) => createNodeRedis(target, address, name),
    });
  }
  return createNodeSubscriber(createRedis(target, name) as Redis, mode);
}
