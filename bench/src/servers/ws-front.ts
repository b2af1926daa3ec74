// The WebSocket front the ws baselines share: wire contract v1's hello, ping and chat.send, nothing more.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ChatSendFrame, PROTOCOL_PATH, parseClientFrame } from '@chrome-plus/protocol';
import { type WebSocket, WebSocketServer } from 'ws';

export interface FrontOptions {
  serverName: string;
  /** Starts a chat request; `send` writes one frame to the socket that asked (a no-op once it closed). */
  chatSend(frame: ChatSendFrame, send: (frame: string) => void, socket: WebSocket): void;
  onClose?(socket: WebSocket): void;
}

export async function startFront(options: FrontOptions): Promise<number> {
  const server = createServer((_request, response) => {
    response.writeHead(404).end();
  });
  const wss = new WebSocketServer({
    server,
    path: PROTOCOL_PATH,
    perMessageDeflate: false,
    maxPayload: 1_048_576,
  });
  wss.on('connection', (socket) => {
    let hello = false;
    const send = (frame: string) => {
      if (socket.readyState === socket.OPEN) socket.send(frame);
    };
    socket.on('message', (data) => {
      const parsed = parseClientFrame(String(data));
      if (!parsed.ok)
        return send(JSON.stringify({ type: 'error', code: parsed.code, message: parsed.message }));
      const frame = parsed.frame;
      if (!hello) {
        if (frame.type !== 'hello') return socket.close(4401, 'hello first');
        hello = true;
        return send(
          JSON.stringify({
            type: 'welcome',
            user: 'bench',
            server: options.serverName,
            heartbeatMs: 25_000,
            limits: { maxFrameBytes: 1_048_576 },
          }),
        );
      }
      if (frame.type === 'ping') return send(JSON.stringify({ type: 'pong', t: frame.t }));
      if (frame.type === 'chat.send') return options.chatSend(frame, send, socket);
      send(
        JSON.stringify({ type: 'error', code: 'bad_request', message: `${frame.type} is not offered here` }),
      );
    });
    socket.on('error', () => {});
    socket.on('close', () => options.onClose?.(socket));
  });
  await new Promise<void>((resolve) => server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', resolve));
  process.on('SIGTERM', () => {
    for (const socket of wss.clients) socket.terminate();
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 2_000).unref();
  });
  return (server.address() as AddressInfo).port;
}
