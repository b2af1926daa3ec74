// What an accounts database adds to a role: the account and history stores, the worker's usage and answer recorders,
// and the gateway's directory of tokens, history feed, routes (admin API, sign-in, own usage, export) and quota
// check. app.ts imports this module only when it is given a database, so that a role without one (DATABASE_URL=none)
// never loads Kysely: the bundle keeps it in a chunk of its own, and a role starts in less CPU time.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { WebSocket } from 'ws';
import type { Config } from '../config.ts';
import type { Database } from '../db/database.ts';
import type { LoginThrottle } from '../gateway/login-throttle.ts';
import type { Keys } from '../generations/keys.ts';
import { createAnswerRecorder } from '../history/answer-recorder.ts';
import { createExportRoute } from '../history/export-route.ts';
import { createHistoryPublisher, type HistoryFeed, startHistoryFeed } from '../history/history-feed.ts';
import { createHistoryStore } from '../history/history-store.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import { createRedis, type RedisClient } from '../redis/connect.ts';
import { type AccountDirectory, startAccountDirectory } from './account-directory.ts';
import { type AccountStore, createAccountStore } from './account-store.ts';
import { createAdminRoutes } from './admin-routes.ts';
import { createMyUsageRoute } from './my-usage-route.ts';
import { createQuotaCheck } from './quota.ts';
import { createSignInRoute } from './sign-in-route.ts';
import { createSocketRevocation } from './socket-revocation.ts';
import { createUsageRecorder } from './usage-recorder.ts';

type Route = (request: IncomingMessage, response: ServerResponse) => Promise<boolean>;

export interface DatabaseParts {
  accounts: AccountStore;
  /** The worker's recorders: usage, and the answer into the history, in one transaction. */
  workerHooks(): {
    usage: ReturnType<typeof createUsageRecorder>;
    answers: ReturnType<typeof createAnswerRecorder>;
  };
  /** The gateway's part; its Redis subscribers are pushed onto `connections`, which the app closes. */
  startGatewayParts(options: {
    loginThrottle: LoginThrottle;
    isOriginAllowed: (origin: string | undefined) => boolean;
    connections: RedisClient[];
  }): Promise<GatewayParts>;
}

export interface GatewayParts {
  directory: AccountDirectory;
  historyFeed: HistoryFeed;
  routes: Route[];
  revocation: (sockets: ReadonlySet<WebSocket>) => ReturnType<typeof createSocketRevocation>;
  checkQuota: ReturnType<typeof createQuotaCheck>;
  history: {
    store: ReturnType<typeof createHistoryStore>;
    feed: HistoryFeed;
    publisher: ReturnType<typeof createHistoryPublisher>;
  };
  close(): Promise<void>;
}

export function createDatabaseParts(options: {
  database: Database;
  config: Config;
  keys: Keys;
  redis: RedisClient;
  logger: Logger;
  metrics: Metrics;
}): DatabaseParts {
  const { config, keys, redis, logger } = options;
  const accounts = createAccountStore(options.database.db);
  // Conversations of users with an account (history/), and the channel of their live changes.
  const history = createHistoryStore(options.database.db);
  const historyChannel = `${config.keyPrefix}:history`;
  const publisher = createHistoryPublisher(redis, historyChannel, logger);
  return {
    accounts,
    workerHooks: () => ({
      usage: createUsageRecorder({ store: accounts, logger, registry: options.metrics.registry }),
      answers: createAnswerRecorder({ store: history, publisher }),
    }),
    async startGatewayParts({ loginThrottle, isOriginAllowed, connections }) {
      const accountsSubscriber = createRedis(config.redis, 'cp-gateway-accounts');
      const historySubscriber = createRedis(config.redis, 'cp-gateway-history');
      connections.push(accountsSubscriber, historySubscriber);
      const directory = await startAccountDirectory({
        store: accounts,
        staticTokens: config.tokens,
        ...(config.adminToken !== undefined && { adminToken: config.adminToken }),
        subscriber: accountsSubscriber,
        publisher: redis,
        channel: keys.accounts,
        refreshMs: config.accountsRefreshMs,
        logger,
      });
      const historyFeed = await startHistoryFeed({
        subscriber: historySubscriber,
        channel: historyChannel,
        logger,
      });
      const routeOptions = {
        store: accounts,
        directory,
        loginThrottle,
        trustProxy: config.trustProxy,
        logger,
      };
      return {
        directory,
        historyFeed,
        routes: [
          createExportRoute({ ...routeOptions, store: history }),
          createAdminRoutes(routeOptions),
          createSignInRoute({ ...routeOptions, isOriginAllowed }),
          createMyUsageRoute({ ...routeOptions, isOriginAllowed }),
        ],
        revocation: (sockets) => createSocketRevocation(directory, sockets, logger),
        checkQuota: createQuotaCheck({ directory, store: accounts, logger }),
        history: { store: history, feed: historyFeed, publisher },
        async close() {
          await directory.close();
          await historyFeed.close();
        },
      };
    },
  };
}
