// The Origin allowlist applied at the WebSocket upgrade (and to uploads): patterns with `*` wildcards.

/**
 * The Chrome Plus extension's id, fixed by the public `key` in extension/static/manifest.json (Chrome
 * derives an extension's id from its key; origin.test.ts recomputes it from the manifest so the two
 * never drift). A Chrome Web Store upload gets an id of its own: list it in ALLOWED_ORIGINS.
 */
export const chromePlusExtensionId = 'jfeeibeooghjcmgljamlpihniapmomdh';

export const chromePlusExtensionOrigin = `chrome-extension://${chromePlusExtensionId}`;

// Only our own extension: in the tokenless default, any other extension or any local web page allowed here
// would get the local user and spend the operator's model key. Others are opt-in through ALLOWED_ORIGINS.
export const defaultAllowedOrigins = [chromePlusExtensionOrigin];

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
