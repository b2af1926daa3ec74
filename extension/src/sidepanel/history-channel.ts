// The history frames over the panel's socket: each request named by a `ref`, answered by the frame that echoes it.
import type {
  HistoryChangesFrame,
  HistoryClientFrame,
  HistoryConversationFrame,
  HistoryErrorFrame,
  HistorySavedFrame,
  ServerFrame,
} from '@chrome-plus/protocol';

export type HistoryReply =
  | HistoryChangesFrame
  | HistoryConversationFrame
  | HistorySavedFrame
  | HistoryErrorFrame;

/** A history request that got no answer: the socket went away, or the server did not reply in time. */
export class HistoryUnanswered extends Error {
  override name = 'HistoryUnanswered';
}

type Unsent<F> = F extends HistoryClientFrame ? Omit<F, 'ref'> : never;

interface Waiting {
  resolve(reply: HistoryReply): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

export class HistoryChannel {
  private readonly send: (frame: HistoryClientFrame) => boolean;
  private readonly timeoutMs: number;
  private readonly waiting = new Map<string, Waiting>();
  private nextRef = 0;

  /** `send` returns false when not connected (nothing is sent then). */
  constructor(send: (frame: HistoryClientFrame) => boolean, timeoutMs = 20_000) {
    this.send = send;
    this.timeoutMs = timeoutMs;
  }

  /** Sends a frame; resolves with its answer (a `history.error` too), rejects with HistoryUnanswered. */
  request(frame: Unsent<HistoryClientFrame>): Promise<HistoryReply> {
    this.nextRef += 1;
    const ref = `h${this.nextRef}`;
    return new Promise((resolve, reject) => {
      if (!this.send({ ...frame, ref } as HistoryClientFrame)) {
        reject(new HistoryUnanswered('not connected'));
        return;
      }
      const timer = setTimeout(() => {
        this.waiting.delete(ref);
        reject(new HistoryUnanswered(`no answer to ${frame.type}`));
      }, this.timeoutMs);
      this.waiting.set(ref, { resolve, reject, timer });
    });
  }

  /** Takes the answer to one of our requests; returns false for any other frame. */
  receive(frame: ServerFrame): boolean {
    if (
      frame.type !== 'history.changes' &&
      frame.type !== 'history.conversation' &&
      frame.type !== 'history.saved' &&
      frame.type !== 'history.error'
    )
      return false;
    const waiting = frame.ref === undefined ? undefined : this.waiting.get(frame.ref);
    if (!waiting || frame.ref === undefined) return false;
    this.waiting.delete(frame.ref);
    clearTimeout(waiting.timer);
    waiting.resolve(frame);
    return true;
  }

  /** The socket is gone: no request in flight will be answered. */
  disconnected(): void {
    for (const [ref, waiting] of this.waiting) {
      clearTimeout(waiting.timer);
      this.waiting.delete(ref);
      waiting.reject(new HistoryUnanswered('disconnected'));
    }
  }
}
