// What an upload must pass before a byte of it is read: origin (and the browser's preflight), method, the sign-in
// throttle, the token, the declared size. Returns the answer to give, or the user and the CORS headers to go on with:
// at once, or (for a device token not yet in memory, looked up in the database after the throttle) a promise.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { UploadRefusal } from '@chrome-plus/protocol';
import { type Authenticate, bearerToken, type MaybePromise } from '../gateway/auth.ts';
import { clientAddress, type LoginThrottle } from '../gateway/login-throttle.ts';

export interface UploadChecksOptions {
  authenticate: Authenticate;
  isOriginAllowed(origin: string | undefined): boolean;
  /** Failed sign-ins per address, shared with the sockets' hello. */
  loginThrottle?: LoginThrottle;
  trustProxy?: boolean;
  maxUploadBytes: number;
}

/** An answer given without reading the upload; `drain` reads the body away so that the connection can be reused. */
export interface UploadAnswer {
  status: number;
  body?: UploadRefusal;
  headers: Record<string, string>;
  drain?: boolean;
}

export type UploadCheck =
  | { kind: 'answer'; answer: UploadAnswer }
  | { kind: 'accepted'; user: string; cors: Record<string, string> };

export function refusal(code: string, message: string): UploadRefusal {
  return { error: code, message };
}

/** Writes a JSON answer, unless one was written already. */
export function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (response.headersSent) return;
  response.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

export function checkUpload(
  request: Pick<IncomingMessage, 'method' | 'headers' | 'socket'>,
  options: UploadChecksOptions,
): MaybePromise<UploadCheck> {
  const refuse = (status: number, body: UploadRefusal, headers: Record<string, string> = {}, drain = false) =>
    ({ kind: 'answer', answer: { status, body, headers, drain } }) as const;
  const origin = request.headers.origin;
  if (!options.isOriginAllowed(origin))
    return refuse(403, refusal('forbidden', 'this origin may not upload'));
  // The extension's pages upload cross-origin; answer the browser's preflight for allowed origins.
  const cors: Record<string, string> =
    origin === undefined ? {} : { 'access-control-allow-origin': origin, vary: 'Origin' };
  if (request.method === 'OPTIONS') {
    const headers = {
      ...cors,
      'access-control-allow-methods': 'POST',
      'access-control-allow-headers': 'authorization, content-type',
      'access-control-max-age': '600',
    };
    return { kind: 'answer', answer: { status: 204, headers } };
  }
  if (request.method !== 'POST')
    return refuse(405, refusal('bad_request', 'use POST'), { ...cors, allow: 'POST, OPTIONS' });
  const address = clientAddress(
    request.socket.remoteAddress,
    request.headers['x-forwarded-for'],
    options.trustProxy ?? false,
  );
  const waitMs = options.loginThrottle?.waitMs(address) ?? 0;
  if (waitMs > 0) {
    return refuse(429, refusal('rate_limited', 'too many failed sign-ins from this address: wait'), {
      ...cors,
      'retry-after': String(Math.ceil(waitMs / 1000)),
    });
  }
  const checkUser = (user: string | undefined): UploadCheck => {
    if (user === undefined) {
      options.loginThrottle?.failed(address);
      const message = 'a valid token is needed: Authorization: Bearer <token>';
      return refuse(401, refusal('unauthorized', message), cors);
    }
    const declaredLength = Number(request.headers['content-length'] ?? 0);
    // Multipart framing adds a little; anything far above the limit is refused before reading it.
    if (declaredLength > options.maxUploadBytes + 64 * 1024) {
      const message = `files may have at most ${options.maxUploadBytes} bytes`;
      return refuse(413, refusal('too_large', message), { ...cors, connection: 'close' }, true);
    }
    return { kind: 'accepted', user, cors };
  };
  const user = options.authenticate(bearerToken(request.headers.authorization));
  return user instanceof Promise ? user.then(checkUser) : checkUser(user);
}
