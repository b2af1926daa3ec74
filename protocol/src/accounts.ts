// The accounts' HTTP contract for clients: signing in with a user name and password (which mints a device token
// for that browser), and a user's own usage and quota. Written with the API zod and zod/mini share, as frames.ts is.
import * as z from '#zod';

/** POST: `{ name, password, device }` → 201 with a device token for that device. */
export const SIGN_IN_PATH = '/v1/auth/sign-in';
/** GET with `Authorization: Bearer <token>`: the caller's usage today and their daily budget. */
export const MY_USAGE_PATH = '/v1/me/usage';

export const signInRequestSchema = z.object({
  name: z.string().check(z.minLength(1), z.maxLength(64)),
  password: z.string().check(z.minLength(1), z.maxLength(1024)),
  /** What the user calls this browser (`laptop`, `work chrome`): the token's name in `tokens list`. */
  device: z.string().check(z.minLength(1), z.maxLength(64)),
});
export type SignInRequest = z.infer<typeof signInRequestSchema>;

/** 201: the device token, readable this once; signing in again with the same device name replaces it. */
export const signedInSchema = z.looseObject({
  user: z.string(),
  device: z.string(),
  token: z.string().check(z.minLength(1)),
});
export type SignedIn = z.infer<typeof signedInSchema>;

/** 200: what the caller spent today (UTC) and their daily budget (null: none). */
export const myUsageSchema = z.looseObject({
  user: z.string(),
  /** YYYY-MM-DD, UTC. */
  day: z.string(),
  requests: z.number(),
  promptTokens: z.number(),
  completionTokens: z.number(),
  /** promptTokens + completionTokens: what the budget counts. */
  tokens: z.number(),
  /** Tokens among these that were estimated (the provider gave no usage). */
  estimatedTokens: z.number(),
  tokensPerDay: z.nullable(z.number()),
  /** When today's count starts again: the next 00:00 UTC, ISO 8601. */
  resetsAt: z.string(),
});
export type MyUsage = z.infer<typeof myUsageSchema>;

export type AccountResponse<T> =
  | { ok: true; value: T }
  | { ok: false; status: number; code: string; message: string };

/**
 * Reads an answer of these endpoints: the contract's body at `okStatus`, else the refusal's code and message (any
 * other body, such as a proxy's error page, is told by its status).
 */
export function parseAccountResponse<T>(
  schema: { safeParse(value: unknown): { success: true; data: T } | { success: false } },
  okStatus: number,
  status: number,
  text: string,
): AccountResponse<T> {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (status === okStatus) {
    const parsed = schema.safeParse(body);
    if (parsed.success) return { ok: true, value: parsed.data };
    return {
      ok: false,
      status,
      code: 'bad_response',
      message: `the server answered ${status} out of contract`,
    };
  }
  const { error, message } = (typeof body === 'object' && body !== null ? body : {}) as Record<
    string,
    unknown
  >;
  return {
    ok: false,
    status,
    code: typeof error === 'string' ? error : 'http_error',
    message: typeof message === 'string' ? message : `HTTP ${status}`,
  };
}
