// The few WebSocket operations the client needs, so that browser and test sockets plug in alike.

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

/** Opens a socket with the page's own `WebSocket` (side panel, options page). */
export const openBrowserSocket: OpenSocket = (url, handlers) => {
  let socket: WebSocket;
  try {
    socket = new WebSocket(url);
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
  return {
    send: (data) => socket.send(data),
    close: (code, reason) => socket.close(code, reason),
  };
};
