// One benchmark client connection, over the wire contract's WebSocket or over Socket.IO (baseline c).
// Not @chrome-plus/client, on purpose: the load generator stamps a frame before any work, counts the gaps and lost
// tokens the shared client would heal by resuming, and keeps idle sockets free of its ping and stale timers.
import { randomUUID } from 'node:crypto';
import { io } from 'socket.io-client';
import { WebSocket } from 'ws';
import { nowMicros } from '../clock.ts';
import type { Protocol } from './spec.ts';

/** The fields of a server frame the load generator reads. */
export interface Frame {
  type: string;
  id?: string;
  seq?: number;
  text?: string;
  code?: string;
}

export interface Client {
  /** Sends chat.send for a new request; returns its id. */
  chat(content: string): string;
  /** Tells the server the request ended (Socket.IO leaves the room; nothing on ws). */
  ended(id: string): void;
  ping(): Promise<boolean>;
  readonly open: boolean;
  close(): void;
}

export interface ClientOptions {
  protocol: Protocol;
  url: string;
  token: string | undefined;
  /** Each frame, with the time it arrived (µs, the shared clock). */
  onFrame(frame: Frame, receivedAt: number): void;
  onClose(): void;
}

function message(content: string) {
  return [{ role: 'user' as const, content }];
}

/** Connects, says hello and resolves once welcomed (rejects after `timeoutMs`). */
export function connect(options: ClientOptions, timeoutMs = 15_000): Promise<Client> {
  return options.protocol === 'ws' ? connectWs(options, timeoutMs) : connectSocketIo(options, timeoutMs);
}

function connectWs(options: ClientOptions, timeoutMs: number): Promise<Client> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(options.url, { perMessageDeflate: false });
    let welcomed = false;
    let pong: ((answered: boolean) => void) | undefined;
    const timer = setTimeout(() => {
      socket.terminate();
      reject(new Error('no welcome in time'));
    }, timeoutMs);
    const client: Client = {
      chat(content) {
        const id = randomUUID();
        socket.send(JSON.stringify({ type: 'chat.send', id, messages: message(content) }));
        return id;
      },
      ended() {},
      ping() {
        return new Promise((answer) => {
          if (socket.readyState !== socket.OPEN) return answer(false);
          pong = answer;
          socket.send('{"type":"ping","t":1}');
          setTimeout(() => answer(false), 5_000).unref();
        });
      },
      get open() {
        return socket.readyState === socket.OPEN;
      },
      close() {
        socket.terminate();
      },
    };
    socket.on('open', () => {
      socket.send(
        JSON.stringify(options.token ? { type: 'hello', token: options.token } : { type: 'hello' }),
      );
    });
    socket.on('message', (data) => {
      const receivedAt = nowMicros();
      const frame = JSON.parse(String(data)) as Frame;
      if (!welcomed) {
        if (frame.type !== 'welcome') {
          clearTimeout(timer);
          socket.terminate();
          reject(new Error(`hello refused: ${frame.code ?? frame.type}`));
          return;
        }
        welcomed = true;
        clearTimeout(timer);
        resolve(client);
        return;
      }
      if (frame.type === 'pong') {
        pong?.(true);
        pong = undefined;
        return;
      }
      options.onFrame(frame, receivedAt);
    });
    socket.on('error', (error) => {
      if (!welcomed) {
        clearTimeout(timer);
        reject(error);
      }
    });
    socket.on('close', () => {
      if (welcomed) options.onClose();
    });
  });
}

function connectSocketIo(options: ClientOptions, timeoutMs: number): Promise<Client> {
  return new Promise((resolve, reject) => {
    const socket = io(options.url, {
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
      timeout: timeoutMs,
    });
    let connected = false;
    const client: Client = {
      chat(content) {
        const id = randomUUID();
        socket.emit('chat.send', { id, messages: message(content) });
        return id;
      },
      ended(id) {
        socket.emit('chat.end', id);
      },
      ping() {
        return new Promise((answer) => {
          if (!socket.connected) return answer(false);
          socket.timeout(5_000).emit('probe', (error: Error | null) => answer(error === null));
        });
      },
      get open() {
        return socket.connected;
      },
      close() {
        socket.disconnect();
      },
    };
    socket.on('connect', () => {
      connected = true;
      resolve(client);
    });
    socket.on('connect_error', (error) => {
      if (!connected) reject(error);
    });
    socket.on('frame', (frame: Frame) => options.onFrame(frame, nowMicros()));
    socket.on('disconnect', () => {
      if (connected) options.onClose();
    });
  });
}
