// The server's test harness: the real system in this process on a key prefix of its own, and a protocol client.
// Child processes, Redis, prefixes and the fake model server are @chrome-plus/testkit's.
import { parseServerFrame, type ServerFrame } from '@chrome-plus/protocol';
import { REDIS_URL } from '@chrome-plus/testkit';
import { pino } from 'pino';
import { WebSocket } from 'ws';
import { type App, type Role, startApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';

export function testEnv(prefix: string, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    HOST: '127.0.0.1',
    PORT: '0',
    REDIS_URL,
    KEY_PREFIX: prefix,
    LOG_LEVEL: 'silent',
    WORKER_LOCK_MS: '1500',
    RATE_LIMIT_PER_MINUTE: '1000',
    MAX_CONCURRENT_GENERATIONS: '100',
    MAX_FRAMES_PER_SECOND: '500',
    PROVIDER_RETRY_BASE_MS: '20',
    PROVIDER_RETRY_MAX_MS: '200',
    PROVIDER_CONNECT_TIMEOUT_MS: '2000',
    PROVIDER_IDLE_TIMEOUT_MS: '2000',
    PROVIDER_TOTAL_TIMEOUT_MS: '20000',
    SHUTDOWN_GRACE_MS: '2000',
    ...overrides,
  };
}

/** Starts a role in this process. */
export async function startTestApp(role: Role, env: Record<string, string>): Promise<App & { url: string }> {
  const config = loadConfig(env);
  const app = await startApp({
    role,
    config,
    logger: pino({ level: 'silent' }),
    demoDelayMs: 0,
    sweepIntervalMs: 200,
  });
  const port = app.gateway?.port ?? 0;
  return Object.assign(app, { url: `ws://127.0.0.1:${port}/v1/ws` });
}

/** A protocol client that records every frame and lets a test wait for the ones it expects. */
export class TestClient {
  readonly frames: ServerFrame[] = [];
  readonly socket: WebSocket;
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: (() => void)[] = [];

  private constructor(socket: WebSocket) {
    this.socket = socket;
    this.closed = new Promise((resolve) =>
      socket.once('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        this.wake();
      }),
    );
    socket.on('message', (data) => {
      const parsed = parseServerFrame(data.toString());
      if (parsed.ok === true) this.frames.push(parsed.frame);
      else throw new Error(`the gateway sent a frame that breaks the protocol: ${data.toString()}`);
      this.wake();
    });
  }

  static async connect(
    url: string,
    options: { origin?: string; headers?: Record<string, string> } = {},
  ): Promise<TestClient> {
    const socket = new WebSocket(url, {
      ...(options.origin !== undefined && { origin: options.origin }),
      ...(options.headers !== undefined && { headers: options.headers }),
    });
    socket.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('unexpected-response', (_request, response) =>
        reject(new Error(`upgrade refused: ${response.statusCode}`)),
      );
      socket.once('error', reject);
    });
    return new TestClient(socket);
  }

  /** Connects and says hello; resolves after the welcome. */
  static async open(url: string, token?: string): Promise<TestClient> {
    const client = await TestClient.connect(url);
    client.send({ type: 'hello', ...(token !== undefined && { token }) });
    await client.next((frame) => frame.type === 'welcome');
    return client;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter();
  }

  send(frame: unknown): void {
    this.socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Waits for the first frame (from `from` on) matching `match`. */
  async next<T extends ServerFrame>(
    match: (frame: ServerFrame) => frame is T,
    timeoutMs?: number,
    from?: number,
  ): Promise<T>;
  async next(match: (frame: ServerFrame) => boolean, timeoutMs?: number, from?: number): Promise<ServerFrame>;
  async next(match: (frame: ServerFrame) => boolean, timeoutMs = 10_000, from = 0): Promise<ServerFrame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.slice(from).find(match);
      if (found !== undefined) return found;
      if (this.socket.readyState === WebSocket.CLOSED)
        throw new Error(`socket closed while waiting; frames: ${JSON.stringify(this.frames.slice(-5))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; last frames: ${JSON.stringify(this.frames.slice(-5))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits for the terminal event of `id` and returns every event of it received so far. */
  async untilEnd(id: string, timeoutMs = 15_000): Promise<ServerFrame[]> {
    await this.next((frame) => 'id' in frame && frame.id === id && isTerminal(frame), timeoutMs);
    return this.events(id);
  }

  events(id: string): ServerFrame[] {
    return this.frames.filter(
      (frame) => 'id' in frame && frame.id === id && 'seq' in frame && frame.seq !== undefined,
    );
  }

  close(): void {
    this.socket.close();
  }
}

export function isTerminal(frame: ServerFrame): boolean {
  return (
    frame.type === 'chat.done' ||
    frame.type === 'chat.cancelled' ||
    (frame.type === 'chat.error' && frame.seq !== undefined)
  );
}

/** The answer the events spell: the text since the last restart. */
export function answerOf(events: ServerFrame[]): string {
  let text = '';
  for (const event of events) {
    if (event.type === 'chat.restart') text = '';
    if (event.type === 'chat.delta' && event.text) text += event.text;
  }
  return text;
}

/** Checks guarantee 1 and 2 on one request's events: seq 1..n without gap or repeat, one terminal event, last. */
export function assertWellFormed(events: ServerFrame[], from = 1): void {
  events.forEach((event, index) => {
    const seq = (event as { seq: number }).seq;
    if (seq !== from + index)
      throw new Error(`seq ${seq} at position ${index}, expected ${from + index}: ${JSON.stringify(events)}`);
  });
  const terminals = events.filter(isTerminal);
  if (terminals.length !== 1 || !isTerminal(events[events.length - 1]!)) {
    throw new Error(`expected exactly one terminal event, last: ${JSON.stringify(events)}`);
  }
}

export function chatSend(id: string, content: string, extra: Record<string, unknown> = {}) {
  return { type: 'chat.send', id, messages: [{ role: 'user', content }], ...extra };
}

/** POSTs one file to a gateway's /v1/files (`gatewayUrl`: its ws:// URL, as startTestApp gives it). */
export async function uploadFile(
  gatewayUrl: string,
  token: string,
  name: string,
  type: string,
  data: Buffer | string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const form = new FormData();
  form.append('file', new Blob([data], { type }), name);
  const response = await fetch(gatewayUrl.replace('ws://', 'http://').replace('/v1/ws', '/v1/files'), {
    method: 'POST',
    body: form,
    headers: { authorization: `Bearer ${token}` },
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}
