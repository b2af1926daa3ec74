// One streaming client for every OpenAI-compatible Chat Completions API (OpenAI, DeepSeek, Ollama, vLLM, ...), with timeouts.

import type { Usage } from '@chrome-plus/protocol';
import OpenAI from 'openai';
import type {
  ChatCompletionChunk,
  ChatCompletionCreateParamsStreaming,
  ChatCompletionMessageParam,
} from 'openai/resources/chat/completions';
import { abortReason } from './abort.ts';
import { mapOpenAIError } from './map-openai-error.ts';
import {
  type Provider,
  ProviderError,
  type ProviderEvent,
  type ProviderMessage,
  type ProviderRequest,
} from './types.ts';

export interface ProviderTimeouts {
  /** From sending the request until the response headers arrive. */
  connectMs: number;
  /** Longest silence on the response body; SSE comments (`: keep-alive`) count as life. */
  idleMs: number;
  /** Deadline for the whole call. Reaching it is not retryable: a retry would likely run as long again. */
  totalMs: number;
}

export interface OpenAICompatibleProviderOptions {
  id: string;
  baseURL: string;
  /** Omitted for servers that take no key (a local Ollama): no Authorization header is sent. */
  apiKey?: string | undefined;
  /** Replaces the global fetch, e.g. for tests. */
  fetch?: typeof globalThis.fetch;
  timeouts: ProviderTimeouts;
}

/** What a chunk's delta may carry beyond the SDK's types: DeepSeek's `reasoning_content`, OpenRouter's and vLLM's `reasoning`. */
interface ReasoningDelta {
  reasoning_content?: unknown;
  reasoning?: unknown;
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function toOpenAIMessage(message: ProviderMessage): ChatCompletionMessageParam {
  if (message.role === 'user') return { role: 'user', content: message.content };
  // Only user messages may carry images; the other roles take text.
  const content =
    typeof message.content === 'string'
      ? message.content
      : message.content.map((part) => (part.type === 'text' ? part.text : '')).join('');
  return { role: message.role, content };
}

/**
 * Wraps fetch so that every byte of the response body counts as life for the idle timer, and the
 * arrival of the headers ends the connect timer. Reading bytes (not parsed chunks) matters because
 * DeepSeek sends only `: keep-alive` comments while a request waits in its queue.
 */
function observingFetch(
  baseFetch: typeof globalThis.fetch,
  onHeaders: () => void,
  onBytes: () => void,
): typeof globalThis.fetch {
  return async (input, init) => {
    const response = await baseFetch(input, init);
    onHeaders();
    const body = response.body;
    if (body === null) return response;
    const reader = body.getReader();
    const observed = new ReadableStream<Uint8Array>(
      {
        async pull(controller) {
          const { done, value } = await reader.read();
          if (done) {
            controller.close();
            return;
          }
          onBytes();
          controller.enqueue(value);
        },
        cancel(reason) {
          return reader.cancel(reason);
        },
      },
      { highWaterMark: 0 },
    );
    return new Response(observed, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
}

export function createOpenAICompatibleProvider(options: OpenAICompatibleProviderOptions): Provider {
  const { id, baseURL, apiKey, timeouts } = options;
  const baseFetch = options.fetch ?? globalThis.fetch;

  function timeoutError(kind: 'connect' | 'idle' | 'total'): ProviderError {
    const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;
    const message = {
      connect: `The model provider (${id}) did not start answering within ${seconds(timeouts.connectMs)}.`,
      idle: `The model provider (${id}) went silent for ${seconds(timeouts.idleMs)} mid-answer.`,
      total: `The model provider (${id}) did not finish the answer within ${seconds(timeouts.totalMs)}.`,
    }[kind];
    return new ProviderError('provider_timeout', message, { retryable: kind !== 'total' });
  }

  async function* stream(request: ProviderRequest): AsyncGenerator<ProviderEvent> {
    const callerSignal = request.signal;
    if (callerSignal.aborted) throw abortReason(callerSignal);

    // One controller aborts the HTTP call; `failure` remembers why, because the SDK turns an abort
    // into APIUserAbortError before headers and into a quiet end of the stream after them.
    const controller = new AbortController();
    let failure: Error | undefined;
    const abortWith = (reason: Error) => {
      if (controller.signal.aborted) return;
      failure = reason;
      controller.abort(reason);
    };
    const onCallerAbort = () => abortWith(abortReason(callerSignal));
    callerSignal.addEventListener('abort', onCallerAbort, { once: true });

    // While the consumer holds a yielded event nothing is read; that wait is not the provider's silence.
    let consumerBusy = false;
    let idleTimer: NodeJS.Timeout | undefined;
    const connectTimer = setTimeout(() => abortWith(timeoutError('connect')), timeouts.connectMs);
    const totalTimer = setTimeout(() => abortWith(timeoutError('total')), timeouts.totalMs);
    const onHeaders = () => {
      clearTimeout(connectTimer);
      idleTimer = setTimeout(() => {
        if (consumerBusy) idleTimer?.refresh();
        else abortWith(timeoutError('idle'));
      }, timeouts.idleMs);
    };
    const onBytes = () => idleTimer?.refresh();

    const client = new OpenAI({
      baseURL,
      apiKey: apiKey ?? 'unused',
      // Everything explicit: the SDK would otherwise read OPENAI_* variables, and send an OpenAI
      // organisation or admin key to whichever provider this is.
      organization: null,
      project: null,
      adminAPIKey: null,
      ...(apiKey === undefined && { defaultHeaders: { Authorization: null } }),
      // The worker retries, with its own policy; the SDK's own timer must never fire before ours.
      maxRetries: 0,
      timeout: Math.max(timeouts.connectMs, timeouts.totalMs) + 1000,
      logLevel: 'off',
      fetch: observingFetch(baseFetch, onHeaders, onBytes),
    });
    const context = { providerId: id, model: request.model, apiKey, midStream: false };
    const params: ChatCompletionCreateParamsStreaming = {
      model: request.model,
      messages: request.messages.map(toOpenAIMessage),
      stream: true,
      stream_options: { include_usage: true },
      ...(request.temperature !== undefined && { temperature: request.temperature }),
      // max_tokens, not max_completion_tokens: it is the one every compatible server knows.
      ...(request.maxTokens !== undefined && { max_tokens: request.maxTokens }),
    };

    let completed = false;
    try {
      let chunks: AsyncIterable<ChatCompletionChunk>;
      try {
        chunks = await client.chat.completions.create(params, { signal: controller.signal });
      } catch (error) {
        throw failure ?? mapOpenAIError(error, context);
      }
      context.midStream = true;

      let finishReason: string | undefined;
      let model = request.model;
      let usage: Usage | undefined;
      try {
        for await (const chunk of chunks) {
          if (typeof chunk.model === 'string' && chunk.model !== '') model = chunk.model;
          if (chunk.usage) {
            usage = {
              promptTokens: chunk.usage.prompt_tokens,
              completionTokens: chunk.usage.completion_tokens,
            };
          }
          const choice = Array.isArray(chunk.choices) ? chunk.choices[0] : undefined;
          if (choice === undefined) continue;
          if (choice.finish_reason) finishReason = choice.finish_reason;
          const delta: ChatCompletionChunk.Choice.Delta & ReasoningDelta = choice.delta ?? {};
          const text = nonEmpty(delta.content);
          const reasoning = nonEmpty(delta.reasoning_content) ?? nonEmpty(delta.reasoning);
          if (text === undefined && reasoning === undefined) continue;
          const event: ProviderEvent = { type: 'delta' };
          if (reasoning !== undefined) event.reasoning = reasoning;
          if (text !== undefined) event.text = text;
          consumerBusy = true;
          yield event;
          consumerBusy = false;
          idleTimer?.refresh();
        }
      } catch (error) {
        if (failure) throw failure;
        // A socket cut after the last finish_reason lost at most the usage: the answer itself is whole.
        if (finishReason === undefined || error instanceof OpenAI.APIError)
          throw mapOpenAIError(error, context);
      }
      // The SDK ends the stream quietly when aborted: say why.
      if (failure) throw failure;
      if (finishReason === undefined) {
        throw new ProviderError(
          'provider_error',
          `The connection to the model provider (${id}) ended before the answer was complete.`,
          { retryable: true },
        );
      }
      completed = true;
      yield { type: 'finish', finishReason, model, ...(usage && { usage }) };
    } finally {
      clearTimeout(connectTimer);
      clearTimeout(totalTimer);
      clearTimeout(idleTimer);
      callerSignal.removeEventListener('abort', onCallerAbort);
      // A consumer that stopped early (break, return) must not leave the HTTP call running.
      if (!completed && !controller.signal.aborted) controller.abort();
    }
  }

  return { id, stream };
}
