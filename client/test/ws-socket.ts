// Client sockets over the `ws` package, so that client code runs unchanged under node:test.
import { WebSocket } from 'ws';
import { type OpenSocket, socketOpener } from '../src/socket.ts';

export const openWsSocket: OpenSocket = socketOpener(WebSocket);
