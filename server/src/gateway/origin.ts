// The Origin allowlist applied at the WebSocket upgrade (and to uploads): patterns with `*` wildcards.

export const defaultAllowedOrigins = ['chrome-extension://*', 'http://localhost:*', 'http://127.0.0.1:*'];

function patternToRegExp(pattern: string): RegExp {
  if (pattern === '*') return /^.*$/;
  const escaped = pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  // "http://localhost:*" also matches "http://localhost" (an origin on the default port has no port).
  const body = escaped.endsWith(':*') ? `${escaped.slice(0, -2)}(?::\\d+)?` : escaped.replace(/\*/g, '[^/]*');
  return new RegExp(`^${body}$`, 'i');
}

/** Returns a check for Origin headers; a request without Origin (CLI, server-side) is judged by token alone. */
export function createOriginCheck(
  patterns: readonly string[] = defaultAllowedOrigins,
): (origin: string | undefined) => boolean {
  const expressions = patterns.map(patternToRegExp);
  return (origin) => origin === undefined || expressions.some((expression) => expression.test(origin));
}
