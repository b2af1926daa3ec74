// A real WebSocket server that plays a gateway from a test's script: it records frames and answers as told.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { ClientFrame, ServerFrame } from '@chrome-plus/protocol';
import { type WebSocket, WebSocketServer } from 'ws';

export interface GatewaySocket {
  socket: WebSocket;
  received: ClientFrame[];
  send(frame: ServerFrame): void;
  close(code: number): void;
}

export interface ScriptedGatewayOptions {
  port?: number;
  /** Answer `hello` with `welcome` (default true); false plays a server that is not a gateway. */
  welcome?: boolean;
  /** Refuse every `hello` with `error unauthorized` and close 4401. */
  refuseToken?: boolean;
  /** Answer app-level pings (default true). */
  pong?: boolean;
  /** Called for every frame after `hello`. */
  onFrame?: (frame: ClientFrame, socket: GatewaySocket) => void;
}

export class ScriptedGateway {
  readonly sockets: GatewaySocket[] = [];
  readonly frames: ClientFrame[] = [];
  private server: WebSocketServer | undefined;
  port = 0;
  options: ScriptedGatewayOptions;

  constructor(options: ScriptedGatewayOptions = {}) {
    this.options = options;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/v1/ws`;
  }

  async start(port = this.options.port ?? 0): Promise<this> {
    const server = new WebSocketServer({ host: '127.0.0.1', port });
    await once(server, 'listening');
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    server.on('connection', (socket) => {
      const entry: GatewaySocket = {
        socket,
        received: [],
        send: (frame) => socket.send(JSON.stringify(frame)),
        close: (code) => socket.close(code),
      };
      this.sockets.push(entry);
      socket.on('message', (data) => {
        const frame = JSON.parse(data.toString()) as ClientFrame;
        entry.received.push(frame);
        this.frames.push(frame);
        if (frame.type === 'hello') {
          if (this.options.refuseToken) {
            entry.send({ type: 'error', code: 'unauthorized', message: 'token refused' });
            socket.close(4401);
          } else if (this.options.welcome ?? true) {
            entry.send({
              type: 'welcome',
              user: 'tester',
              server: 'scripted',
              heartbeatMs: 30_000,
              limits: { maxFrameBytes: 1_000_000 },
            });
          }
          return;
        }
        if (frame.type === 'ping' && (this.options.pong ?? true)) {
          entry.send({ type: 'pong', t: frame.t });
          return;
        }
        this.options.onFrame?.(frame, entry);
      });
    });
    return this;
  }

  /** Stops listening and drops every socket without a close frame (the client sees 1006). */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    for (const client of server.clients) client.terminate();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  framesOfType<T extends ClientFrame['type']>(type: T): Extract<ClientFrame, { type: T }>[] {
    return this.frames.filter((frame): frame is Extract<ClientFrame, { type: T }> => frame.type === type);
  }
}

/** Polls `condition` until it holds, or fails after `timeoutMs`. */
export async function waitUntil(
  condition: () => boolean,
  timeoutMs = 3_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
