// Sharded Pub/Sub on a Redis Cluster: each channel is SSUBSCRIBEd on the master that owns its slot, over one
// connection per master, and moved when the slot map says its owner changed. ioredis's own sharded subscribers lose
// a channel silently when its slot's master fails over (the old master, now a replica, sends an unasked SUNSUBSCRIBE;
// a killed one just goes): here that is noticed (the unasked SUNSUBSCRIBE, a closed connection, a MOVED, or the slot
// map read every 2 s), the channel is subscribed again where it now lives, and its readers are told to re-read the log.
import type { Cluster, Redis } from 'ioredis';
import type { RedisAddress } from './connect.ts';
import type { EventSubscriber } from './event-subscriber.ts';
import { slotOf } from './slot.ts';

export interface ClusterSubscriberOptions {
  /** The cluster's command client: its slot map says which master owns a channel. */
  cluster: Cluster;
  /** A new plain connection to one node, for its subscriptions. */
  connect(address: RedisAddress): Redis;
  /** How often every subscription is checked against the slot map (default 500 ms). */
  reconcileMs?: number;
  /** How long `subscribe` waits for the node before it lets its caller read the log anyway (default 2 s). */
  subscribeTimeoutMs?: number;
}

interface NodeConnection {
  redis: Redis;
  channels: Set<string>;
  connectedOnce: boolean;
}

export interface ClusterSubscriber extends EventSubscriber {
  /** Where each channel is subscribed now ("host:port"), for tests and diagnostics. */
  placement(): Map<string, string | undefined>;
}

export function createClusterSubscriber(options: ClusterSubscriberOptions): ClusterSubscriber {
  const { cluster } = options;
  const subscribeTimeoutMs = options.subscribeTimeoutMs ?? 2_000;
  const channels = new Map<string, { slot: number; node: string | undefined }>();
  const nodes = new Map<string, NodeConnection>();
  const messageHandlers: ((channel: string, message: string) => void)[] = [];
  const resyncHandlers: ((channels: readonly string[] | undefined) => void)[] = [];
  let closed = false;
  let refreshing = false;

  const ownerOf = (slot: number): string | undefined => cluster.slots[slot]?.[0];

  function resync(list: readonly string[]): void {
    if (list.length === 0 || closed) return;
    for (const handler of resyncHandlers) handler(list);
  }

  /** Reads the slot map again now (a node went, or moved a slot), then moves what must move. */
  function refresh(): void {
    if (closed || refreshing) return;
    refreshing = true;
    cluster.refreshSlotsCache(() => {
      refreshing = false;
      reconcile();
    });
  }

  function nodeFor(key: string): NodeConnection {
    const existing = nodes.get(key);
    if (existing !== undefined) return existing;
    const colon = key.lastIndexOf(':');
    const redis = options.connect({ host: key.slice(0, colon), port: Number(key.slice(colon + 1)) });
    const node: NodeConnection = { redis, channels: new Set(), connectedOnce: false };
    redis.on('smessage', (channel: string, message: string) => {
      for (const handler of messageHandlers) handler(channel, message);
    });
    redis.on('ready', () => {
      // ioredis subscribed again by itself; what was published meanwhile is gone.
      if (node.connectedOnce) resync([...node.channels]);
      node.connectedOnce = true;
    });
    // The node went: its slots may have a new master.
    redis.on('close', refresh);
    // An SSUBSCRIBE answered MOVED (ioredis drops that command without a word).
    redis.on('moved', refresh);
    redis.on('error', (error: Error) => {
      // A SUNSUBSCRIBE nobody asked for: the node gave up the channel's slot (a failover made it a replica).
      if (/sunsubscribe/i.test(error.message)) refresh();
    });
    nodes.set(key, node);
    return node;
  }

  async function place(channel: string, entry: { node: string | undefined }, owner: string): Promise<void> {
    entry.node = owner;
    const node = nodeFor(owner);
    node.channels.add(channel);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      node.redis.ssubscribe(channel).catch(() => {}),
      new Promise((resolve) => {
        timer = setTimeout(resolve, subscribeTimeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }

  function leave(channel: string, key: string | undefined): void {
    if (key === undefined) return;
    const node = nodes.get(key);
    if (node === undefined) return;
    node.channels.delete(channel);
    if (node.redis.status === 'ready') node.redis.sunsubscribe(channel).catch(() => {});
  }

  /** Moves every channel whose slot has another master now; closes connections no channel needs. */
  function reconcile(): void {
    if (closed) return;
    const moved: Promise<string>[] = [];
    for (const [channel, entry] of channels) {
      const owner = ownerOf(entry.slot);
      if (owner === undefined || owner === entry.node) continue;
      leave(channel, entry.node);
      moved.push(place(channel, entry, owner).then(() => channel));
    }
    for (const [key, node] of nodes) {
      if (node.channels.size > 0) continue;
      nodes.delete(key);
      node.redis.disconnect();
    }
    // Subscribed where the channel lives now: what was published meanwhile is read from the log.
    if (moved.length > 0) void Promise.all(moved).then(resync);
  }

  const timer = setInterval(reconcile, options.reconcileMs ?? 500);
  timer.unref();

  return {
    async subscribe(channel) {
      const entry = { slot: slotOf(channel), node: undefined as string | undefined };
      channels.set(channel, entry);
      const owner = ownerOf(entry.slot);
      // The slot map is not known yet: the next reconcile places the channel and resyncs it.
      if (owner === undefined) return refresh();
      await place(channel, entry, owner);
    },
    unsubscribe(channel) {
      const entry = channels.get(channel);
      if (entry === undefined) return;
      channels.delete(channel);
      leave(channel, entry.node);
    },
    onMessage(handler) {
      messageHandlers.push(handler);
    },
    onResync(handler) {
      resyncHandlers.push(handler);
    },
    placement() {
      return new Map([...channels].map(([channel, entry]) => [channel, entry.node]));
    },
    async close() {
      closed = true;
      clearInterval(timer);
      await Promise.all(
        [...nodes.values()].map((node) => node.redis.quit().catch(() => node.redis.disconnect())),
      );
      nodes.clear();
    },
  };
}
