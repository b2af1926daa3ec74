// Wires a role (gateway, worker, or both) from a config: connections, log, queue, providers. Used by main and tests.
// Over 250 lines on purpose: the one place where every part meets, read top to bottom in start order; the parts a
// database adds are in accounts/database-parts.ts.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import { Queue } from 'bullmq';
import type { AccountStore } from './accounts/account-store.ts';
import { createAccountsUnavailableRoute } from './accounts/client-request.ts';
import type { GatewayParts } from './accounts/database-parts.ts';
import type { Config } from './config.ts';
import type { Database } from './db/database.ts';
import { type AttachmentLimits, checkFiles } from './files/attachment-policy.ts';
import { createFileStore } from './files/file-store.ts';
import { createMessagePreparer } from './files/prepare-messages.ts';
import { createUploadRoute } from './files/upload-route.ts';
import { createAuthenticator } from './gateway/auth.ts';
import { type Gateway, startGateway } from './gateway/gateway.ts';
import { createLoginThrottle } from './gateway/login-throttle.ts';
import { createOriginCheck } from './gateway/origin.ts';
import { createKeys, QUEUE_NAME } from './generations/keys.ts';
import { createGenerationLog } from './generations/log.ts';
import { startSweeper } from './generations/sweeper.ts';
import { type HealthServer, startHealthServer } from './http/health-server.ts';
import { createMetricsAccess } from './http/metrics-access.ts';
import type { Logger } from './logger.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { createProviders } from './providers/registry.ts';
import { createRedis, redisReady, resolvePubSubMode } from './redis/connect.ts';
import { createEventSubscriber, type EventSubscriber } from './redis/event-subscriber.ts';
import { createWebSearchFrom } from './search/web-search.ts';
import { type ChatWorker, startChatWorker } from './worker/worker.ts';

export type Role = 'gateway' | 'worker' | 'all';

export interface AppOptions {
  role: Role;
  config: Config;
  logger: Logger;
  /** Replaces fetch for model calls (tests point it nowhere special: they use a real HTTP server). */
  fetch?: typeof globalThis.fetch;
  demoDelayMs?: number;
  /** How deltas are gathered before they are appended (see generations/coalescer.ts); default: no linger, 2 KB. */
  coalesce?: { maxDelayMs: number; maxChars: number };
  sweepIntervalMs?: number;
  /**
   * Users, device tokens, quotas and usage (db/database.ts), opened and closed by the caller. Without it, users are
   * AUTH_TOKENS' alone and no usage is recorded.
   */
  database?: Database;
}

export interface App {
  gateway: Gateway | undefined;
  worker: ChatWorker | undefined;
  /** The worker's own HTTP server (/healthz, /readyz, /metrics), when WORKER_PORT is set. */
  workerHttp: HealthServer | undefined;
  metrics: Metrics;
  /** The accounts of `options.database`, if one was given. */
  accounts: AccountStore | undefined;
  close(): Promise<void>;
}

export const SERVER_NAME = 'chrome-plus/0.1.0';

export async function startApp(options: AppOptions): Promise<App> {
  const { config, logger, role } = options;
  const metrics = createMetrics({ role });
  let closing = false;
  const keys = createKeys(config.keyPrefix, config.deadlineBuckets);
  const connections = [createRedis(config.redis, `cp-${role}`)];
  const redis = connections[0]!;
  for (const connection of connections)
    connection.on('error', (error) => logger.warn({ err: error.message }, 'redis error'));
  // Sharded Pub/Sub (SPUBLISH) where Redis has it; the log and the follower must agree.
  const pubsub = await resolvePubSubMode(redis, config.redisPubSub, config.redis.mode);
  const log = metrics.instrumentLog(
    createGenerationLog({
      redis,
      keys,
      retentionMs: config.retentionMs,
      recordMs: config.recordMs,
      pubsub,
      maxLifetimeMs: config.timeouts.queueWaitMs + config.timeouts.totalMs + config.retentionMs + 3_600_000,
    }),
  );
  const providers = createProviders(config.providers, {
    timeouts: {
      connectMs: config.timeouts.connectMs,
      idleMs: config.timeouts.idleMs,
      totalMs: config.timeouts.totalMs,
    },
    ...(options.fetch && { fetch: options.fetch }),
    ...(options.demoDelayMs !== undefined && { demoDelayMs: options.demoDelayMs }),
  });
  const queue = new Queue(QUEUE_NAME, {
    connection: redis,
    prefix: keys.queuePrefix,
    // A failed job's data is a whole conversation: not kept. Its request's log holds the error, the logs the cause.
    defaultJobOptions: { removeOnComplete: true, removeOnFail: true, attempts: 1 },
  });
  queue.on('error', (error) => logger.warn({ err: error.message }, 'queue error'));
  metrics.watchQueue(queue);
  const files = createFileStore({
    redis,
    keys,
    retentionMs: config.files.retentionMs,
    maxUserBytes: config.files.maxUserBytes,
    maxUserFiles: config.files.maxUserFiles,
    maxUserUploads: config.files.maxUserUploads,
  });
  const attachmentLimits: AttachmentLimits = {
    refs: config.limits.attachmentRefs,
    files: config.limits.attachmentFiles,
    imageBytes: config.limits.imageBytesPerRequest,
  };
  const metricsAccess = createMetricsAccess(config);
  async function serveMetrics(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (metricsAccess(request, response)) await metrics.serve(response);
  }
  // Accounts, usage and history: only with a database, and only then is their code (and Kysely) loaded.
  const withDatabase =
    options.database === undefined
      ? undefined
      : (await import('./accounts/database-parts.ts')).createDatabaseParts({
          database: options.database,
          config,
          keys,
          redis,
          logger,
          metrics,
        });
  const stopSweeper = startSweeper({ log, queue, logger, intervalMs: options.sweepIntervalMs ?? 2_000 });

  let worker: ChatWorker | undefined;
  if (role === 'worker' || role === 'all') {
    const connection = createRedis(config.redis, 'cp-worker-bullmq');
    const subscriber = createRedis(config.redis, 'cp-worker-cancel');
    connections.push(connection, subscriber);
    worker = await startChatWorker({
      connection,
      subscriber,
      keys,
      log,
      providers,
      logger,
      concurrency: config.workerConcurrency,
      lockDurationMs: config.lockDurationMs,
      maxInterruptions: 2,
      timeouts: config.timeouts,
      retries: config.retries,
      coalesce: options.coalesce ?? { maxDelayMs: 0, maxChars: 2048 },
      hooks: metrics.workerHooks,
      search: createWebSearchFrom(config.search),
      ...withDatabase?.workerHooks(),
      prepareMessages: createMessagePreparer({
        store: files,
        limits: {
          timeoutMs: config.files.extractTimeoutMs,
          maxMemoryMb: config.files.extractMemoryMb,
          concurrency: config.files.extractConcurrency,
        },
        maxCharsPerFile: config.files.maxCharsPerFile,
        maxCharsPerRequest: config.limits.attachmentCharsPerRequest,
        attachments: attachmentLimits,
      }),
    });
    metrics.watchWorker(worker);
  }

  let workerHttp: HealthServer | undefined;
  if (worker !== undefined && config.workerPort !== 0) {
    const bullmqConnection = connections[1]!;
    workerHttp = await startHealthServer({
      host: config.host,
      port: config.workerPort,
      logger,
      readiness: async () => ({
        redis: await redisReady(bullmqConnection),
        accepting: !closing,
      }),
      metrics: (response, request) => serveMetrics(request, response),
    });
  }

  let gateway: Gateway | undefined;
  let eventSubscriber: EventSubscriber | undefined;
  let accountParts: GatewayParts | undefined;
  if (role === 'gateway' || role === 'all') {
    // One count of failed sign-ins per address, for sockets, uploads and the admin API alike.
    const loginThrottle = createLoginThrottle({ maxFailures: config.limits.loginFailures });
    const isOriginAllowed = createOriginCheck(config.allowedOrigins);
    // The admin API, and the extension's sign-in, own-usage and export routes: only with a database.
    accountParts = await withDatabase?.startGatewayParts({ loginThrottle, isOriginAllowed, connections });
    const accountRoutes = accountParts?.routes ?? [
      createAccountsUnavailableRoute({ isOriginAllowed, loginThrottle, trustProxy: config.trustProxy }),
    ];
    const directory = accountParts?.directory;
    const authenticate = directory?.authenticate ?? createAuthenticator(config.tokens);
    const uploads = createUploadRoute({
      store: files,
      authenticate,
      isOriginAllowed,
      loginThrottle,
      trustProxy: config.trustProxy,
      maxUploadBytes: config.limits.maxUploadBytes,
      logger,
    });
    eventSubscriber = createEventSubscriber(config.redis, redis, pubsub, 'cp-gateway-events');
    const subscriber = eventSubscriber;
    gateway = await startGateway({
      config,
      serverName: `${SERVER_NAME} (${hostname()}:${process.pid})`,
      redis,
      subscriber,
      queue,
      keys,
      log,
      providers,
      logger,
      attachmentLimits,
      loginThrottle,
      ...(accountParts !== undefined && { authenticate, revocation: accountParts.revocation }),
      routes: async (request, response) => {
        if (await uploads(request, response)) return true;
        for (const route of accountRoutes) if (await route(request, response)) return true;
        if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') return false;
        await serveMetrics(request, response);
        return true;
      },
      sessionExtras: {
        hooks: metrics.sessionHooks,
        checkFiles: async (user, fileIds) => {
          const checked = await checkFiles(files, user, fileIds, attachmentLimits);
          return 'code' in checked ? checked : undefined;
        },
        ...(accountParts !== undefined && {
          checkQuota: accountParts.checkQuota,
          history: accountParts.history,
        }),
      },
      onSocketCount: (count) => metrics.socketCount(count),
      onDelivered: (appendedAt) => metrics.delivered(appendedAt),
    });
  }

  return {
    gateway,
    worker,
    workerHttp,
    metrics,
    accounts: withDatabase?.accounts,
    async close() {
      closing = true;
      stopSweeper();
      await gateway?.close();
      await accountParts?.close();
      await worker?.close(config.shutdownGraceMs);
      // Kept up while the worker drains, so that probes see "not ready" rather than a refused connection.
      await workerHttp?.close();
      await queue.close();
      await eventSubscriber?.close();
      await Promise.all(
        connections.map((connection) => connection.quit().catch(() => connection.disconnect())),
      );
    },
  };
}
