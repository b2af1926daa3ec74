// What a session says to its socket: a frame, or the refusal of one (an `error`, or a `chat.error` without seq).
import type { ErrorCode, ServerFrame } from '@chrome-plus/protocol';
import type { WebSocket } from 'ws';

export interface SessionIO {
  send(frame: ServerFrame): void;
  /** Sends an already serialised frame (the log's events are stored as JSON). */
  sendRaw(frame: string): void;
  refuse(code: ErrorCode, message: string, id?: string, retryAfterMs?: number): void;
}

export function createSessionIO(socket: WebSocket, frameRefused?: (code: ErrorCode) => void): SessionIO {
  function sendRaw(frame: string): void {
    if (socket.readyState === socket.OPEN) socket.send(frame);
  }
  function send(frame: ServerFrame): void {
    sendRaw(JSON.stringify(frame));
  }
  return {
    send,
    sendRaw,
    refuse(code, message, id, retryAfterMs) {
      frameRefused?.(code);
      const retry = retryAfterMs === undefined ? {} : { retryAfterMs };
      if (id === undefined) send({ type: 'error', code, message, ...retry });
      else {
        const retryable = code === 'rate_limited' || code === 'overloaded';
        send({ type: 'chat.error', id, code, message, retryable, ...retry });
      }
    },
  };
}
