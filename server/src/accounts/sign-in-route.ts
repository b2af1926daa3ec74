// POST /v1/auth/sign-in: a user name and password (set with `npm run admin -- users add NAME --password-stdin`)
// mint a device token for the browser that asks, named as it says. Failures count toward the sign-in throttle.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SIGN_IN_PATH, type SignedIn, signInRequestSchema } from '@chrome-plus/protocol';
import type { Logger } from '../logger.ts';
import type { AccountDirectory } from './account-directory.ts';
import type { AccountStore } from './account-store.ts';
import { admitClientRequest, type ClientRequestOptions } from './client-request.ts';
import { parseBody, readJson, sendFailure, sendJson } from './http-json.ts';
import { verifyPassword } from './password.ts';

export interface SignInRouteOptions extends ClientRequestOptions {
  store: Pick<AccountStore, 'passwordOf' | 'replaceToken'>;
  directory: Pick<AccountDirectory, 'changed' | 'staticUsers'>;
  logger: Logger;
}

const wrongCredentials = { error: 'unauthorized', message: 'wrong user name or password' };

/** Returns the route handler: true when it handled the request. */
export function createSignInRoute(options: SignInRouteOptions) {
  const { store, directory, logger } = options;
  return async (request: IncomingMessage, response: ServerResponse): Promise<boolean> => {
    if (new URL(request.url ?? '/', 'http://gateway').pathname !== SIGN_IN_PATH) return false;
    const admitted = admitClientRequest(request, response, 'POST', options);
    if (admitted === undefined) return true;
    const { address, cors } = admitted;
    try {
      const body = parseBody(signInRequestSchema, await readJson(request));
      // AUTH_TOKENS users have no password here, whatever the database holds under their name.
      const user = directory.staticUsers.has(body.name) ? undefined : await store.passwordOf(body.name);
      // Checked even when there is no such user (against a decoy): the time taken does not tell.
      const matches = await verifyPassword(body.password, user?.passwordHash);
      if (user === undefined || !matches) {
        options.loginThrottle.failed(address);
        logger.info({ user: body.name, address }, 'password sign-in refused');
        sendJson(response, 401, wrongCredentials, cors);
        return true;
      }
      if (user.disabled) {
        sendJson(
          response,
          403,
          { error: 'disabled', message: 'this account is disabled: ask your administrator' },
          cors,
        );
        return true;
      }
      const token = await store.replaceToken(body.name, body.device);
      await directory.changed();
      logger.info({ user: body.name, device: body.device }, 'signed in with a password: device token minted');
      const answer: SignedIn = { user: body.name, device: body.device, token };
      sendJson(response, 201, answer, cors);
    } catch (error) {
      sendFailure(response, error, cors, (cause) => logger.error({ err: cause }, 'sign-in failed'));
    }
    return true;
  };
}
