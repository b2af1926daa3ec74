// GET /v1/admin/users/NAME/conversations: a user's conversations with their messages as JSON, for
// `npm run admin -- export NAME`. The admin API's rules: the bearer of ADMIN_TOKEN or of an admin user's device token,
// failed attempts counted by the sign-in throttle, no CORS.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AccountDirectory } from '../accounts/account-directory.ts';
import { sendJson, throttledAddress } from '../accounts/http-json.ts';
import { bearerToken } from '../gateway/auth.ts';
import type { LoginThrottle } from '../gateway/login-throttle.ts';
import type { Logger } from '../logger.ts';
import type { HistoryStore } from './history-store.ts';

const EXPORT_PATH = /^\/v1\/admin\/users\/([^/]+)\/conversations$/;

export function createExportRoute(options: {
  store: HistoryStore;
  directory: AccountDirectory;
  loginThrottle: LoginThrottle;
  trustProxy: boolean;
  logger: Logger;
  now?: () => number;
}) {
  const now = options.now ?? Date.now;
  return async (request: IncomingMessage, response: ServerResponse): Promise<boolean> => {
    const url = new URL(request.url ?? '/', 'http://gateway');
    const match = EXPORT_PATH.exec(url.pathname);
    if (match === null || request.method !== 'GET') return false;
    const address = throttledAddress(request, response, options);
    if (address === undefined) return true;
    const administrator = await options.directory.administrator(bearerToken(request.headers.authorization));
    if (administrator === undefined) {
      options.loginThrottle.failed(address);
      sendJson(response, 401, {
        error: 'unauthorized',
        message: 'the admin API needs Authorization: Bearer <ADMIN_TOKEN or an admin user’s token>',
      });
      return true;
    }
    let name: string;
    try {
      name = decodeURIComponent(match[1]!);
    } catch {
      sendJson(response, 400, { error: 'bad_request', message: 'a malformed path' });
      return true;
    }
    try {
      const conversations = await options.store.export(name);
      if (conversations === undefined) {
        const why = options.directory.staticUsers.has(name)
          ? `user "${name}" is defined by AUTH_TOKENS: their history is kept in their browser only`
          : `no user "${name}"`;
        sendJson(response, 404, { error: 'not_found', message: why });
        return true;
      }
      options.logger.info(
        { user: name, by: administrator, conversations: conversations.length },
        'history exported',
      );
      sendJson(response, 200, { user: name, exportedAt: new Date(now()).toISOString(), conversations });
    } catch (error) {
      options.logger.error({ err: error }, 'history export failed');
      sendJson(response, 500, { error: 'internal', message: 'the request failed; see the gateway log' });
    }
    return true;
  };
}
