// The options page's calls to the gateway's accounts routes: sign in with a password (which mints this browser's
// device token), and read one's own usage today. Pure: fetch comes in, the contract is the protocol's.
import {
  type AccountResponse,
  MY_USAGE_PATH,
  type MyUsage,
  myUsageSchema,
  parseAccountResponse,
  SIGN_IN_PATH,
  type SignedIn,
  signedInSchema,
} from '@chrome-plus/protocol';
import { gatewayHttpUrl } from '../shared/settings.ts';

/** Status 0: nothing answered (or an answer the browser would not show the page: no CORS). */
export type AccountResult<T> = AccountResponse<T>;

const unreachable = { ok: false, status: 0, code: 'unreachable', message: 'no answer' } as const;

async function request<T>(
  schema: Parameters<typeof parseAccountResponse<T>>[0],
  okStatus: number,
  url: string,
  init: RequestInit,
  fetchFn: typeof fetch,
): Promise<AccountResult<T>> {
  let response: Response;
  try {
    response = await fetchFn(url, { ...init, cache: 'no-store', signal: AbortSignal.timeout(15_000) });
  } catch {
    return unreachable;
  }
  return parseAccountResponse(schema, okStatus, response.status, await response.text().catch(() => ''));
}

export function signIn(options: {
  serverUrl: string;
  name: string;
  password: string;
  device: string;
  fetch?: typeof fetch;
}): Promise<AccountResult<SignedIn>> {
  const { name, password, device } = options;
  return request(
    signedInSchema,
    201,
    gatewayHttpUrl(options.serverUrl, SIGN_IN_PATH),
    {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name, password, device }),
    },
    options.fetch ?? fetch,
  );
}

export function fetchMyUsage(options: {
  serverUrl: string;
  token: string;
  fetch?: typeof fetch;
}): Promise<AccountResult<MyUsage>> {
  return request(
    myUsageSchema,
    200,
    gatewayHttpUrl(options.serverUrl, MY_USAGE_PATH),
    { headers: options.token ? { authorization: `Bearer ${options.token}` } : {} },
    options.fetch ?? fetch,
  );
}

/**
 * What this browser is called in the user's token list until they name it: "Chrome on Linux", say. Only the
 * characters a device name may have (letters, digits, spaces, . _ @ -).
 */
export function defaultDeviceName(platform: string | undefined): string {
  const os = (platform ?? '')
    .replace(/[^A-Za-z0-9._@-]+/g, ' ')
    .trim()
    .slice(0, 40);
  return os ? `Chrome on ${os}` : 'Chrome';
}

/** How full the day's budget is, 0 to 1; undefined without a budget. */
export function usageShare(usage: Pick<MyUsage, 'tokens' | 'tokensPerDay'>): number | undefined {
  if (usage.tokensPerDay === null || usage.tokensPerDay <= 0) return undefined;
  return Math.min(1, usage.tokens / usage.tokensPerDay);
}
