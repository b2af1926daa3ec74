// A real HTTP server speaking OpenAI's streaming Chat Completions protocol, faults included, for the tests.
//
// Which behaviour a POST /chat/completions gets, first match wins:
//   1. a marker in the last user message: `[[fake:NAME key=value ...]]` (see `markerBehaviour`), so
//      concurrent requests through the whole system can each ask for their own fault;
//   2. the queue: `fake.enqueue(behaviour, ...)`, one behaviour per request, in arrival order;
//   3. the script: `fake.script((request) => behaviour | undefined)`;
//   4. the default: "Echo: <last user message>" streamed word by word.
//
// The benchmark has a model server of its own (bench/src/model-server.ts): a process apart, at a set token rate,
// each token stamped with its emit time, which records nothing per request.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** An OpenAI-style error object, as in `{"error": {...}}`. */
export interface FakeError {
  message: string;
  type?: string;
  code?: string | number | null;
  param?: string | null;
}

export interface FakeAnswer {
  type: 'answer';
  /** Content pieces, one chunk each. Default: the echo of the last user message, word by word. */
  pieces?: string[];
  /** Emit this many content chunks, cycling through `pieces` (default pieces: "tok1 ", "tok2 ", ...). */
  tokens?: number;
  /** DeepSeek-style `reasoning_content` pieces, sent before the content. */
  reasoning?: string[];
  /** Pause between pieces (and before the first), in ms; 0 writes the whole answer at once. */
  tokenIntervalMs?: number;
  /** A `: keep-alive` SSE comment before every Nth piece (1: before each). */
  keepAliveEvery?: number;
  /** This many `: keep-alive` comments, one per interval, before the first piece (DeepSeek does so while queued). */
  queuedKeepAlives?: number;
  /** Default "stop"; null ends the stream without any finish_reason. */
  finishReason?: string | null;
  /** The usage chunk sent when the request asked for it; false: never send one. Default: rough counts. */
  usage?: false | { prompt_tokens: number; completion_tokens: number };
  /** The model named in the chunks (default: the requested one). */
  model?: string;
  /** Destroy the socket after this many pieces (0: right after the headers). */
  cutAfter?: number;
  /** Send nothing more after this many pieces (0: right after the headers), holding the connection open. */
  silentAfter?: number;
  /** After this many pieces, send `{"error": error}` in the stream and end it. */
  errorAfter?: number;
  error?: FakeError;
}

export type FakeBehaviour =
  | FakeAnswer
  /** An HTTP error: `{"error": error}` as the body, or `body` verbatim. */
  | {
      type: 'status';
      status: number;
      headers?: Record<string, string>;
      error?: FakeError | ((request: RecordedRequest) => FakeError);
      body?: string;
    }
  /** Never answer: no headers, the connection held open until the client or close() ends it. */
  | { type: 'hang' };

export interface RecordedRequest {
  /** Position in `fake.requests`. */
  index: number;
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  /** The parsed JSON body (undefined for GET or a body that is not JSON). */
  body: ChatRequestBody | undefined;
  /** Arrival time, epoch ms (performance.timeOrigin + performance.now()). */
  receivedAt: number;
  /** The behaviour chosen (chat completions only). */
  behaviour: FakeBehaviour | undefined;
  /** When the connection or response ended; `early`: before the response was complete (client gone, or cut). */
  closed: Promise<{ at: number; early: boolean }>;
}

export interface ChatRequestBody {
  model?: unknown;
  messages?: unknown;
  stream?: unknown;
  stream_options?: { include_usage?: unknown } | null;
  [key: string]: unknown;
}

export interface FakeOpenAIOptions {
  /** Listed by GET /models. */
  models?: string[];
  /** When set, a request whose bearer token differs gets 401 (whose message quotes the token, as a careless server's might). */
  apiKey?: string;
}

export interface FakeOpenAI {
  /** Base URL, ending in /v1. */
  url: string;
  requests: RecordedRequest[];
  enqueue(...behaviours: FakeBehaviour[]): void;
  script(decide: ((request: RecordedRequest) => FakeBehaviour | undefined) | undefined): void;
  close(): Promise<void>;
}

/** OpenAI's 401 quotes the key it got (masked); this one quotes it whole, to prove the provider never passes it on. */
function unauthorizedError(request: RecordedRequest): FakeError {
  return {
    message: `Incorrect API key provided: ${bearerToken(request.headers) ?? '(none)'}.`,
    type: 'invalid_request_error',
    code: 'invalid_api_key',
  };
}

/** Ready-made faults, as the markers name them. */
export const fakeBehaviours = {
  rateLimited: (
    retryAfter = '1',
    header: 'retry-after' | 'retry-after-ms' = 'retry-after',
  ): FakeBehaviour => ({
    type: 'status',
    status: 429,
    headers: { [header]: retryAfter },
    error: {
      message: 'Rate limit reached for requests. Please try again later.',
      type: 'requests',
      code: 'rate_limit_exceeded',
    },
  }),
  serverError: (status = 500): FakeBehaviour => ({
    type: 'status',
    status,
    error: {
      message: 'The server had an error while processing your request. Sorry about that!',
      type: 'server_error',
      code: null,
    },
  }),
  badRequest: (message = "Invalid value for 'temperature': must be between 0 and 2."): FakeBehaviour => ({
    type: 'status',
    status: 400,
    error: { message, type: 'invalid_request_error', param: 'temperature', code: 'invalid_value' },
  }),
  unauthorized: (): FakeBehaviour => ({ type: 'status', status: 401, error: unauthorizedError }),
  modelNotFound: (): FakeBehaviour => ({
    type: 'status',
    status: 404,
    error: (request) => ({
      message: `The model \`${String(request.body?.model)}\` does not exist or you do not have access to it.`,
      type: 'invalid_request_error',
      code: 'model_not_found',
    }),
  }),
  hang: (): FakeBehaviour => ({ type: 'hang' }),
  silent: (afterPieces = 0): FakeBehaviour => ({
    type: 'answer',
    pieces: ['one ', 'two ', 'three '],
    silentAfter: afterPieces,
  }),
  cut: (afterPieces = 2): FakeBehaviour => ({
    type: 'answer',
    pieces: ['one ', 'two ', 'three '],
    cutAfter: afterPieces,
  }),
  streamError: (afterPieces = 1, error?: FakeError): FakeBehaviour => ({
    type: 'answer',
    pieces: ['one ', 'two '],
    errorAfter: afterPieces,
    error: error ?? {
      message: 'The engine is currently overloaded, please try again later.',
      type: 'server_error',
      code: 'overloaded',
    },
  }),
  reasoning: (): FakeBehaviour => ({
    type: 'answer',
    reasoning: ['Let me ', 'think.'],
    pieces: ['The answer ', 'is 42.'],
  }),
} as const;

const markerPattern = /\[\[fake:([^\]]*)\]\]/;

/**
 * The behaviour a marker asks for: `[[fake:NAME key=value ...]]`. Names: answer, reasoning, rate_limit,
 * server_error, bad_request, unauthorized, model_not_found, hang, silent, cut, stream_error. Keys:
 * tokens, interval (ms between pieces), after (pieces before silent/cut/stream_error), retry_after
 * (seconds, for rate_limit), keepalive (a comment every N pieces), status (for server_error),
 * times (only the first N requests carrying this exact message get it; later ones fall through).
 */
export function markerBehaviour(
  text: string,
): { behaviour: FakeBehaviour; times: number | undefined } | undefined {
  const match = markerPattern.exec(text);
  if (match === null) return undefined;
  const words = (match[1] ?? '').trim().split(/\s+/);
  let name = 'answer';
  const values = new Map<string, number>();
  for (const word of words) {
    const equals = word.indexOf('=');
    if (equals < 0) name = word;
    else values.set(word.slice(0, equals), Number(word.slice(equals + 1)));
  }
  const after = values.get('after');
  let behaviour: FakeBehaviour;
  switch (name) {
    case 'rate_limit':
      behaviour = fakeBehaviours.rateLimited(String(values.get('retry_after') ?? 1));
      break;
    case 'server_error':
      behaviour = fakeBehaviours.serverError(values.get('status') ?? 500);
      break;
    case 'bad_request':
      behaviour = fakeBehaviours.badRequest();
      break;
    case 'unauthorized':
      behaviour = fakeBehaviours.unauthorized();
      break;
    case 'model_not_found':
      behaviour = fakeBehaviours.modelNotFound();
      break;
    case 'hang':
      behaviour = fakeBehaviours.hang();
      break;
    case 'silent':
      behaviour = fakeBehaviours.silent(after);
      break;
    case 'cut':
      behaviour = fakeBehaviours.cut(after);
      break;
    case 'stream_error':
      behaviour = fakeBehaviours.streamError(after);
      break;
    case 'reasoning':
      behaviour = fakeBehaviours.reasoning();
      break;
    default:
      behaviour = { type: 'answer' };
  }
  if (behaviour.type === 'answer') {
    const tokens = values.get('tokens');
    const interval = values.get('interval');
    const keepAlive = values.get('keepalive');
    if (tokens !== undefined) behaviour.tokens = tokens;
    if (interval !== undefined) behaviour.tokenIntervalMs = interval;
    if (keepAlive !== undefined) behaviour.keepAliveEvery = keepAlive;
  }
  return { behaviour, times: values.get('times') };
}

function now(): number {
  return performance.timeOrigin + performance.now();
}

function bearerToken(headers: IncomingMessage['headers']): string | undefined {
  const match = /^Bearer\s+(.+)$/i.exec(headers.authorization ?? '');
  return match?.[1];
}

function textOfContent(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part: unknown) =>
      typeof part === 'object' && part !== null && 'text' in part && typeof part.text === 'string'
        ? part.text
        : '',
    )
    .join(' ');
}

/** The text of the last user message of a chat request body. */
export function lastUserText(body: ChatRequestBody | undefined): string {
  const messages = Array.isArray(body?.messages) ? (body.messages as unknown[]) : [];
  for (let index = messages.length - 1; index >= 0; index--) {
    const message = messages[index];
    if (typeof message === 'object' && message !== null && 'role' in message && message.role === 'user') {
      return textOfContent('content' in message ? message.content : undefined);
    }
  }
  return '';
}

/** Word pieces whose concatenation is `text`: each word keeps the whitespace after it. */
function splitPieces(text: string): string[] {
  return text.split(/(?<=\s)(?=\S)/).filter((piece) => piece !== '');
}

/** The default answer: "Echo: <last user message, without its marker>", word by word. */
function echoPieces(body: ChatRequestBody | undefined): string[] {
  return splitPieces(`Echo: ${lastUserText(body).replace(markerPattern, '').trim()}`);
}

function roughPromptTokens(body: ChatRequestBody | undefined): number {
  const messages = Array.isArray(body?.messages) ? (body.messages as unknown[]) : [];
  let words = 0;
  for (const message of messages) {
    if (typeof message === 'object' && message !== null && 'content' in message)
      words += textOfContent(message.content).split(/\s+/).filter(Boolean).length;
  }
  return words + 3 * messages.length;
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    request.on('data', (part: Buffer) => parts.push(part));
    request.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    request.on('error', reject);
  });
}

export async function startFakeOpenAI(options: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  const models = options.models ?? ['fake-model', 'fake-reasoner'];
  const requests: RecordedRequest[] = [];
  const queue: FakeBehaviour[] = [];
  const markerUses = new Map<string, number>();
  let decide: ((request: RecordedRequest) => FakeBehaviour | undefined) | undefined;
  const sockets = new Set<Socket>();
  /** Stops of the streams still writing: close() must not leave a timer behind. */
  const stops = new Set<() => void>();

  function choose(record: RecordedRequest): FakeBehaviour {
    const text = lastUserText(record.body);
    const marked = markerBehaviour(text);
    if (marked !== undefined) {
      const uses = (markerUses.get(text) ?? 0) + 1;
      markerUses.set(text, uses);
      if (marked.times === undefined || uses <= marked.times) return marked.behaviour;
    }
    const queued = queue.shift();
    if (queued !== undefined) return queued;
    const scripted = decide?.(record);
    if (scripted !== undefined) return scripted;
    return { type: 'answer' };
  }

  function sendError(
    response: ServerResponse,
    status: number,
    error: FakeError,
    headers: Record<string, string> = {},
  ) {
    const body = JSON.stringify({ error: { param: null, code: null, ...error } });
    response.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      ...headers,
    });
    response.end(body);
  }

  function streamAnswer(record: RecordedRequest, response: ServerResponse, answer: FakeAnswer): void {
    const body = record.body;
    const includeUsage = body?.stream_options?.include_usage === true;
    const model = answer.model ?? (typeof body?.model === 'string' ? body.model : 'fake-model');
    const basePieces = answer.pieces ?? (answer.tokens === undefined ? echoPieces(body) : []);
    const contentCount = answer.tokens ?? basePieces.length;
    const reasoning = answer.reasoning ?? [];
    const totalPieces = reasoning.length + contentCount;
    const interval = answer.tokenIntervalMs ?? 0;
    const queuedKeepAlives = answer.queuedKeepAlives ?? 0;
    const created = Math.floor(Date.now() / 1000);
    // Each chunk is a template around the delta: the per-chunk cost is one JSON.stringify of the piece.
    const usageField = includeUsage ? ',"usage":null' : '';
    const head = `data: {"id":"chatcmpl-fake${record.index}","object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(model)},"system_fingerprint":"fp_fake","choices":[{"index":0,"delta":`;
    const chunk = (delta: string, finishReason: string | null = null) =>
      `${head}${delta},"logprobs":null,"finish_reason":${finishReason === null ? 'null' : JSON.stringify(finishReason)}}]${usageField}}\n\n`;
    const pieceAt = (index: number) =>
      answer.pieces !== undefined || answer.tokens === undefined
        ? (basePieces[index % Math.max(1, basePieces.length)] ?? '')
        : `tok${index + 1} `;

    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-request-id': `req_fake${record.index}`,
    });
    response.flushHeaders();

    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    const stop = () => {
      stopped = true;
      clearTimeout(timer);
      stops.delete(stop);
    };
    stops.add(stop);
    response.on('close', stop);

    /** Applies the fault due after `emitted` pieces; true when the stream must not go on. */
    const fault = (emitted: number): boolean => {
      if (answer.cutAfter === emitted) {
        stop();
        response.socket?.destroy();
        return true;
      }
      if (answer.silentAfter === emitted) {
        stop();
        // Held open until the client gives up or close() destroys the socket.
        return true;
      }
      if (answer.errorAfter === emitted) {
        stop();
        const error = answer.error ?? {
          message: 'The server had an error.',
          type: 'server_error',
          code: null,
        };
        response.end(`data: ${JSON.stringify({ error })}\n\n`);
        return true;
      }
      return false;
    };
    if (fault(0)) return;
    response.write(
      chunk(
        reasoning.length > 0
          ? '{"role":"assistant","content":null,"reasoning_content":""}'
          : '{"role":"assistant","content":"","refusal":null}',
      ),
    );

    let step = 0; // queued keep-alives first, then pieces
    const startedAt = performance.now();
    const finish = () => {
      stop();
      let tail = '';
      if (answer.finishReason !== null) tail += chunk('{}', answer.finishReason ?? 'stop');
      if (includeUsage && answer.usage !== false) {
        const usage = answer.usage ?? {
          prompt_tokens: roughPromptTokens(body),
          completion_tokens: totalPieces,
        };
        tail += `data: {"id":"chatcmpl-fake${record.index}","object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(model)},"system_fingerprint":"fp_fake","choices":[],"usage":${JSON.stringify({ ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens })}}\n\n`;
      }
      response.end(`${tail}data: [DONE]\n\n`);
    };
    /** Writes the next step (a queued keep-alive or a piece); false once the stream is over. */
    const writeStep = (): boolean => {
      if (stopped) return false;
      if (step < queuedKeepAlives) {
        response.write(': keep-alive\n\n');
      } else {
        const pieceIndex = step - queuedKeepAlives;
        const every = answer.keepAliveEvery ?? 0;
        if (every > 0 && (pieceIndex + 1) % every === 0) response.write(': keep-alive\n\n');
        if (pieceIndex < reasoning.length) {
          response.write(
            chunk(`{"content":null,"reasoning_content":${JSON.stringify(reasoning[pieceIndex] ?? '')}}`),
          );
        } else {
          const contentIndex = pieceIndex - reasoning.length;
          const piece = pieceAt(contentIndex);
          const content = JSON.stringify(piece);
          response.write(
            chunk(
              reasoning.length > 0
                ? `{"content":${content},"reasoning_content":null}`
                : `{"content":${content}}`,
            ),
          );
        }
        if (fault(pieceIndex + 1)) return false;
      }
      step++;
      if (step < queuedKeepAlives + totalPieces) return true;
      finish();
      return false;
    };
    // Steps are due at fixed times from the start, so a late timer does not slow the rate down.
    const scheduleNext = () => {
      const due = startedAt + (step + 1) * interval;
      timer = setTimeout(onTimer, Math.max(0, due - performance.now()));
    };
    const onTimer = () => {
      if (writeStep()) scheduleNext();
    };
    if (queuedKeepAlives + totalPieces === 0) finish();
    else if (interval > 0) scheduleNext();
    else while (writeStep());
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const receivedAt = now();
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    const raw = request.method === 'POST' ? await readBody(request) : '';
    let body: ChatRequestBody | undefined;
    try {
      const parsed: unknown = raw === '' ? undefined : JSON.parse(raw);
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
        body = parsed as ChatRequestBody;
    } catch {
      body = undefined;
    }
    let markClosed: (value: { at: number; early: boolean }) => void = () => {};
    const closed = new Promise<{ at: number; early: boolean }>((resolve) => {
      markClosed = resolve;
    });
    response.on('close', () => markClosed({ at: now(), early: !response.writableFinished }));
    const record: RecordedRequest = {
      index: requests.length,
      method: request.method ?? 'GET',
      path,
      headers: request.headers,
      body,
      receivedAt,
      behaviour: undefined,
      closed,
    };
    requests.push(record);

    const route = path.replace(/^\/v1(?=\/)/, '');
    if (options.apiKey !== undefined && bearerToken(request.headers) !== options.apiKey) {
      return sendError(response, 401, unauthorizedError(record));
    }
    if (request.method === 'GET' && route === '/models') {
      const list = JSON.stringify({
        object: 'list',
        data: models.map((id) => ({ id, object: 'model', created: 1_700_000_000, owned_by: 'fake' })),
      });
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(list);
      return;
    }
    if (request.method !== 'POST' || route !== '/chat/completions') {
      return sendError(response, 404, {
        message: `Unknown request URL: ${request.method} ${path}.`,
        type: 'invalid_request_error',
      });
    }
    if (body === undefined) {
      return sendError(response, 400, {
        message: 'We could not parse the JSON body of your request.',
        type: 'invalid_request_error',
      });
    }

    const behaviour = choose(record);
    record.behaviour = behaviour;
    if (behaviour.type === 'hang') return;
    if (behaviour.type === 'status') {
      if (behaviour.body !== undefined) {
        response.writeHead(behaviour.status, { 'content-type': 'application/json', ...behaviour.headers });
        response.end(behaviour.body);
        return;
      }
      const error =
        typeof behaviour.error === 'function'
          ? behaviour.error(record)
          : (behaviour.error ?? { message: `HTTP ${behaviour.status}`, type: 'error' });
      return sendError(response, behaviour.status, error, behaviour.headers);
    }
    if (body.stream !== true) {
      const text = (behaviour.pieces ?? echoPieces(body)).join('');
      const completion = JSON.stringify({
        id: `chatcmpl-fake${record.index}`,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: behaviour.model ?? body.model,
        choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
        usage: {
          prompt_tokens: roughPromptTokens(body),
          completion_tokens: 1,
          total_tokens: roughPromptTokens(body) + 1,
        },
      });
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(completion);
      return;
    }
    streamAnswer(record, response, behaviour);
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) sendError(response, 500, { message: String(error), type: 'server_error' });
      else response.destroy();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    enqueue: (...behaviours) => {
      queue.push(...behaviours);
    },
    script: (next) => {
      decide = next;
    },
    close: async () => {
      for (const stop of [...stops]) stop();
      const closing = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closing;
    },
  };
}
