// Turns what an OpenAI-compatible API answered (an HTTP error, an error inside the stream) or how its connection
// failed into a ProviderError an end user can read and a worker can act on.
// Over 250 lines on purpose: one table of every upstream failure and its code, message and retry rule.
import { ProviderError } from './types.ts';

export interface ErrorContext {
  /** Provider name shown in messages, e.g. "deepseek". */
  providerId: string;
  /** The model asked for, named in "model not found" messages. */
  model: string;
  /** Scrubbed from every message: an upstream message may echo it (OpenAI's 401 does, partly masked). */
  apiKey: string | undefined;
  /** True once the answer has started streaming: a failure then is a cut, not a refusal. */
  midStream: boolean;
}

/** Response headers as fetch gives them (`Headers`) or as undici's `request` does (an object of lower-case names). */
export type HeaderSource =
  | { get(name: string): string | null }
  | Readonly<Record<string, string | string[] | undefined>>;

/**
 * An error the API itself reported: an HTTP error status with its body, or an `{"error": ...}` event inside
 * the stream (no status). The fields are those the official SDK's `APIError` had, read the same way, so that
 * messages and codes stay what they were when the SDK made the call.
 */
export interface UpstreamError {
  /** Undefined for an error reported inside the event stream. */
  status: number | undefined;
  /** The body's `error` member: an object (`message`, `type`, `code`) for OpenAI and most servers, a string for Ollama. */
  error: unknown;
  /** `error.code` when `error` is an object (a string, sometimes a number). */
  code: unknown;
  type: unknown;
  /** The status, then `error.message`, else the JSON of `error`, else the raw body: "429 Rate limit reached...". */
  message: string;
  headers: HeaderSource | undefined;
}

/** Upstream details are shown to users, so they are kept short. */
const maxDetailLength = 300;
/** Retry-After values beyond this are ignored as nonsense (an hour). */
const maxRetryAfterMs = 3_600_000;

function headerValue(headers: HeaderSource, name: string): string | undefined {
  if (typeof headers.get === 'function')
    return (headers as { get(name: string): string | null }).get(name) ?? undefined;
  const value = (headers as Readonly<Record<string, string | string[] | undefined>>)[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Milliseconds the server asked us to wait: `retry-after-ms` (OpenAI), else `Retry-After` (seconds or an HTTP date). */
export function parseRetryAfterMs(
  headers: HeaderSource | undefined,
  now: number = Date.now(),
): number | undefined {
  if (headers === undefined) return undefined;
  const milliseconds = headerValue(headers, 'retry-after-ms');
  if (milliseconds !== undefined && milliseconds.trim() !== '') {
    const value = Number(milliseconds);
    if (Number.isFinite(value) && value >= 0) return Math.min(Math.ceil(value), maxRetryAfterMs);
  }
  const retryAfter = headerValue(headers, 'retry-after')?.trim();
  if (retryAfter === undefined || retryAfter === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(retryAfter))
    return Math.min(Math.ceil(Number(retryAfter) * 1000), maxRetryAfterMs);
  // An HTTP date names a weekday and month; Date.parse would also take "-1" as a year.
  const date = /[a-z]/i.test(retryAfter) ? Date.parse(retryAfter) : Number.NaN;
  if (Number.isNaN(date)) return undefined;
  return Math.min(Math.max(0, date - now), maxRetryAfterMs);
}

/** Removes the API key, and anything shaped like a key or bearer token, from text shown to users. */
export function scrub(text: string, apiKey: string | undefined): string {
  let result = text;
  if (apiKey !== undefined && apiKey.length >= 4) result = result.split(apiKey).join('***');
  return result.replace(/Bearer\s+\S+/gi, 'Bearer ***').replace(/\bsk-[A-Za-z0-9_*-]{6,}/g, 'sk-***');
}

function member(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[name] : undefined;
}

/**
 * The error an API reported, from its `error` member (`status` undefined inside the stream) or, when the body
 * was not JSON, from its text. Built as the SDK built its `APIError`, message included.
 */
export function upstreamError(
  status: number | undefined,
  error: unknown,
  bodyText: string | undefined,
  headers: HeaderSource | undefined,
): UpstreamError {
  const message = member(error, 'message');
  const text = message
    ? typeof message === 'string'
      ? message
      : JSON.stringify(message)
    : error
      ? JSON.stringify(error)
      : bodyText;
  let full: string;
  if (status && text) full = `${status} ${text}`;
  else if (status) full = `${status} status code (no body)`;
  else full = text || '(no status code or body)';
  return { status, error, code: member(error, 'code'), type: member(error, 'type'), message: full, headers };
}

/** An HTTP error answer: its `{"error": ...}` body when it is JSON, its text otherwise. */
export function upstreamHttpError(status: number, body: string, headers: HeaderSource): UpstreamError {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    json = undefined;
  }
  return upstreamError(status, member(json, 'error'), json ? undefined : body, headers);
}

function detailOf(error: UpstreamError, apiKey: string | undefined): string {
  const body = error.error;
  const message = member(body, 'message');
  let text: string;
  if (typeof body === 'string') text = body;
  else if (typeof message === 'string') text = message;
  else text = error.message;
  text = scrub(text.replace(/\s+/g, ' ').trim(), apiKey);
  return text.length > maxDetailLength ? `${text.slice(0, maxDetailLength - 1)}…` : text;
}

function withDetail(message: string, detail: string): string {
  return detail === '' ? `${message}.` : `${message}: ${detail}`;
}

function saysModelIsMissing(error: UpstreamError): boolean {
  if (error.code === 'model_not_found') return true;
  const bodyMessage = member(error.error, 'message');
  const message = typeof bodyMessage === 'string' ? bodyMessage : error.message;
  // OpenAI: "The model `x` does not exist"; DeepSeek: "Model Not Exist"; Ollama: "model 'x' not found".
  return /\bmodel\b.{0,80}\b(not exist|does not exist|doesn't exist|not found|is not available)\b|\b(unknown|no such|invalid) model\b/i.test(
    message,
  );
}

/** Whether an error reported inside the stream sounds transient (overload, rate limit, internal trouble). */
function soundsTransient(error: UpstreamError): boolean {
  for (const value of [error.code, member(error.error, 'status'), member(error.error, 'code')]) {
    const status = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN;
    if (status === 408 || status === 429 || (status >= 500 && status <= 599)) return true;
  }
  const words = `${error.code ?? ''} ${error.type ?? ''} ${error.message}`;
  return /overload|capacity|busy|unavailable|rate.?limit|too many|time.?out|timed out|server.?error|internal|try again/i.test(
    words,
  );
}

/** The error codes along the cause chain (undici and Node put them there): "ECONNREFUSED", "UND_ERR_SOCKET". */
function errorCodes(error: unknown): string[] {
  const codes: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth++) {
    const code = member(current, 'code');
    if (typeof code === 'string') codes.push(code);
    current = member(current, 'cause');
  }
  return codes;
}

/** The API's error as a cause that may be logged: its status and code, the key scrubbed from its message. */
function scrubbedCause(error: UpstreamError, apiKey: string | undefined): Error {
  const cause = new Error(scrub(error.message, apiKey));
  cause.name = error.status === undefined ? 'UpstreamStreamError' : 'UpstreamHTTPError';
  return Object.assign(cause, { status: error.status, code: error.code, type: error.type });
}

/** Maps an error the API reported (an HTTP error answer, or an error event inside the stream) to a ProviderError. */
export function mapUpstreamError(error: UpstreamError, context: ErrorContext): ProviderError {
  const provider = `the model provider (${context.providerId})`;
  const Provider = `The model provider (${context.providerId})`;
  const status = error.status;
  const detail = detailOf(error, context.apiKey);
  const cause = scrubbedCause(error, context.apiKey);
  if (status === undefined) {
    // An {"error": ...} object inside the event stream: the server failed after it had started answering.
    return new ProviderError(
      'provider_error',
      withDetail(`${Provider} reported an error mid-answer`, detail),
      {
        retryable: soundsTransient(error),
        cause,
      },
    );
  }
  if (status >= 300 && status <= 399) {
    // Redirects are not followed (fetch under the SDK did): a POST with a key must not wander to another host.
    const location = error.headers === undefined ? undefined : headerValue(error.headers, 'location');
    return new ProviderError(
      'provider_error',
      `${Provider} redirected the request (HTTP ${status}${location ? ` to ${scrub(location, context.apiKey)}` : ''}). The server's administrator needs to set its base URL to where it redirects.`,
      { retryable: false, status, cause },
    );
  }
  if (status === 401 || status === 403) {
    // The upstream message is not shown: it may quote the key.
    return new ProviderError(
      'provider_error',
      `${Provider} refused this server's API key (HTTP ${status}). The server's administrator needs to check its configuration.`,
      { retryable: false, status, cause },
    );
  }
  if (status === 429) {
    if (error.code === 'insufficient_quota') {
      // OpenAI answers 429 for an exhausted account too; waiting does not help.
      return new ProviderError(
        'provider_error',
        withDetail(`${Provider} refused the request because the server's account has no quota left`, detail),
        { retryable: false, status, cause },
      );
    }
    const retryAfterMs = parseRetryAfterMs(error.headers);
    const wait =
      retryAfterMs === undefined ? '' : ` Try again in ${Math.max(1, Math.ceil(retryAfterMs / 1000))} s.`;
    return new ProviderError('rate_limited', `${Provider} is receiving too many requests.${wait}`, {
      retryable: true,
      status,
      ...(retryAfterMs !== undefined && { retryAfterMs }),
      cause,
    });
  }
  if (status === 408) {
    return new ProviderError('provider_timeout', `${Provider} timed out handling the request.`, {
      retryable: true,
      status,
      cause,
    });
  }
  if (status >= 500) {
    return new ProviderError('provider_error', withDetail(`${Provider} failed (HTTP ${status})`, detail), {
      retryable: true,
      status,
      cause,
    });
  }
  if (status === 404 || saysModelIsMissing(error)) {
    return new ProviderError(
      'model_not_found',
      `The model "${context.model}" does not exist at ${provider}${status === 404 ? '' : ` (HTTP ${status})`}.`,
      { retryable: false, status, cause },
    );
  }
  return new ProviderError(
    'bad_request',
    withDetail(`${Provider} rejected the request (HTTP ${status})`, detail),
    { retryable: false, status, cause },
  );
}

/** Error codes that say the provider was too slow, not gone: undici's own timers and the system's connect timeout. */
const timeoutCodes = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
]);

/**
 * Maps a failure of the call itself (a network error from undici or fetch, a socket cut mid-body, a malformed
 * event) to a ProviderError. A ProviderError passes through unchanged.
 */
export function mapTransportError(error: unknown, context: ErrorContext): ProviderError {
  if (error instanceof ProviderError) return error;
  const provider = `the model provider (${context.providerId})`;
  const Provider = `The model provider (${context.providerId})`;
  if (error instanceof SyntaxError) {
    return new ProviderError('provider_error', `${Provider} sent a malformed answer stream.`, {
      retryable: true,
      cause: error,
    });
  }
  const codes = errorCodes(error);
  if (codes.some((code) => timeoutCodes.has(code))) {
    return new ProviderError('provider_timeout', `${Provider} did not answer in time.`, {
      retryable: true,
      cause: error,
    });
  }
  // Only the system's codes are named to users ("ECONNREFUSED"); undici's ("UND_ERR_SOCKET") say nothing more.
  const code = codes.find((candidate) => /^E[A-Z_]+$/.test(candidate));
  const shown = code === undefined ? '' : ` (${code})`;
  return new ProviderError(
    'provider_error',
    context.midStream
      ? `The connection to ${provider} was cut off mid-answer${shown}.`
      : `Could not connect to ${provider}${shown}.`,
    { retryable: true, cause: error },
  );
}
