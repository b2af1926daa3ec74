// The benchmark's model server: a real HTTP server speaking OpenAI's streaming Chat Completions, at a set token rate,
// whose every token carries its emit time on the machine's monotonic clock, so a client can tell each token's latency.
//
// The last user message chooses the answer: `[[bench tokens=N interval=MS]]` (defaults 20 tokens, 50 ms apart).
// The first token goes out at once; the k-th at k × interval after the request arrived (interval 0: all at once).
// Stamped tokens read `@<emit µs> `; the first one starts with `r<request received µs> `. With `kind=markdown` the
// pieces are a markdown document instead (for the rendering benchmark), without stamps.
// Run as its own process: `node --import tsx bench/src/model-server.ts`; it prints {"ready":true,"port":N}.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { nowMicros } from './clock.ts';
import { markdownPieces } from './markdown-tokens.ts';

const markerPattern = /\[\[bench([^\]]*)\]\]/;

interface AnswerPlan {
  tokens: number;
  intervalMs: number;
  markdown: boolean;
}

function planOf(text: string): AnswerPlan {
  const plan: AnswerPlan = { tokens: 20, intervalMs: 50, markdown: false };
  const match = markerPattern.exec(text);
  for (const word of (match?.[1] ?? '').trim().split(/\s+/)) {
    const [name, value] = word.split('=');
    if (name === 'tokens') plan.tokens = Math.max(1, Math.min(1_000_000, Number(value) || 1));
    if (name === 'interval') plan.intervalMs = Math.max(0, Math.min(60_000, Number(value) || 0));
    if (name === 'kind') plan.markdown = value === 'markdown';
  }
  return plan;
}

function lastUserText(body: unknown): string {
  if (typeof body !== 'object' || body === null || !('messages' in body) || !Array.isArray(body.messages))
    return '';
  for (let index = body.messages.length - 1; index >= 0; index--) {
    const message: unknown = body.messages[index];
    if (typeof message === 'object' && message !== null && 'role' in message && message.role === 'user') {
      return 'content' in message && typeof message.content === 'string' ? message.content : '';
    }
  }
  return '';
}

let markdownCache: string[] = [];
let streamsOpen = 0;
let tokensSent = 0;

function stream(response: ServerResponse, receivedAt: number, plan: AnswerPlan, index: number): void {
  const head = `data: {"id":"chatcmpl-bench${index}","object":"chat.completion.chunk","created":${Math.floor(Date.now() / 1000)},"model":"bench-model","choices":[{"index":0,"delta":`;
  const chunk = (delta: string, finishReason: string | null) =>
    `${head}${delta},"finish_reason":${finishReason === null ? 'null' : `"${finishReason}"`}}]}\n\n`;
  if (plan.markdown && markdownCache.length < plan.tokens) markdownCache = markdownPieces(plan.tokens);
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  response.write(chunk('{"role":"assistant","content":""}', null));
  streamsOpen++;
  const startedAt = performance.now();
  let sent = 0;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  response.on('close', () => {
    if (!closed) streamsOpen--;
    closed = true;
    clearTimeout(timer);
  });

  const piece = (): string => {
    if (plan.markdown) return markdownCache[sent] ?? '';
    const stamp = `@${nowMicros()} `;
    return sent === 0 ? `r${receivedAt} ${stamp}` : stamp;
  };
  const finish = () => {
    closed = true;
    streamsOpen--;
    response.end(
      `${chunk('{}', 'stop')}data: {"id":"chatcmpl-bench${index}","object":"chat.completion.chunk","created":0,"model":"bench-model","choices":[],"usage":{"prompt_tokens":10,"completion_tokens":${plan.tokens},"total_tokens":${plan.tokens + 10}}}\n\ndata: [DONE]\n\n`,
    );
  };
  const emit = () => {
    if (closed) return;
    if (plan.intervalMs === 0) {
      // All at once, in one write: the saturation benchmark measures the system, not this server.
      let text = '';
      while (sent < plan.tokens) {
        text += chunk(`{"content":${JSON.stringify(piece())}}`, null);
        sent++;
      }
      tokensSent += plan.tokens;
      response.write(text);
      finish();
      return;
    }
    response.write(chunk(`{"content":${JSON.stringify(piece())}}`, null));
    sent++;
    tokensSent++;
    if (sent >= plan.tokens) return finish();
    // Tokens are due at fixed times from the start: a late timer does not slow the rate down.
    const due = startedAt + sent * plan.intervalMs;
    timer = setTimeout(emit, Math.max(0, due - performance.now()));
  };
  emit();
}

let requestCount = 0;

function handle(request: IncomingMessage, response: ServerResponse): void {
  const receivedAt = nowMicros();
  if (request.method === 'GET' && request.url?.endsWith('/models')) {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(
      '{"object":"list","data":[{"id":"bench-model","object":"model","created":0,"owned_by":"bench"}]}',
    );
    return;
  }
  if (request.method === 'GET' && request.url === '/stats') {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ requests: requestCount, streamsOpen, tokensSent }));
    return;
  }
  const parts: Buffer[] = [];
  request.on('data', (part: Buffer) => parts.push(part));
  request.on('end', () => {
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(parts).toString('utf8'));
    } catch {
      response.writeHead(400, { 'content-type': 'application/json' });
      response.end('{"error":{"message":"bad JSON","type":"invalid_request_error"}}');
      return;
    }
    stream(response, receivedAt, planOf(lastUserText(body)), requestCount++);
  });
}

const server = createServer(handle);
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ ready: true, port })}\n`);
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
