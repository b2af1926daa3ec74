// One streaming client for every OpenAI-compatible Chat Completions API (OpenAI, DeepSeek, Ollama, vLLM, ...), with timeouts.
// Over 250 lines: the request, the three timers and the event stream share one call's state; see the split below.
//
// The call is undici's `request` on a keep-alive pool made once per provider, and its event stream is read
// with eventsource-parser: the official SDK's streaming path (fetch, web streams, a client per call) was most of
// a worker's CPU per token (docs/benchmarks.md, E3). The SDK's types still describe the chunks.
import { StringDecoder } from 'node:string_decoder';
import type { Usage } from '@chrome-plus/protocol';
import { createParser, type ParseError } from 'eventsource-parser';
import type {
  ChatCompletionChunk,
  ChatCompletionCreateParamsStreaming,
  ChatCompletionMessageParam,
} from 'openai/resources/chat/completions';
import { type Dispatcher, Pool } from 'undici';
import { abortReason } from './abort.ts';
import {
  type HeaderSource,
  mapTransportError,
  mapUpstreamError,
  upstreamError,
  upstreamHttpError,
} from './map-openai-error.ts';
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
  /** The undici dispatcher calls go through (default: a keep-alive Pool for the base URL's origin, made here, once). */
  dispatcher?: Dispatcher;
  /** Sends calls through this fetch instead of undici (tests, unusual transports); the slower path. */
  fetch?: typeof globalThis.fetch;
  timeouts: ProviderTimeouts;
}

/** What a chunk's delta may carry beyond the SDK's types: DeepSeek's `reasoning_content`, OpenRouter's and vLLM's `reasoning`. */
interface ReasoningDelta {
  reasoning_content?: unknown;
  reasoning?: unknown;
}

/** A response as the stream reads it, whichever client made the call. */
interface UpstreamResponse {
  status: number;
  headers: HeaderSource;
  body: AsyncIterable<Uint8Array>;
  text(): Promise<string>;
}

type Send = (body: string, signal: AbortSignal) => Promise<UpstreamResponse>;

/** One event's data is at most this long (characters): a server that never ends a line must not fill the memory. */
const maxEventLength = 8 * 1024 * 1024;

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

/** `${baseURL}/chat/completions`, as the SDK joined them (one slash between). */
function completionsURL(baseURL: string): URL {
  return new URL(`${baseURL.replace(/\/+$/, '')}/chat/completions`);
}

/**
 * The headers of every call. `accept` is what the official SDK sends, so servers tested against it answer alike;
 * without a key there is no Authorization header at all.
 */
function requestHeaders(apiKey: string | undefined): Record<string, string> {
  return {
    'content-type': 'application/json',
    accept: 'application/json',
    'user-agent': 'chrome-plus',
    ...(apiKey !== undefined && { authorization: `Bearer ${apiKey}` }),
  };
}

/**
 * A keep-alive pool for one origin. undici's own headers and body timers are off: the connect, idle and total
 * timers of each call are the only ones, so a timeout always reads as the same ProviderError.
 */
function createPool(origin: string): Pool {
  return new Pool(origin, { headersTimeout: 0, bodyTimeout: 0 });
}

function sendWithUndici(dispatcher: Dispatcher, url: URL, headers: Record<string, string>): Send {
  const origin = url.origin;
  const path = `${url.pathname}${url.search}`;
  return async (body, signal) => {
    const response = await dispatcher.request({ origin, path, method: 'POST', headers, body, signal });
    return {
      status: response.statusCode,
      headers: response.headers,
      body: response.body,
      text: () => response.body.text(),
    };
  };
}

async function* noBody(): AsyncGenerator<Uint8Array> {}

function sendWithFetch(fetch: typeof globalThis.fetch, url: URL, headers: Record<string, string>): Send {
  const href = url.href;
  return async (body, signal) => {
    const response = await fetch(href, { method: 'POST', headers, body, signal });
    const stream = response.body;
    return {
      status: response.status,
      headers: response.headers,
      body: stream === null ? noBody() : (stream as unknown as AsyncIterable<Uint8Array>),
      text: () => response.text(),
    };
  };
}

export function createOpenAICompatibleProvider(options: OpenAICompatibleProviderOptions): Provider {
  const { id, apiKey, timeouts } = options;
  const url = completionsURL(options.baseURL);
  const headers = requestHeaders(apiKey);
  const send =
    options.fetch !== undefined
      ? sendWithFetch(options.fetch, url, headers)
      : sendWithUndici(options.dispatcher ?? createPool(url.origin), url, headers);

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

    // One controller aborts the HTTP call; `failure` remembers why, so that whatever undici throws once it
    // is aborted (the reason, or a "terminated" of the body) the caller gets the reason.
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
      let response: UpstreamResponse;
      try {
        response = await send(JSON.stringify(params), controller.signal);
      } catch (error) {
        throw failure ?? mapTransportError(error, context);
      }
      clearTimeout(connectTimer);
      idleTimer = setTimeout(() => {
        if (consumerBusy) idleTimer?.refresh();
        else abortWith(timeoutError('idle'));
      }, timeouts.idleMs);

      if (response.status < 200 || response.status > 299) {
        // As the SDK did: a body that cannot be read is described by the read's error.
        const body = await response
          .text()
          .catch((error: unknown) => String((error as Error)?.message ?? error));
        throw (
          failure ?? mapUpstreamError(upstreamHttpError(response.status, body, response.headers), context)
        );
      }
      context.midStream = true;

      // The data of the events the last chunk of bytes completed, in order.
      const events: string[] = [];
      let malformed: ParseError | undefined;
      const parser = createParser({
        onEvent: (event) => {
          events.push(event.data);
        },
        onError: (error) => {
          if (error.type === 'max-buffer-size-exceeded') malformed = error;
        },
        maxBufferSize: maxEventLength,
      });
      const decoder = new StringDecoder('utf8');
      let done = false;
      let finishReason: string | undefined;
      let model = request.model;
      let usage: Usage | undefined;
      try {
        for await (const bytes of response.body) {
          // Bytes, not events, are life: DeepSeek sends only `: keep-alive` comments while a request is queued.
          idleTimer.refresh();
          parser.feed(decoder.write(bytes));
          if (malformed !== undefined) throw new SyntaxError(malformed.message);
          for (let index = 0; index < events.length; index++) {
            const data = events[index] as string;
            // Past [DONE] the stream is read to its end (so the connection can be reused) and ignored.
            if (done) continue;
            if (data.startsWith('[DONE]')) {
              done = true;
              continue;
            }
            const parsed: unknown = JSON.parse(data);
            if (typeof parsed !== 'object' || parsed === null) continue;
            if ('error' in parsed && parsed.error) {
              throw mapUpstreamError(
                upstreamError(undefined, parsed.error, undefined, response.headers),
                context,
              );
            }
            const chunk = parsed as ChatCompletionChunk;
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
            // A timer that fired while the consumer held the event has aborted the call: stop here.
            if (failure) throw failure;
            idleTimer.refresh();
          }
          events.length = 0;
        }
      } catch (error) {
        if (failure) throw failure;
        // A socket cut after the last finish_reason lost at most the usage: the answer itself is whole.
        // An error the API reported in the stream (already a ProviderError) always counts.
        if (finishReason === undefined || error instanceof ProviderError)
          throw mapTransportError(error, context);
      }
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
