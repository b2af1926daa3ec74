// Subscribing a connection at start-up. A SUBSCRIBE sent between connecting and ioredis's ready check (which lets it
// through) turns the connection to subscriber mode, the check's INFO is refused, and the reconnect that follows
// subscribes again only for a connection that had been ready: the process would hear nothing on that channel.
import type { Logger } from '../logger.ts';
import type { RedisClient } from './connect.ts';

/** Resolves when the connection is ready (at once if it is). */
export function whenReady(client: RedisClient): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => client.once('ready', () => resolve()));
}

/** Subscribes once the connection is ready, and again on every ready after a reconnect (twice is harmless). */
export async function subscribeWhenReady(
  client: RedisClient,
  channel: string,
  logger: Logger,
): Promise<void> {
  await whenReady(client);
  await client.subscribe(channel);
  client.on('ready', () => {
    client.subscribe(channel).catch((error: unknown) => {
      logger.warn({ err: error, channel }, 'subscribing again after a reconnect failed');
    });
  });
}
