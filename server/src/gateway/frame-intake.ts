// How a socket's frames come in: text only, within a frame budget, handled one after another (a cancel never
// overtakes the send it cancels), and with backpressure: past a bound of frames waiting, the socket is not read.
import { randomUUID } from 'node:crypto';
import { CloseCode } from '@chrome-plus/protocol';
import type { RawData, WebSocket } from 'ws';
import type { Logger } from '../logger.ts';
import { FrameBudget } from './limits.ts';
import type { SessionIO } from './session-io.ts';

/** Refusing a flood costs as little as possible: at most one error frame a second. */
const FLOOD_ERROR_INTERVAL_MS = 1_000;
/**
 * A client with more than this many frames refused within one window is disconnected. Counted per window, not in
 * a row: on a busy gateway the budget refills while a burst is read, and a refill must not wipe the count.
 */
const FLOOD_CLOSE_AFTER = 200;
const FLOOD_WINDOW_MS = 1_000;

export interface FrameIntakeOptions {
  socket: WebSocket;
  io: SessionIO;
  logger: Logger;
  framesPerSecond: number;
  /** Frames, and their bytes, waiting to be handled before the socket is paused. */
  pendingFrames: number;
  pendingBytes: number;
  handle(text: string): Promise<void>;
  /** For the log line of a frame that failed. */
  user(): string | undefined;
}

/** ws hands text frames over as a Buffer (binaryType "nodebuffer"); decoding it in place avoids a copy. */
function textOf(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

export function startFrameIntake(options: FrameIntakeOptions): void {
  const { socket, io, logger } = options;
  const budget = new FrameBudget(options.framesPerSecond);
  let refusedFrames = 0;
  let windowStart = 0;
  let lastFloodError = 0;
  let queue: Promise<void> = Promise.resolve();
  let pendingFrames = 0;
  let pendingBytes = 0;

  function flooded(): void {
    const time = Date.now();
    if (time - windowStart > FLOOD_WINDOW_MS) {
      windowStart = time;
      refusedFrames = 0;
    }
    refusedFrames++;
    if (refusedFrames > FLOOD_CLOSE_AFTER) {
      socket.close(CloseCode.policy, 'too many frames');
      return;
    }
    if (time - lastFloodError >= FLOOD_ERROR_INTERVAL_MS) {
      lastFloodError = time;
      const message = `too many frames: at most ${options.framesPerSecond} a second`;
      io.refuse('rate_limited', message, undefined, budget.retryAfterMs());
    }
  }

  socket.on('message', (data, isBinary) => {
    if (isBinary) {
      socket.close(CloseCode.binaryFrame, 'text frames only');
      return;
    }
    if (!budget.take()) return flooded();
    const text = textOf(data);
    pendingFrames++;
    pendingBytes += text.length;
    // Backpressure: stop reading the socket while its frames wait; TCP holds the rest at the client's end. Frames
    // already read still arrive (the rest of one network read, at most one frame more than maxPayload), so what
    // waits in memory stays within pendingBytes + 64 KiB + maxFrameBytes per socket, and nothing is dropped.
    if (pendingFrames >= options.pendingFrames || pendingBytes >= options.pendingBytes) socket.pause();
    queue = queue
      .then(() => options.handle(text))
      .catch((error: unknown) => {
        // The cause stays in our logs; the client gets a reference to quote, never our internals.
        const ref = randomUUID().slice(0, 8);
        logger.error({ err: error, user: options.user(), ref }, 'handling a frame failed');
        io.refuse('internal', `the gateway could not handle this frame; try again (ref ${ref})`);
      })
      .finally(() => {
        pendingFrames--;
        pendingBytes -= text.length;
        if (socket.isPaused && pendingFrames < options.pendingFrames && pendingBytes < options.pendingBytes)
          socket.resume();
      });
  });
}
