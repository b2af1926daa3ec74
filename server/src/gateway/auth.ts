// Who a token belongs to. Tokens are compared by digest, so a lookup's timing says nothing about a token's characters.
import { createHash, timingSafeEqual } from 'node:crypto';

export const LOCAL_USER = 'local';

/**
 * An answer at once, or later: who a token belongs to is answered from memory, except for a device token that memory
 * does not hold yet, which the accounts directory looks up in the database (accounts/account-directory.ts).
 */
export type MaybePromise<T> = T | Promise<T>;

/** Who a token belongs to: undefined when nobody; a promise only when the answer needs the database. */
export type Authenticate = (token: string | undefined) => MaybePromise<string | undefined>;

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/** With no tokens configured (loopback only), everyone is the one local user. */
export function createAuthenticator(
  tokens: ReadonlyMap<string, string>,
): (token: string | undefined) => string | undefined {
  const entries = [...tokens].map(([token, user]) => ({ digest: digest(token), user }));
  if (entries.length === 0) return () => LOCAL_USER;
  return (token) => {
    if (token === undefined || token.length === 0 || token.length > 4096) return undefined;
    const candidate = digest(token);
    let user: string | undefined;
    // Compare against every entry, whatever matches, so that the time taken does not depend on which one does.
    for (const entry of entries) {
      if (timingSafeEqual(candidate, entry.digest)) user = entry.user;
    }
    return user;
  };
}

/** Reads a bearer token from an Authorization header. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = header?.match(/^Bearer\s+(.+)$/i);
  return match?.[1]?.trim();
}
