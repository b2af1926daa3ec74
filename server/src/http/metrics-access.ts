// Who may read /metrics: it says who uses the server and how much, so it is open only where the server is (no
// tokens of any kind: loopback only); otherwise METRICS_TOKEN as a bearer token, and 403 while none is set.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '../config.ts';
import { bearerToken, createAuthenticator } from '../gateway/auth.ts';

/** True when the request may read the metrics; otherwise it has answered it (401 or 403). */
export type MetricsAccess = (request: IncomingMessage, response: ServerResponse) => boolean;

export function createMetricsAccess(
  config: Pick<Config, 'tokens' | 'adminToken' | 'metricsToken'>,
): MetricsAccess {
  const reader =
    config.metricsToken === undefined
      ? undefined
      : createAuthenticator(new Map([[config.metricsToken, 'metrics']]));
  const guarded = config.tokens.size > 0 || config.adminToken !== undefined || reader !== undefined;
  return (request, response) => {
    if (!guarded) return true;
    if (reader === undefined) {
      response.writeHead(403, { 'content-type': 'text/plain' }).end('set METRICS_TOKEN to read /metrics\n');
      return false;
    }
    if (reader(bearerToken(request.headers.authorization)) === undefined) {
      response
        .writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer' })
        .end('/metrics needs Authorization: Bearer <METRICS_TOKEN>\n');
      return false;
    }
    return true;
  };
}
