// A real HTTP server answering like a SearXNG instance's JSON API (GET /search?q=...&format=json), faults included.
//
// Which behaviour a search gets, first match wins: the queue (`fake.enqueue(behaviour, ...)`, one per request, in
// arrival order), the script (`fake.script((request) => behaviour | undefined)`), else the default: three results
// made from the query, each with a title, an https URL and a snippet that names the query.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One result as SearXNG lists it (it sends more fields; these are the ones a client reads). */
export interface FakeSearchResult {
  url: string;
  title?: string;
  content?: string;
  [field: string]: unknown;
}

export type FakeSearchBehaviour =
  /** SearXNG's JSON with these results (default: three made from the query), after `delayMs`. */
  | { type: 'results'; results?: FakeSearchResult[]; delayMs?: number }
  /** An HTTP status with a short body (SearXNG answers 403 when `json` is not among its formats). */
  | { type: 'status'; status: number; body?: string }
  /** A 200 whose body is this text verbatim (not JSON, or JSON of another shape). */
  | { type: 'raw'; body: string; contentType?: string }
  /** A 200 whose body is JSON-looking text of `bytes` bytes, written in 64 KB pieces (a runaway answer). */
  | { type: 'huge'; bytes: number }
  /** Never answer: no headers, the connection held open until the client or close() ends it. */
  | { type: 'hang' };

export interface FakeSearchRequest {
  index: number;
  path: string;
  /** The `q` parameter, as the server decoded it. */
  query: string | null;
  format: string | null;
  headers: IncomingMessage['headers'];
  behaviour: FakeSearchBehaviour;
  /** When the response ended or the connection closed; `early`: before the response was complete. */
  closed: Promise<{ early: boolean }>;
}

export interface FakeSearch {
  /** The base URL, as SEARXNG_URL takes it (no trailing slash). */
  url: string;
  requests: FakeSearchRequest[];
  enqueue(...behaviours: FakeSearchBehaviour[]): void;
  script(decide: ((request: FakeSearchRequest) => FakeSearchBehaviour | undefined) | undefined): void;
  close(): Promise<void>;
}

/** The default results: three, each naming the query, at https://example.com/result-N. */
export function fakeResultsFor(query: string): FakeSearchResult[] {
  return [1, 2, 3].map((n) => ({
    url: `https://example.com/result-${n}?q=${encodeURIComponent(query)}`,
    title: `Result ${n} about ${query}`,
    content: `Snippet ${n}: what the web says about ${query}.`,
    engine: 'fake',
  }));
}

export async function startFakeSearch(): Promise<FakeSearch> {
  const requests: FakeSearchRequest[] = [];
  const queue: FakeSearchBehaviour[] = [];
  let decide: ((request: FakeSearchRequest) => FakeSearchBehaviour | undefined) | undefined;
  const sockets = new Set<Socket>();
  const timers = new Set<ReturnType<typeof setTimeout>>();

  function answer(request: FakeSearchRequest, response: ServerResponse): void {
    const { behaviour } = request;
    switch (behaviour.type) {
      case 'hang':
        return;
      case 'status':
        response.writeHead(behaviour.status, { 'content-type': 'text/plain' });
        response.end(behaviour.body ?? `status ${behaviour.status}`);
        return;
      case 'raw':
        response.writeHead(200, { 'content-type': behaviour.contentType ?? 'application/json' });
        response.end(behaviour.body);
        return;
      case 'huge': {
        response.writeHead(200, { 'content-type': 'application/json' });
        const piece = Buffer.alloc(65_536, 'a');
        let left = behaviour.bytes;
        response.write('{"results":[],"padding":"');
        const pump = () => {
          while (left > 0 && !response.destroyed) {
            const size = Math.min(left, piece.length);
            left -= size;
            if (!response.write(piece.subarray(0, size))) return void response.once('drain', pump);
          }
          if (!response.destroyed) response.end('"}');
        };
        pump();
        return;
      }
      case 'results': {
        const send = () => {
          timers.delete(timer);
          const query = request.query ?? '';
          const results = behaviour.results ?? fakeResultsFor(query);
          response.writeHead(200, { 'content-type': 'application/json' });
          response.end(
            JSON.stringify({
              query,
              number_of_results: results.length,
              results,
              answers: [],
              suggestions: [],
            }),
          );
        };
        const timer = setTimeout(send, behaviour.delayMs ?? 0);
        timers.add(timer);
      }
    }
  }

  const server = createServer((incoming, response) => {
    const url = new URL(incoming.url ?? '/', 'http://fake-search');
    if (incoming.method !== 'GET' || url.pathname !== '/search') {
      response.writeHead(404).end('not found');
      return;
    }
    const partial = {
      index: requests.length,
      path: `${url.pathname}${url.search}`,
      query: url.searchParams.get('q'),
      format: url.searchParams.get('format'),
      headers: incoming.headers,
      closed: new Promise<{ early: boolean }>((resolve) =>
        response.once('close', () => resolve({ early: !response.writableFinished })),
      ),
    };
    const behaviour: FakeSearchBehaviour = queue.shift() ??
      decide?.({ ...partial, behaviour: { type: 'results' } }) ?? { type: 'results' };
    const request: FakeSearchRequest = { ...partial, behaviour };
    requests.push(request);
    answer(request, response);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    enqueue: (...behaviours) => queue.push(...behaviours),
    script: (next) => {
      decide = next;
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
