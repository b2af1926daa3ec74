// The admin HTTP API under /v1/admin/: users (added, disabled, deleted), device tokens, quotas and usage, for the
// bearer of ADMIN_TOKEN or of an admin user's device token. JSON in, JSON out; a refusal is
// `{ "error": code, "message": reason }`.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { bearerToken } from '../gateway/auth.ts';
import type { LoginThrottle } from '../gateway/login-throttle.ts';
import type { Logger } from '../logger.ts';
import type { AccountDirectory } from './account-directory.ts';
import { AccountError, type AccountStore } from './account-store.ts';
import { HttpError, parseBody, readJson, sendJson, throttledAddress } from './http-json.ts';
import { hashPassword, passwordProblem } from './password.ts';

export const ADMIN_PATH = '/v1/admin/';
const DAY_MS = 86_400_000;

const addUserSchema = z.object({
  name: z.string(),
  admin: z.boolean().optional(),
  password: z.string().optional(),
});
const createTokenSchema = z.object({ device: z.string() });
const quotaSchema = z.object({ tokensPerDay: z.number().int().positive().max(1e15).nullable() });
const passwordSchema = z.object({ password: z.string().nullable() });

const statusOf = { bad_request: 400, not_found: 404, conflict: 409 } as const;

const send = (response: ServerResponse, status: number, body: unknown) => sendJson(response, status, body);
const parse = parseBody;

/** The hash of a password given to the API, refused with the reason when it is too short or too long. */
async function passwordHashOf(password: string): Promise<string> {
  const problem = passwordProblem(password);
  if (problem !== undefined) throw new HttpError(400, 'bad_request', problem);
  return hashPassword(password);
}

export interface AdminRoutesOptions {
  store: AccountStore;
  directory: AccountDirectory;
  loginThrottle: LoginThrottle;
  trustProxy: boolean;
  logger: Logger;
  now?: () => number;
}

/** Returns the route handler: true when it handled the request. */
export function createAdminRoutes(options: AdminRoutesOptions) {
  const { store, directory, logger } = options;
  const now = options.now ?? Date.now;

  function changeable(name: string): void {
    if (directory.staticUsers.has(name))
      throw new HttpError(409, 'conflict', `user "${name}" is defined by AUTH_TOKENS: change it there`);
  }

  async function route(
    method: string,
    parts: string[],
    url: URL,
    request: IncomingMessage,
  ): Promise<[number, unknown]> {
    const [collection, name, action, device] = parts;
    if (collection === 'usage' && parts.length === 1 && method === 'GET') {
      const days = Number(url.searchParams.get('days') ?? '7');
      if (!Number.isInteger(days) || days < 1 || days > 3660)
        throw new HttpError(400, 'bad_request', 'days must be a whole number from 1 to 3660');
      const user = url.searchParams.get('user') ?? undefined;
      const todayStart = now() - (now() % DAY_MS);
      const rows = await store.usage({
        since: new Date(todayStart - (days - 1) * DAY_MS),
        ...(user !== undefined && { user }),
      });
      return [200, { days, usage: rows }];
    }
    if (collection !== 'users') throw new HttpError(404, 'not_found', 'no such admin resource');
    if (name === undefined) {
      if (method === 'GET') {
        const users = (await store.listUsers()).map((user) => ({ ...user, source: 'database' }));
        const fromEnvironment = [...directory.staticUsers].map((user) => ({
          name: user,
          role: 'user',
          source: 'AUTH_TOKENS',
        }));
        return [200, { users: [...users, ...fromEnvironment] }];
      }
      if (method === 'POST') {
        const body = parse(addUserSchema, await readJson(request));
        changeable(body.name);
        const passwordHash = body.password === undefined ? undefined : await passwordHashOf(body.password);
        await store.addUser(body.name, body.admin === true ? 'admin' : 'user', passwordHash);
        logger.info(
          { user: body.name, admin: body.admin === true, password: passwordHash !== undefined },
          'user added',
        );
        return [201, { name: body.name, role: body.admin === true ? 'admin' : 'user' }];
      }
    } else if (parts.length === 2 && method === 'DELETE') {
      changeable(name);
      const removed = await store.deleteUser(name);
      // The reload finds none of their tokens live: every gateway closes their sockets (socket-revocation.ts).
      await directory.changed();
      logger.info({ user: name, ...removed }, 'user deleted');
      return [200, { name, deleted: true, ...removed }];
    } else if ((action === 'disable' || action === 'enable') && parts.length === 3 && method === 'POST') {
      changeable(name);
      await store.setDisabled(name, action === 'disable');
      await directory.changed();
      logger.info({ user: name }, `user ${action}d`);
      return [200, { name, disabled: action === 'disable' }];
    } else if (action === 'password' && parts.length === 3 && method === 'PUT') {
      changeable(name);
      const body = parse(passwordSchema, await readJson(request));
      await store.setPassword(name, body.password === null ? null : await passwordHashOf(body.password));
      logger.info({ user: name }, body.password === null ? 'password removed' : 'password set');
      return [200, { name, password: body.password !== null }];
    } else if (action === 'quota' && parts.length === 3 && method === 'PUT') {
      changeable(name);
      const body = parse(quotaSchema, await readJson(request));
      await store.setQuota(name, body.tokensPerDay);
      await directory.changed();
      return [200, { name, tokensPerDay: body.tokensPerDay }];
    } else if (action === 'tokens' && parts.length === 3) {
      changeable(name);
      if (method === 'GET') return [200, { tokens: await store.listTokens(name) }];
      if (method === 'POST') {
        const body = parse(createTokenSchema, await readJson(request));
        const token = await store.createToken(name, body.device);
        await directory.changed();
        logger.info({ user: name, device: body.device }, 'device token created');
        return [201, { name, device: body.device, token }];
      }
    } else if (action === 'tokens' && device !== undefined && parts.length === 4 && method === 'DELETE') {
      changeable(name);
      await store.revokeToken(name, device);
      await directory.changed();
      logger.info({ user: name, device }, 'device token revoked');
      return [200, { name, device, revoked: true }];
    } else {
      throw new HttpError(404, 'not_found', 'no such admin resource');
    }
    throw new HttpError(405, 'bad_request', `${method} is not allowed here`);
  }

  return async (request: IncomingMessage, response: ServerResponse): Promise<boolean> => {
    const url = new URL(request.url ?? '/', 'http://gateway');
    if (!url.pathname.startsWith(ADMIN_PATH)) return false;
    // No CORS: a web page must not drive the admin API from an administrator's browser.
    const address = throttledAddress(request, response, options);
    if (address === undefined) return true;
    const administrator = await directory.administrator(bearerToken(request.headers.authorization));
    if (administrator === undefined) {
      options.loginThrottle.failed(address);
      send(response, 401, {
        error: 'unauthorized',
        message: 'the admin API needs Authorization: Bearer <ADMIN_TOKEN or an admin user’s token>',
      });
      return true;
    }
    try {
      const parts = url.pathname
        .slice(ADMIN_PATH.length)
        .split('/')
        .filter((part) => part !== '')
        .map((part) => decodeURIComponent(part));
      const [status, body] = await route(request.method ?? 'GET', parts, url, request);
      send(response, status, body);
    } catch (error) {
      if (error instanceof HttpError)
        send(response, error.status, { error: error.code, message: error.message });
      else if (error instanceof AccountError)
        send(response, statusOf[error.code], { error: error.code, message: error.message });
      else if (error instanceof URIError)
        send(response, 400, { error: 'bad_request', message: 'a malformed path' });
      else {
        logger.error({ err: error }, 'admin request failed');
        send(response, 500, { error: 'internal', message: 'the request failed; see the gateway log' });
      }
    }
    return true;
  };
}
