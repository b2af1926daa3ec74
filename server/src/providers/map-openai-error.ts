// Turns whatever an OpenAI-compatible call threw into a ProviderError an end user can read and a worker can act on.
import { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
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

/** Upstream details are shown to users, so they are kept short. */
const maxDetailLength = 300;
/** Retry-After values beyond this are ignored as nonsense (an hour). */
const maxRetryAfterMs = 3_600_000;

/** Milliseconds the server asked us to wait: `retry-after-ms` (OpenAI), else `Retry-After` (seconds or an HTTP date). */
export function parseRetryAfterMs(
  headers: Headers | undefined,
  now: number = Date.now(),
): number | undefined {
  if (headers === undefined) return undefined;
  const milliseconds = headers.get('retry-after-ms');
  if (milliseconds !== null && milliseconds.trim() !== '') {
    const value = Number(milliseconds);
    if (Number.isFinite(value) && value >= 0) return Math.min(Math.ceil(value), maxRetryAfterMs);
  }
  const retryAfter = headers.get('retry-after')?.trim();
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

function detailOf(error: APIError, apiKey: string | undefined): string {
  const body: unknown = error.error;
  let text: string;
  if (typeof body === 'string') text = body;
  else if (typeof body === 'object' && body !== null && 'message' in body && typeof body.message === 'string')
    text = body.message;
  else text = error.message;
  text = scrub(text.replace(/\s+/g, ' ').trim(), apiKey);
  return text.length > maxDetailLength ? `${text.slice(0, maxDetailLength - 1)}…` : text;
}

function withDetail(message: string, detail: string): string {
  return detail === '' ? `${message}.` : `${message}: ${detail}`;
}

function saysModelIsMissing(error: APIError): boolean {
  if (error.code === 'model_not_found') return true;
  const body: unknown = error.error;
  const message =
    typeof body === 'object' && body !== null && 'message' in body && typeof body.message === 'string'
      ? body.message
      : error.message;
  // OpenAI: "The model `x` does not exist"; DeepSeek: "Model Not Exist"; Ollama: "model 'x' not found".
  return /\bmodel\b.{0,80}\b(not exist|does not exist|doesn't exist|not found|is not available)\b|\b(unknown|no such|invalid) model\b/i.test(
    message,
  );
}

/** Whether an error reported inside the stream sounds transient (overload, rate limit, internal trouble). */
function soundsTransient(error: APIError): boolean {
  const body: unknown = error.error;
  const numbers: unknown[] = [error.code];
  if (typeof body === 'object' && body !== null) {
    if ('status' in body) numbers.push(body.status);
    if ('code' in body) numbers.push(body.code);
  }
  for (const value of numbers) {
    const status = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN;
    if (status === 408 || status === 429 || (status >= 500 && status <= 599)) return true;
  }
  const words = `${error.code ?? ''} ${error.type ?? ''} ${error.message}`;
  return /overload|capacity|busy|unavailable|rate.?limit|too many|time.?out|timed out|server.?error|internal|try again/i.test(
    words,
  );
}

function connectionCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth++) {
    if ('code' in current && typeof current.code === 'string' && /^E[A-Z_]+$/.test(current.code))
      return current.code;
    current = 'cause' in current ? current.cause : undefined;
  }
  return undefined;
}

/** The SDK's error as a cause that may be logged: same name, status and code, the key scrubbed from its message. */
function scrubbedCause(error: APIError, apiKey: string | undefined): Error {
  const cause = new Error(scrub(error.message, apiKey));
  cause.name = error.constructor.name;
  return Object.assign(cause, { status: error.status, code: error.code, type: error.type });
}

/** Maps an error thrown by the `openai` SDK (or by the fetch under it) to a ProviderError. */
export function mapOpenAIError(error: unknown, context: ErrorContext): ProviderError {
  if (error instanceof ProviderError) return error;
  const provider = `the model provider (${context.providerId})`;
  const Provider = `The model provider (${context.providerId})`;

  if (error instanceof APIConnectionTimeoutError) {
    return new ProviderError('provider_timeout', `${Provider} did not answer in time.`, {
      retryable: true,
      cause: error,
    });
  }
  if (error instanceof APIConnectionError) {
    const code = connectionCode(error);
    return new ProviderError(
      'provider_error',
      `Could not connect to ${provider}${code ? ` (${code})` : ''}.`,
      {
        retryable: true,
        cause: error,
      },
    );
  }
  if (error instanceof APIError) {
    const status = error.status;
    const detail = detailOf(error, context.apiKey);
    const cause = scrubbedCause(error, context.apiKey);
    if (status === undefined) {
      // An {"error": ...} object inside the event stream: the server failed after it had started answering.
      return new ProviderError(
        'provider_error',
        withDetail(`${Provider} reported an error mid-answer`, detail),
        { retryable: soundsTransient(error), cause },
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
          withDetail(
            `${Provider} refused the request because the server's account has no quota left`,
            detail,
          ),
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
  if (error instanceof SyntaxError) {
    return new ProviderError('provider_error', `${Provider} sent a malformed answer stream.`, {
      retryable: true,
      cause: error,
    });
  }
  // What is left is the fetch under the SDK failing: a socket cut mid-body ("terminated") or a network error.
  const code = connectionCode(error);
  return new ProviderError(
    'provider_error',
    context.midStream
      ? `The connection to ${provider} was cut off mid-answer${code ? ` (${code})` : ''}.`
      : `Could not connect to ${provider}${code ? ` (${code})` : ''}.`,
    { retryable: true, cause: error },
  );
}
