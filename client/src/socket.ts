// The few WebSocket operations the client needs, over any WebSocket class: the browser's or the `ws` package's.

export interface SocketHandlers {
  open(): void;
  message(data: string): void;
  /** Called once, whatever ended the socket (1006 when it failed without a close frame). */
  close(code: number, reason: string): void;
}

export interface SocketHandle {
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type OpenSocket = (url: string, handlers: SocketHandlers) => SocketHandle;

// Method syntax makes the event parameter bivariant, so that handlers typed with the DOM's events or with
// ws's (both richer than these) fit.
type Listener<Event> = { handle(event: Event): void }['handle'];

/** The part of a WebSocket used here: the browser's global `WebSocket` and `ws`'s `WebSocket` both have it. */
export interface WebSocketLike extends SocketHandle {
  onopen: Listener<unknown> | null;
  onmessage: Listener<{ data: unknown }> | null;
  onclose: Listener<{ code: number; reason: string }> | null;
  onerror: Listener<unknown> | null;
}

export type WebSocketClass = new (url: string) => WebSocketLike;

/**
 * An `OpenSocket` over a WebSocket class: `socketOpener(WebSocket)` in a page, `socketOpener(WebSocket)` with
 * `import { WebSocket } from 'ws'` in Node. A class that needs options (an Origin header) is wrapped first.
 */
export function socketOpener(WebSocketClass: WebSocketClass): OpenSocket {
  return (url, handlers) => {
    let socket: WebSocketLike;
    try {
      socket = new WebSocketClass(url);
    } catch {
      // A malformed URL throws synchronously; report it as a failed connection, asynchronously like one.
      queueMicrotask(() => handlers.close(1006, 'invalid server URL'));
      return { send() {}, close() {} };
    }
    socket.onopen = () => handlers.open();
    socket.onmessage = (event) => {
      // Text frames only: the contract has no binary frames for clients.
      if (typeof event.data === 'string') handlers.message(event.data);
    };
    socket.onclose = (event) => handlers.close(event.code, event.reason);
    // A failed socket also closes; an `error` event nobody listens to would throw in ws.
    socket.onerror = () => {};
    // Both classes throw on a send before `open`, which never happens: the connection sends once welcomed.
    return socket;
  };
}
