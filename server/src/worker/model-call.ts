// One call of the model within an attempt: the request it sends, and its stream of deltas into the attempt's pen.
import type { ChatJob } from '../jobs.ts';
import {
  type Provider,
  ProviderError,
  type ProviderEvent,
  type ProviderMessage,
  type ProviderRequest,
} from '../providers/types.ts';

export type FinishEvent = Extract<ProviderEvent, { type: 'finish' }>;

/** Where the deltas go: the attempt's writer. */
export interface DeltaSink {
  push(text: string | undefined, reasoning: string | undefined): void;
  flush(): Promise<void>;
}

export function modelRequest(
  job: ChatJob,
  messages: ProviderMessage[],
  signal: AbortSignal,
): ProviderRequest {
  return {
    model: job.model,
    messages,
    signal,
    ...(job.options?.temperature !== undefined && { temperature: job.options.temperature }),
    ...(job.options?.maxTokens !== undefined && { maxTokens: job.options.maxTokens }),
  };
}

/**
 * Streams one call's deltas into `sink`; returns its finish event once every delta is written. A stream that ends
 * without a finish is a retryable provider error; any error of the call or of a write is thrown as it is.
 */
export async function callModelOnce(
  provider: Provider,
  request: ProviderRequest,
  sink: DeltaSink,
): Promise<FinishEvent> {
  let sawDelta = false;
  for await (const event of provider.stream(request)) {
    if (event.type === 'finish') {
      await sink.flush();
      return event;
    }
    sawDelta = true;
    sink.push(event.text, event.reasoning);
  }
  const message = sawDelta
    ? 'the model stream ended without a finish'
    : 'the model ended its answer without finishing it';
  throw new ProviderError('provider_error', message, { retryable: true });
}
