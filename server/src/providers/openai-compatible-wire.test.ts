// The provider's transport against a bare HTTP server writing exact bytes: connection reuse, events cut anywhere,
// and answers the fake model server does not send (bad JSON, redirects, bodies that are not JSON).
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { Pool } from 'undici';
import { createOpenAICompatibleProvider } from './openai-compatible.ts';
import { ProviderError, type ProviderEvent, type ProviderRequest } from './types.ts';

const apiKey = 'sk-wire-secret-key-0123456789';
const timeouts = { connectMs: 5000, idleMs: 5000, totalMs: 10_000 };

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

let handler: Handler = () => {};
let connections = 0;
let baseURL = '';
const server = createServer((request, response) => {
  request.resume();
  request.on('end', () => handler(request, response));
});
server.on('connection', () => {
  connections++;
});

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function request(): ProviderRequest {
  return {
    model: 'wire-model',
    messages: [{ role: 'user', content: 'hi' }],
    signal: new AbortController().signal,
  };
}

async function collect(events: AsyncIterable<ProviderEvent>): Promise<ProviderEvent[]> {
  const all: ProviderEvent[] = [];
  for await (const event of events) all.push(event);
  return all;
}

async function failure(events: AsyncIterable<ProviderEvent>): Promise<ProviderError> {
  try {
    await collect(events);
  } catch (error) {
    assert.ok(error instanceof ProviderError, `expected a ProviderError, got ${String(error)}`);
    return error;
  }
  assert.fail('the stream did not fail');
}

function chunk(delta: object, finishReason: string | null = null): string {
  return `data: ${JSON.stringify({ model: 'wire-model', choices: [{ index: 0, delta, finish_reason: finishReason }] })}\n\n`;
}

/** Answers with these pieces of bytes, each written on its own after a short pause. */
function writes(pieces: (string | Buffer)[], status = 200, headers: Record<string, string> = {}): Handler {
  return (_request, response) => {
    response.writeHead(status, { 'content-type': 'text/event-stream', ...headers });
    let index = 0;
    const next = () => {
      const piece = pieces[index++];
      if (piece === undefined) {
        response.end();
        return;
      }
      response.write(piece);
      setTimeout(next, 2);
    };
    next();
  };
}

test('calls of one provider reuse its keep-alive connections', async () => {
  handler = writes([chunk({ content: 'ok' }, 'stop'), 'data: [DONE]\n\n']);
  const provider = createOpenAICompatibleProvider({ id: 'wire', baseURL, apiKey, timeouts });
  const before = connections;
  for (let call = 0; call < 20; call++) {
    const events = await collect(provider.stream(request()));
    assert.deepEqual(events[0], { type: 'delta', text: 'ok' });
  }
  // Two, not one: undici's pool marks a connection free a tick after its response ended, so the second call,
  // made at once, opens another; from then on the two take turns.
  assert.ok(connections - before <= 2, `${connections - before} connections for 20 calls`);
});

test('an injected dispatcher carries the calls', async () => {
  handler = writes([chunk({ content: 'via pool' }, 'stop'), 'data: [DONE]\n\n']);
  const pool = new Pool(new URL(baseURL).origin);
  let dispatched = 0;
  const dispatch = pool.dispatch.bind(pool);
  pool.dispatch = (options, handlers) => {
    dispatched++;
    return dispatch(options, handlers);
  };
  const provider = createOpenAICompatibleProvider({
    id: 'wire',
    baseURL,
    apiKey,
    timeouts,
    dispatcher: pool,
  });
  const events = await collect(provider.stream(request()));
  assert.deepEqual(events[0], { type: 'delta', text: 'via pool' });
  assert.equal(dispatched, 1);
  await pool.close();
});

test('events cut at any byte, a character split across reads, CRLF lines: the same deltas', async () => {
  const body = Buffer.from(
    `${chunk({ content: 'héllo ' })}: keep-alive\r\n\r\n${chunk({ content: '世界' }).replace(/\n/g, '\r\n')}${chunk({}, 'stop')}data: [DONE]\n\n`,
  );
  // Three bytes at a time: every multi-byte character and every line end is split somewhere.
  const pieces: Buffer[] = [];
  for (let offset = 0; offset < body.length; offset += 3) pieces.push(body.subarray(offset, offset + 3));
  handler = writes(pieces);
  const provider = createOpenAICompatibleProvider({ id: 'wire', baseURL, apiKey, timeouts });
  const events = await collect(provider.stream(request()));
  assert.deepEqual(events, [
    { type: 'delta', text: 'héllo ' },
    { type: 'delta', text: '世界' },
    { type: 'finish', finishReason: 'stop', model: 'wire-model' },
  ]);
});

test('what follows [DONE] is ignored; a cut after the finish_reason loses only the usage', async () => {
  handler = writes([chunk({ content: 'a' }, 'stop'), 'data: [DONE]\n\n', chunk({ content: 'late' })]);
  const provider = createOpenAICompatibleProvider({ id: 'wire', baseURL, apiKey, timeouts });
  assert.deepEqual(await collect(provider.stream(request())), [
    { type: 'delta', text: 'a' },
    { type: 'finish', finishReason: 'stop', model: 'wire-model' },
  ]);
  handler = (_request, response) => {
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    response.write(chunk({ content: 'whole' }, 'stop'));
    setTimeout(() => response.socket?.destroy(), 10);
  };
  const events = await collect(provider.stream(request()));
  assert.deepEqual(events.at(-1), { type: 'finish', finishReason: 'stop', model: 'wire-model' });
});

test('malformed JSON in an event is a retryable provider error', async () => {
  handler = writes([chunk({ content: 'a' }), 'data: {"choices": [\n\n']);
  const provider = createOpenAICompatibleProvider({ id: 'wire', baseURL, apiKey, timeouts });
  const error = await failure(provider.stream(request()));
  assert.equal(error.code, 'provider_error');
  assert.equal(error.retryable, true);
  assert.match(error.message, /malformed answer stream/);
});

test('an error body that is not JSON is quoted; an empty one says so', async () => {
  const provider = createOpenAICompatibleProvider({ id: 'wire', baseURL, apiKey, timeouts });
  handler = writes(['<html>Bad gateway</html>'], 502, { 'content-type': 'text/html' });
  const html = await failure(provider.stream(request()));
  assert.equal(html.code, 'provider_error');
  assert.equal(html.retryable, true);
  assert.equal(html.status, 502);
  assert.match(html.message, /failed \(HTTP 502\): 502 <html>Bad gateway<\/html>/);
  handler = writes([], 500);
  const empty = await failure(provider.stream(request()));
  assert.match(empty.message, /failed \(HTTP 500\): 500 status code \(no body\)/);
});

test("Ollama's string error is read as the message: model_not_found", async () => {
  handler = writes([JSON.stringify({ error: "model 'llama9' not found, try pulling it first" })], 400);
  const provider = createOpenAICompatibleProvider({ id: 'wire', baseURL, timeouts });
  const error = await failure(provider.stream(request()));
  assert.equal(error.code, 'model_not_found');
  assert.equal(error.retryable, false);
});

test('a redirect is not followed: a configuration error that names where it points, key scrubbed', async () => {
  handler = writes([], 308, { location: `https://elsewhere.example/v1/chat/completions?key=${apiKey}` });
  const provider = createOpenAICompatibleProvider({ id: 'wire', baseURL, apiKey, timeouts });
  const error = await failure(provider.stream(request()));
  assert.equal(error.code, 'provider_error');
  assert.equal(error.retryable, false);
  assert.equal(error.status, 308);
  assert.match(error.message, /redirected the request \(HTTP 308 to https:\/\/elsewhere\.example\//);
  assert.ok(!error.message.includes(apiKey));
});

test('a server that closes the connection without answering cannot be connected to, retryably', async () => {
  handler = (request) => request.socket.destroy();
  const provider = createOpenAICompatibleProvider({ id: 'wire', baseURL, apiKey, timeouts });
  const error = await failure(provider.stream(request()));
  assert.equal(error.code, 'provider_error');
  assert.equal(error.retryable, true);
  assert.match(error.message, /Could not connect to the model provider \(wire\)/);
});
