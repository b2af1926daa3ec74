// GET /v1/me/usage: what the bearer of a token spent today (UTC) and their daily budget, for the extension's options
// page. Any token that may open a socket may read its own user's usage, and nobody else's.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MY_USAGE_PATH, type MyUsage } from '@chrome-plus/protocol';
import { bearerToken } from '../gateway/auth.ts';
import type { Logger } from '../logger.ts';
import type { AccountDirectory } from './account-directory.ts';
import type { AccountStore } from './account-store.ts';
import { admitClientRequest, type ClientRequestOptions } from './client-request.ts';
import { sendFailure, sendJson } from './http-json.ts';
import { startOfUtcDay } from './quota.ts';

const DAY_MS = 86_400_000;

export interface MyUsageRouteOptions extends ClientRequestOptions {
  store: Pick<AccountStore, 'usage'>;
  directory: Pick<AccountDirectory, 'authenticate' | 'quotaOf'>;
  logger: Logger;
  now?: () => number;
}

/** Returns the route handler: true when it handled the request. */
export function createMyUsageRoute(options: MyUsageRouteOptions) {
  const { store, directory, logger } = options;
  const now = options.now ?? Date.now;
  return async (request: IncomingMessage, response: ServerResponse): Promise<boolean> => {
    if (new URL(request.url ?? '/', 'http://gateway').pathname !== MY_USAGE_PATH) return false;
    const admitted = admitClientRequest(request, response, 'GET', options);
    if (admitted === undefined) return true;
    const { address, cors } = admitted;
    // A token minted through another gateway a moment ago is looked up in the database (after the throttle).
    const user = await directory.authenticate(bearerToken(request.headers.authorization));
    if (user === undefined) {
      options.loginThrottle.failed(address);
      sendJson(
        response,
        401,
        { error: 'unauthorized', message: 'a valid token is needed: Authorization: Bearer <token>' },
        cors,
      );
      return true;
    }
    try {
      const dayStart = startOfUtcDay(now());
      const rows = await store.usage({ since: new Date(dayStart), user });
      const sum = (pick: (row: (typeof rows)[number]) => number) =>
        rows.reduce((total, row) => total + pick(row), 0);
      const promptTokens = sum((row) => row.promptTokens);
      const completionTokens = sum((row) => row.completionTokens);
      const answer: MyUsage = {
        user,
        day: new Date(dayStart).toISOString().slice(0, 10),
        requests: sum((row) => row.requests),
        promptTokens,
        completionTokens,
        tokens: promptTokens + completionTokens,
        estimatedTokens: sum((row) => row.estimatedTokens),
        tokensPerDay: directory.quotaOf(user) ?? null,
        resetsAt: new Date(dayStart + DAY_MS).toISOString(),
      };
      sendJson(response, 200, answer, cors);
    } catch (error) {
      sendFailure(response, error, cors, (cause) => logger.error({ err: cause }, 'reading usage failed'));
    }
    return true;
  };
}
