// What a request of the extension's accounts routes (sign-in, a user's own usage) must pass before it is looked at:
// its origin (and the browser's preflight, as for uploads) and the per-address sign-in throttle.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MY_USAGE_PATH, SIGN_IN_PATH } from '@chrome-plus/protocol';
import type { LoginThrottle } from '../gateway/login-throttle.ts';
import { sendJson, throttledAddress } from './http-json.ts';

export interface ClientRequestOptions {
  isOriginAllowed(origin: string | undefined): boolean;
  /** Failed sign-ins per address, shared with sockets, uploads and the admin API. */
  loginThrottle: LoginThrottle;
  trustProxy: boolean;
}

export interface AdmittedRequest {
  /** The client's address, to count a failed sign-in against. */
  address: string;
  /** The CORS headers every answer to an allowed origin carries. */
  cors: Record<string, string>;
}

/** Answers the request (and returns undefined) when it goes no further; else its address and CORS headers. */
export function admitClientRequest(
  request: IncomingMessage,
  response: ServerResponse,
  method: 'GET' | 'POST',
  options: ClientRequestOptions,
): AdmittedRequest | undefined {
  const origin = request.headers.origin;
  if (!options.isOriginAllowed(origin)) {
    sendJson(response, 403, { error: 'forbidden', message: 'this origin may not sign in here' });
    request.resume();
    return undefined;
  }
  // The extension's pages call cross-origin; answer the browser's preflight for allowed origins.
  const cors: Record<string, string> =
    origin === undefined ? {} : { 'access-control-allow-origin': origin, vary: 'Origin' };
  if (request.method === 'OPTIONS') {
    response
      .writeHead(204, {
        ...cors,
        'access-control-allow-methods': method,
        'access-control-allow-headers': 'authorization, content-type',
        'access-control-max-age': '600',
      })
      .end();
    return undefined;
  }
  if (request.method !== method) {
    sendJson(response, 405, { error: 'bad_request', message: `use ${method}` }, { ...cors, allow: method });
    request.resume();
    return undefined;
  }
  const address = throttledAddress(request, response, options, cors);
  if (address === undefined) {
    request.resume();
    return undefined;
  }
  return { address, cors };
}

/**
 * The extension's accounts routes on a gateway without a database (DATABASE_URL=none): a 404 the page can read (with
 * CORS, else the browser would report an unreachable server), saying why.
 */
export function createAccountsUnavailableRoute(options: ClientRequestOptions) {
  return async (request: IncomingMessage, response: ServerResponse): Promise<boolean> => {
    const path = new URL(request.url ?? '/', 'http://gateway').pathname;
    if (path !== SIGN_IN_PATH && path !== MY_USAGE_PATH) return false;
    const admitted = admitClientRequest(request, response, path === SIGN_IN_PATH ? 'POST' : 'GET', options);
    if (admitted === undefined) return true;
    request.resume();
    sendJson(
      response,
      404,
      {
        error: 'not_found',
        message: 'this server has no accounts database: ask your administrator for a token',
      },
      admitted.cors,
    );
    return true;
  };
}
