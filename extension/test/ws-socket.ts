// An OpenSocket backed by the `ws` package, so that client code runs unchanged under node:test.
import WebSocket from 'ws';
import type { OpenSocket } from '../src/client/socket.ts';

export const openWsSocket: OpenSocket = (url, handlers) => {
  const socket = new WebSocket(url);
  let closed = false;
  const closeOnce = (code: number, reason: string) => {
    if (closed) return;
    closed = true;
    handlers.close(code, reason);
  };
  socket.on('open', () => handlers.open());
  socket.on('message', (data, isBinary) => {
    if (!isBinary) handlers.message(data.toString());
  });
  socket.on('close', (code, reason) => closeOnce(code, reason.toString()));
  // A refused connection emits `error` then `close`; `error` alone must not throw.
  socket.on('error', () => {});
  return {
    send: (data) => {
      if (socket.readyState === WebSocket.OPEN) socket.send(data);
    },
    close: (code, reason) => {
      if (socket.readyState === WebSocket.CONNECTING) socket.terminate();
      else socket.close(code, reason);
    },
  };
};
