// The requests one socket follows: a watch per request on the follower, and the ends it already delivered.
import { CloseCode } from '@chrome-plus/protocol';
import type { WebSocket } from 'ws';
import type { Logger } from '../logger.ts';
import type { Follower, Watch } from './follower.ts';
import type { SessionIO } from './session-io.ts';

/** Requests per socket whose end is remembered (a cancel that crosses the terminal event in flight). */
const ENDED_REMEMBERED = 64;

export interface WatchesOptions {
  socket: WebSocket;
  io: SessionIO;
  follower: Follower;
  logger: Logger;
  /** Send buffer above which delivery to this socket pauses. */
  highWaterBytes: number;
  /** The first delta of a request this socket sent went out, `elapsedMs` after its chat.send arrived. */
  firstDelta?(elapsedMs: number): void;
  user(): string | undefined;
}

export type SessionWatches = ReturnType<typeof createWatches>;

export function createWatches(options: WatchesOptions) {
  const { socket, io, logger } = options;
  const watches = new Map<string, Watch>();
  /** The last requests whose terminal event this socket received, so that a late cancel does not send it again. */
  const endedHere = new Set<string>();

  return {
    /** Follows `key` from `after` on; `sentAt`: when the chat.send of a new request arrived, to time its first delta. */
    watch(key: string, id: string, after: number, sentAt?: number): void {
      watches.get(key)?.close();
      const firstDelta = sentAt === undefined ? undefined : options.firstDelta;
      let timing = firstDelta !== undefined;
      const handle = options.follower.watch({
        key,
        id,
        after,
        send: (frame) => {
          io.sendRaw(frame);
          // Only until the first event: later frames cost nothing here.
          if (timing) {
            timing = false;
            if (frame.includes('"type":"chat.delta"')) firstDelta?.(Date.now() - sentAt!);
          }
        },
        congested: () => socket.bufferedAmount > options.highWaterBytes,
        stuck: () => {
          logger.info({ user: options.user() }, 'closing a socket that stopped reading');
          socket.close(CloseCode.overloaded, 'too slow a reader: reconnect and resume');
        },
        ended: () => {
          if (watches.get(key) === handle) watches.delete(key);
          endedHere.add(key);
          if (endedHere.size > ENDED_REMEMBERED) endedHere.delete(endedHere.values().next().value ?? key);
        },
      });
      watches.set(key, handle);
    },
    /** Whether this socket follows the request, or already received its end. */
    delivers(key: string): boolean {
      return watches.has(key) || endedHere.has(key);
    },
    /** A closing socket stops following; the generations go on. */
    closeAll(): void {
      for (const handle of watches.values()) handle.close();
      watches.clear();
    },
  };
}
