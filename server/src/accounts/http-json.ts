// JSON over HTTP for the accounts' routes (admin API, sign-in, a user's own usage): a bounded body read, a schema
// check whose refusal names the field, and one shape of answer, `{ "error": code, "message": reason }` for refusals.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';
import { clientAddress, type LoginThrottle } from '../gateway/login-throttle.ts';
import { readCapped } from '../http/read-capped.ts';
import { AccountError } from './account-store.ts';

const MAX_BODY_BYTES = 16 * 1024;

/** A refusal with its HTTP status; the routes turn it into the JSON answer. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (response.headersSent) return;
  response
    .writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers })
    .end(JSON.stringify(body));
}

/**
 * The client's address for the sign-in throttle, or undefined when it must wait first: then a 429 with Retry-After
 * (and `headers`, e.g. CORS) has been sent.
 */
export function throttledAddress(
  request: IncomingMessage,
  response: ServerResponse,
  options: { loginThrottle: LoginThrottle; trustProxy: boolean },
  headers: Record<string, string> = {},
): string | undefined {
  const address = clientAddress(
    request.socket.remoteAddress,
    request.headers['x-forwarded-for'],
    options.trustProxy,
  );
  const waitMs = options.loginThrottle.waitMs(address);
  if (waitMs <= 0) return address;
  sendJson(
    response,
    429,
    { error: 'rate_limited', message: 'too many failed sign-ins from this address: wait' },
    { ...headers, 'retry-after': String(Math.ceil(waitMs / 1000)) },
  );
  return undefined;
}

export async function readJson(request: IncomingMessage): Promise<unknown> {
  const body = await readCapped(
    request,
    MAX_BODY_BYTES,
    () => new HttpError(413, 'too_large', `a request body has at most ${MAX_BODY_BYTES} bytes`),
  );
  try {
    return JSON.parse(body.toString('utf8') || '{}');
  } catch {
    throw new HttpError(400, 'bad_request', 'the body must be JSON');
  }
}

export function parseBody<T>(schema: z.ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new HttpError(
      400,
      'bad_request',
      `${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`,
    );
  }
  return parsed.data;
}

const accountStatus = { bad_request: 400, not_found: 404, conflict: 409 } as const;

/** Answers a failed request: a refusal as itself, anything else as `internal` (the cause goes to the log only). */
export function sendFailure(
  response: ServerResponse,
  error: unknown,
  headers: Record<string, string>,
  logFailure: (error: unknown) => void,
): void {
  if (error instanceof HttpError) {
    sendJson(response, error.status, { error: error.code, message: error.message }, headers);
    return;
  }
  if (error instanceof AccountError) {
    sendJson(response, accountStatus[error.code], { error: error.code, message: error.message }, headers);
    return;
  }
  logFailure(error);
  sendJson(response, 500, { error: 'internal', message: 'the request failed; see the gateway log' }, headers);
}
