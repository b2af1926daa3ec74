// The gateway role: an HTTP server for health and uploads, the WebSocket endpoint, heartbeats and graceful shutdown.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { CloseCode, PROTOCOL_PATH } from '@chrome-plus/protocol';
import type { Queue } from 'bullmq';
import { type WebSocket, WebSocketServer } from 'ws';
import type { Config } from '../config.ts';
import type { AttachmentLimits } from '../files/attachment-policy.ts';
import type { Keys } from '../generations/keys.ts';
import type { GenerationLog } from '../generations/log.ts';
import { listen } from '../http/listen.ts';
import type { Logger } from '../logger.ts';
import type { Providers } from '../providers/registry.ts';
import { redisReady as isRedisReady, type RedisClient } from '../redis/connect.ts';
import type { EventSubscriber } from '../redis/event-subscriber.ts';
import { createAuthenticator } from './auth.ts';
import { createFollower, type Follower } from './follower.ts';
import { createAdmission, createUserSockets } from './limits.ts';
import { clientAddress, type LoginThrottle } from './login-throttle.ts';
import { createOriginCheck } from './origin.ts';
import { type SessionContext, startSession } from './session.ts';

export interface GatewayOptions {
  /** What the gateway reads of the configuration. */
  config: Pick<
    Config,
    | 'host'
    | 'port'
    | 'tokens'
    | 'allowedOrigins'
    | 'defaultModel'
    | 'heartbeatMs'
    | 'helloTimeoutMs'
    | 'slowReaderCloseMs'
    | 'limits'
    | 'timeouts'
    | 'trustProxy'
    | 'search'
  >;
  serverName: string;
  redis: RedisClient;
  /** The generation-event channels' subscriptions (redis/event-subscriber.ts). */
  subscriber: EventSubscriber;
  queue: Queue;
  keys: Keys;
  log: GenerationLog;
  providers: Providers;
  logger: Logger;
  attachmentLimits: AttachmentLimits;
  /** Failed sign-ins per address (shared with the upload route). */
  loginThrottle: LoginThrottle;
  highWaterBytes?: number;
  /** Extra HTTP routes (uploads, metrics); return true when handled. */
  routes?: (request: IncomingMessage, response: ServerResponse) => boolean | Promise<boolean>;
  sessionExtras?: Pick<SessionContext, 'checkFiles' | 'checkQuota' | 'hooks' | 'history'>;
  /** Who a token belongs to (default: AUTH_TOKENS alone). */
  authenticate?: SessionContext['authenticate'];
  /** Closes the sockets of revoked device tokens (accounts/socket-revocation.ts); none without accounts. */
  revocation?: (sockets: ReadonlySet<WebSocket>) => Pick<SessionContext, 'signedIn'>;
  onSocketCount?: (count: number) => void;
  /** A live event went to a socket; `appendedAt` is its append time (epoch ms), for the delivery-latency metric. */
  onDelivered?: (appendedAt: number) => void;
}

export interface Gateway {
  readonly server: Server;
  readonly port: number;
  readonly sockets: number;
  readonly follower: Follower;
  /** Stops accepting, closes every socket with 1012 (clients resume elsewhere), and stops. */
  close(): Promise<void>;
}

/** Errors of a raw upgrade socket surface on the WebSocket (or not at all, if the handshake is refused). */
function ignoreSocketError(): void {}

function abortHandshake(socket: Duplex, status: number, message: string): void {
  socket.end(
    `HTTP/1.1 ${status} ${message}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(message)}\r\n\r\n${message}`,
  );
}

/** Sockets that answered the last ping (or are new): one set for all, not a timer and a closure per socket. */
const alive = new WeakSet<WebSocket>();

function markAlive(this: WebSocket): void {
  alive.add(this);
}

/**
 * Every `intervalMs`, one pass over the sockets: one that did not answer the previous ping is dead and dropped,
 * the others are pinged again.
 */
function startKeepAlive(sockets: Set<WebSocket>, intervalMs: number): () => void {
  const timer = setInterval(() => {
    for (const socket of sockets) {
      if (!alive.has(socket)) {
        socket.terminate();
        continue;
      }
      alive.delete(socket);
      socket.ping();
    }
  }, intervalMs);
  return () => clearInterval(timer);
}

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const { logger, config } = options;
  const isOriginAllowed = createOriginCheck(config.allowedOrigins);
  const follower = createFollower({
    subscriber: options.subscriber,
    log: options.log,
    keys: options.keys,
    logger,
    stuckMs: config.slowReaderCloseMs,
    ...(options.onDelivered !== undefined && { delivered: options.onDelivered }),
  });
  const context: SessionContext = {
    serverName: options.serverName,
    authenticate: options.authenticate ?? createAuthenticator(config.tokens),
    log: options.log,
    queue: options.queue,
    follower,
    admission: createAdmission({
      redis: options.redis,
      keys: options.keys,
      requestsPerMinute: config.limits.requestsPerMinute,
      concurrentGenerations: config.limits.concurrentGenerations,
    }),
    providers: options.providers,
    defaultModel: config.defaultModel,
    logger,
    heartbeatMs: config.heartbeatMs,
    helloTimeoutMs: config.helloTimeoutMs,
    limits: config.limits,
    attachmentLimits: options.attachmentLimits,
    loginThrottle: options.loginThrottle,
    userSockets: createUserSockets(config.limits.socketsPerUser),
    timeouts: config.timeouts,
    webSearch: config.search.searxngUrl !== undefined,
    highWaterBytes: options.highWaterBytes ?? 1_048_576,
    ...options.sessionExtras,
  };
  let closing = false;

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: config.limits.maxFrameBytes,
    perMessageDeflate: false,
  });
  const stopKeepAlive = startKeepAlive(wss.clients, config.heartbeatMs);
  if (options.revocation !== undefined) Object.assign(context, options.revocation(wss.clients));
  wss.on('connection', (socket, address: string) => {
    options.onSocketCount?.(wss.clients.size);
    alive.add(socket);
    socket.on('pong', markAlive);
    socket.on('close', () => options.onSocketCount?.(wss.clients.size));
    socket.on('error', (error) => logger.debug({ err: error }, 'socket error'));
    startSession(socket, context, address);
  });

  const server = createServer(async (request, response) => {
    try {
      const path = new URL(request.url ?? '/', 'http://gateway').pathname;
      if (request.method === 'GET' && path === '/healthz') {
        response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
        return;
      }
      if (request.method === 'GET' && path === '/readyz') {
        // A node answers PING; a cluster must also say cluster_state:ok.
        const redisReady = await isRedisReady(options.redis);
        const ready = redisReady && !closing;
        response.writeHead(ready ? 200 : 503, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            status: ready ? 'ready' : 'not ready',
            redis: redisReady,
            shuttingDown: closing,
          }),
        );
        return;
      }
      if (options.routes !== undefined && (await options.routes(request, response))) return;
      response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not_found"}');
    } catch (error) {
      logger.error({ err: error }, 'HTTP request failed');
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'application/json' });
      response.end('{"error":"internal"}');
    }
  });

  server.on('upgrade', (request, socket, head) => {
    // A module-level listener: a closure made here would keep `request` (headers and all) alive for the
    // socket's whole life, since V8 shares this scope with the handleUpgrade callback that captures it.
    socket.on('error', ignoreSocketError);
    const path = new URL(request.url ?? '/', 'http://gateway').pathname;
    if (path !== PROTOCOL_PATH) return abortHandshake(socket, 404, 'Not Found');
    if (closing) return abortHandshake(socket, 503, 'Service Unavailable');
    const origin = request.headers.origin;
    if (!isOriginAllowed(origin)) {
      logger.info({ origin }, 'refused an upgrade from a disallowed origin');
      return abortHandshake(socket, 403, 'Forbidden');
    }
    const address = clientAddress(
      request.socket.remoteAddress,
      request.headers['x-forwarded-for'],
      config.trustProxy,
    );
    wss.handleUpgrade(request, socket, head, (webSocket) => wss.emit('connection', webSocket, address));
  });

  const port = await listen(server, config.port, config.host);

  return {
    server,
    port,
    follower,
    get sockets() {
      return wss.clients.size;
    },
    async close() {
      closing = true;
      stopKeepAlive();
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of wss.clients)
        socket.close(CloseCode.serviceRestart, 'server restarting: reconnect and resume');
      // Give clients a moment to see the close frame, then cut whoever did not answer it.
      await new Promise((resolve) => setTimeout(resolve, 200));
      for (const socket of wss.clients) socket.terminate();
      server.closeAllConnections();
      await follower.close();
      wss.close();
      await stopped;
    },
  };
}
