// What a worker needs of a model API: one streaming call, its events, and errors that say whether a retry can help.
import type { ErrorCode, Usage } from '@chrome-plus/protocol';

/** A message as the model API takes it: text, or text and images (for models that accept images). */
export interface ProviderMessage {
  role: 'system' | 'user' | 'assistant';
  content: string | ProviderContentPart[];
}

export type ProviderContentPart =
  | { type: 'text'; text: string }
  | { type: 'image_url'; image_url: { url: string } };

export interface ProviderRequest {
  model: string;
  messages: ProviderMessage[];
  temperature?: number;
  maxTokens?: number;
  /** Aborts the HTTP request (cancellation, shutdown). */
  signal: AbortSignal;
}

export type ProviderEvent =
  | { type: 'delta'; text?: string; reasoning?: string }
  | { type: 'finish'; finishReason: string; model: string; usage?: Usage };

export interface Provider {
  readonly id: string;
  /** Streams one completion. Throws ProviderError on failure; ends with exactly one `finish` event. */
  stream(request: ProviderRequest): AsyncIterable<ProviderEvent>;
}

/** A failed model call, normalised to a protocol code. */
export class ProviderError extends Error {
  override name = 'ProviderError';
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  readonly status: number | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { retryable: boolean; retryAfterMs?: number; status?: number; cause?: unknown },
  ) {
    super(message, { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable;
    this.retryAfterMs = options.retryAfterMs;
    this.status = options.status;
  }
}
