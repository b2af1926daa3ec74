// Which plain-words message explains an answer's error, and whether retrying makes sense yet.
import type { AnswerError } from '@chrome-plus/client';
import type { MessageKey } from './i18n.ts';

export interface ErrorText {
  key: MessageKey;
  substitutions: string[];
  /** Whether a retry button should be offered (now or later). */
  canRetry: boolean;
  /** While set and in the future, a retry would only be refused again. */
  retryAt?: number;
}

export function describeError(error: AnswerError, now = Date.now()): ErrorText {
  const detail = error.message || error.code;
  switch (error.code) {
    case 'rate_limited': {
      const seconds = error.retryAt !== undefined ? Math.ceil((error.retryAt - now) / 1000) : 0;
      return seconds > 0
        ? {
            key: 'errorRateLimited',
            substitutions: [String(seconds)],
            canRetry: true,
            retryAt: error.retryAt,
          }
        : { key: 'errorRateLimitedNow', substitutions: [], canRetry: true };
    }
    case 'provider_error':
      return { key: 'errorProvider', substitutions: [detail], canRetry: true };
    case 'provider_timeout':
      return { key: 'errorProviderTimeout', substitutions: [], canRetry: true };
    case 'overloaded':
      return { key: 'errorOverloaded', substitutions: [], canRetry: true, retryAt: error.retryAt };
    case 'model_not_found':
      return { key: 'errorModelNotFound', substitutions: [], canRetry: true };
    case 'expired':
      return { key: 'errorExpired', substitutions: [], canRetry: true };
    case 'not_found':
      return error.withAttachments
        ? { key: 'errorAttachmentMissing', substitutions: [], canRetry: false }
        : { key: 'errorNotFound', substitutions: [], canRetry: true };
    case 'too_large':
      return { key: 'errorTooLarge', substitutions: [], canRetry: false };
    case 'bad_request':
      return { key: 'errorBadRequest', substitutions: [detail], canRetry: true };
    case 'unauthorized':
      return { key: 'errorUnauthorized', substitutions: [], canRetry: true };
    case 'offline':
      return { key: 'offlinePending', substitutions: [], canRetry: true };
    default:
      return { key: 'errorInternal', substitutions: [], canRetry: true };
  }
}
