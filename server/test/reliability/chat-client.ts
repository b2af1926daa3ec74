// The extension's own client (@chrome-plus/client) under faults, instrumented: it reconnects (to the next gateway)
// when its socket dies and resumes every unfinished request from its last seq, while every frame is recorded at the
// socket, before the client drops replays or heals gaps, so that a scenario can count requests lost, duplicated or
// left hanging exactly as the gateway sent them.
import { type ConnectionStatus, ChatClient as SharedClient, socketOpener } from '@chrome-plus/client';
import { type ChatSendFrame, parseServerFrame, type ServerFrame } from '@chrome-plus/protocol';
import { WebSocket } from 'ws';
import { answerOf } from '../harness.ts';

/** One request as this client saw it. */
export interface Tracked {
  id: string;
  content: string;
  model: string | undefined;
  /** The answer the model must have given, when the scenario knows it. */
  expected: string | undefined;
  sentAt: number;
  acceptedAt: number | undefined;
  firstDeltaAt: number | undefined;
  endedAt: number | undefined;
  /** The last seq received. */
  last: number;
  /** The events received, in order, each seq once. */
  events: ServerFrame[];
  /** Events received again (seq at or below the last one), or after the terminal event. */
  duplicates: number;
  /** Times a seq skipped ahead. */
  gaps: number;
  terminals: number;
  /** A `chat.error` without seq: the refusal of a frame about this id. */
  refusal: { code: string; message: string; retryAfterMs?: number } | undefined;
  /** Refusals that came after the request was accepted (a resume answered not_found, say). */
  lateRefusals: number;
}

export interface ChatClientOptions {
  /** The gateways to use; called at every (re)connection, which takes the next one in turn. */
  urls: () => string[];
  token?: string;
  /** Reconnect and resume when the socket closes (default true). */
  reconnect?: boolean;
  /** Give up reconnecting after this many attempts in a row. */
  maxReconnectAttempts?: number;
  origin?: string;
  /** Which of `urls()` to try first (then the next ones in turn). */
  firstUrl?: number;
  /** Strings that must never arrive in a frame (keys, tokens): each arrival is recorded in `leaks`. */
  secrets?: readonly string[];
}

const terminalTypes = new Set(['chat.done', 'chat.cancelled']);

function isTerminalFrame(frame: ServerFrame): boolean {
  return terminalTypes.has(frame.type) || (frame.type === 'chat.error' && frame.seq !== undefined);
}

/** The close codes after which a welcomed client stays away: a refused token, a flood. */
const finalCloseCodes = new Set([4401, 1008]);

export class ChatClient {
  readonly requests = new Map<string, Tracked>();
  /** Close codes this client saw, in order. */
  readonly closeCodes: number[] = [];
  /** Frames that broke the protocol (not parseable as a server frame). */
  readonly violations: string[] = [];
  /** Connection-level `error` frames received. */
  readonly errors: { code: string; retryAfterMs?: number }[] = [];
  /** Secrets seen in frames (must stay empty). */
  readonly leaks: string[] = [];
  reconnects = 0;
  framesReceived = 0;
  private readonly client: SharedClient;
  /** The socket of the current connection, welcomed or not. */
  private socket: WebSocket | undefined;
  private welcomed = false;
  private turn: number;
  private failedAttempts = 0;
  private connectWaiters: { resolve: () => void; reject: (error: Error) => void }[] = [];
  private pings = new Map<number, (at: number) => void>();
  private pingCounter = 0;
  private waiters: (() => void)[] = [];
  private readonly options: ChatClientOptions;

  constructor(options: ChatClientOptions) {
    this.options = options;
    this.turn = options.firstUrl ?? 0;
    const owner = this;
    // ws with this client's Origin and handshake timeout, keeping hold of each socket (to cut its TCP connection).
    class InstrumentedWebSocket extends WebSocket {
      constructor(url: string) {
        super(url, {
          ...(options.origin !== undefined && { origin: options.origin }),
          handshakeTimeout: 5_000,
        });
        owner.socket = this;
        owner.welcomed = false;
      }
    }
    const open = socketOpener(InstrumentedWebSocket);
    this.client = new SharedClient({
      url: '',
      ...(options.token !== undefined && { token: options.token }),
      clientName: 'reliability',
      // Each attempt takes the next gateway in turn, whatever the connection's own URL.
      openSocket: (_url, handlers) =>
        open(this.nextUrl(), {
          open: handlers.open,
          // Every frame is recorded as it arrives, before the shared client deduplicates it or asks for a gap.
          message: (data) => {
            this.receive(data);
            handlers.message(data);
          },
          close: (code, reason) => {
            this.closeCodes.push(code);
            this.wake();
            handlers.close(code, reason);
          },
        }),
      backoff: { initialMs: 200, maxMs: 2_000, factor: 2, random: Math.random },
      // Scenarios stop Redis and stall gateways for seconds: only a socket silent for this long is given up on.
      welcomeTimeoutMs: 30_000,
      staleAfterMs: 120_000,
      overloadedDelayMs: 200,
      onStatus: (status) => this.status(status),
      // Events are recorded at the socket; the shared client's view of them is not what is measured.
      onEvent: () => {},
    });
  }

  get connected(): boolean {
    return this.client.connection.state === 'connected';
  }

  /** Connects (to the next gateway) and says hello; resolves after the welcome. */
  connect(): Promise<void> {
    if (this.connected) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.connectWaiters.push({ resolve, reject });
      if (this.client.connection.state === 'stopped') {
        this.failedAttempts = 0;
        this.client.start();
      } else {
        this.client.connection.reconnectNow();
      }
    });
  }

  private nextUrl(): string {
    const urls = this.options.urls();
    // No gateway at all: an address nothing listens on, so the attempt fails and is counted like any other.
    return urls[this.turn++ % Math.max(1, urls.length)] ?? 'ws://127.0.0.1:9/v1/ws';
  }

  private status(status: ConnectionStatus): void {
    if (status.state === 'connected') {
      this.failedAttempts = 0;
      for (const waiter of this.connectWaiters.splice(0)) waiter.resolve();
      return;
    }
    if (status.state === 'unauthorized') {
      this.fail(new Error(`closed with ${status.lastCloseCode} before the welcome`));
      return;
    }
    if (status.state !== 'offline') return;
    // Told before the next socket opens, so `welcomed` is still the ended socket's.
    const wasWelcomed = this.welcomed;
    this.welcomed = false;
    if (wasWelcomed) {
      if (this.options.reconnect === false || finalCloseCodes.has(status.lastCloseCode ?? 0))
        this.client.stop();
      else this.reconnects++;
      return;
    }
    if (++this.failedAttempts > (this.options.maxReconnectAttempts ?? 100)) {
      this.fail(new Error(`closed with ${status.lastCloseCode} before the welcome`));
    }
  }

  private fail(error: Error): void {
    this.client.stop();
    for (const waiter of this.connectWaiters.splice(0)) waiter.reject(error);
  }

  private receive(text: string): void {
    this.framesReceived++;
    for (const secret of this.options.secrets ?? []) if (text.includes(secret)) this.leaks.push(secret);
    const parsed = parseServerFrame(text);
    if (parsed.ok === 'unknown') return;
    if (parsed.ok === false) {
      this.violations.push(text.slice(0, 300));
      return;
    }
    const frame = parsed.frame;
    const time = Date.now();
    switch (frame.type) {
      case 'welcome':
        this.welcomed = true;
        break;
      case 'pong': {
        if (typeof frame.t === 'number') {
          this.pings.get(frame.t)?.(time);
          this.pings.delete(frame.t);
        }
        break;
      }
      case 'error':
        this.errors.push({
          code: frame.code,
          ...(frame.retryAfterMs !== undefined && { retryAfterMs: frame.retryAfterMs }),
        });
        break;
      case 'chat.accepted': {
        const tracked = this.requests.get(frame.id);
        if (tracked !== undefined) tracked.acceptedAt ??= time;
        break;
      }
      case 'chat.delta':
      case 'chat.restart':
      case 'chat.done':
      case 'chat.cancelled':
      case 'chat.error': {
        const tracked = this.requests.get(frame.id);
        if (tracked === undefined) break;
        if (frame.type === 'chat.error' && frame.seq === undefined) {
          if (tracked.acceptedAt !== undefined || tracked.last > 0) tracked.lateRefusals++;
          tracked.refusal ??= {
            code: frame.code,
            message: frame.message,
            ...(frame.retryAfterMs !== undefined && { retryAfterMs: frame.retryAfterMs }),
          };
          if (tracked.acceptedAt === undefined) tracked.endedAt ??= time;
          break;
        }
        const seq = frame.seq ?? 0;
        if (seq <= tracked.last || tracked.terminals > 0) {
          tracked.duplicates++;
          break;
        }
        if (seq > tracked.last + 1) tracked.gaps++;
        tracked.last = seq;
        tracked.events.push(frame);
        if (frame.type === 'chat.delta') tracked.firstDeltaAt ??= time;
        if (isTerminalFrame(frame)) {
          tracked.terminals++;
          tracked.endedAt = time;
        }
        break;
      }
      default:
        break;
    }
    this.wake();
  }

  /** Sends a raw text frame as is. */
  writeRaw(text: string): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(text);
  }

  /** Starts a request (sent now if connected, else at the next connection). */
  send(id: string, content: string, expected?: string, model?: string): Tracked {
    const tracked: Tracked = {
      id,
      content,
      model,
      expected,
      sentAt: Date.now(),
      acceptedAt: undefined,
      firstDeltaAt: undefined,
      endedAt: undefined,
      last: 0,
      events: [],
      duplicates: 0,
      gaps: 0,
      terminals: 0,
      refusal: undefined,
      lateRefusals: 0,
    };
    this.requests.set(id, tracked);
    this.client.send(sendFrame(tracked));
    return tracked;
  }

  /** Drops a settled request from memory (long runs tally as they go). */
  forget(id: string): void {
    this.requests.delete(id);
    this.client.forget(id);
  }

  /** Cuts the TCP connection without a close frame, as a network loss would (the client then reconnects). */
  dropConnection(): void {
    this.socket?.terminate();
  }

  cancel(id: string): void {
    this.client.cancel(id);
  }

  /** A resume of the scenario's own, outside the shared client's bookkeeping. */
  resume(id: string, after: number): void {
    this.client.connection.send({ type: 'chat.resume', id, after });
  }

  /** Round trip of an app-level ping in ms; rejects after `timeoutMs`. */
  ping(timeoutMs = 10_000): Promise<number> {
    const t = ++this.pingCounter;
    const sentAt = Date.now();
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pings.delete(t);
        reject(new Error(`no pong within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pings.set(t, (at) => {
        clearTimeout(timer);
        resolve(at - sentAt);
      });
      this.client.connection.send({ type: 'ping', t });
    });
  }

  /** True once every request has ended (terminal event, or refused without being accepted). */
  settled(): boolean {
    for (const tracked of this.requests.values()) if (!isSettled(tracked)) return false;
    return true;
  }

  /** Waits until every request has ended, or `timeoutMs` passed; resolves either way. */
  async waitSettled(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.settled() && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(500, Math.max(1, deadline - Date.now())));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter();
  }

  /** The socket in use now (for tests that need to misbehave at the TCP level). */
  get rawSocket(): WebSocket | undefined {
    return this.connected ? this.socket : undefined;
  }

  close(): void {
    this.fail(new Error('closed by the scenario'));
  }
}

function sendFrame(tracked: Tracked): ChatSendFrame {
  return {
    type: 'chat.send',
    id: tracked.id,
    messages: [{ role: 'user', content: tracked.content }],
    ...(tracked.model !== undefined && { model: tracked.model }),
  };
}

export function isSettled(tracked: Tracked): boolean {
  return tracked.terminals > 0 || (tracked.refusal !== undefined && tracked.acceptedAt === undefined);
}

/** The answer the fake model gives for `[[fake:answer tokens=N ...]]`: "tok1 tok2 ... tokN ". */
export function tokensAnswer(tokens: number): string {
  let text = '';
  for (let index = 1; index <= tokens; index++) text += `tok${index} `;
  return text;
}

/** What a scenario reports: every request sent, sorted by how it ended. Lost, duplicated and hung must be 0. */
export interface Figures {
  sent: number;
  /** Ended with chat.done, seq gap-free, the answer exactly the model's. */
  completed: number;
  /** Ended with one chat.error carrying a code (or chat.cancelled when the scenario cancels). */
  clearErrors: number;
  /** Refused before being accepted, with a code (rate_limited...). */
  refused: number;
  lost: number;
  duplicated: number;
  hung: number;
  /** Terminal error codes and refusal codes, with counts. */
  codes: Record<string, number>;
  restarts: number;
  /** Frames that broke the protocol. */
  violations: number;
  /** Time from send to terminal event: median and slowest, ms. */
  medianMs: number;
  slowestMs: number;
}

/** Every request of these clients. */
export function requestsOf(clients: readonly ChatClient[]): Tracked[] {
  return clients.flatMap((client) => [...client.requests.values()]);
}

/** Sorts requests into the figures; `details` receives one line per faulty request. */
export function tally(requests: readonly Tracked[], details: string[] = [], violations = 0): Figures {
  const figures: Figures = {
    sent: 0,
    completed: 0,
    clearErrors: 0,
    refused: 0,
    lost: 0,
    duplicated: 0,
    hung: 0,
    codes: {},
    restarts: 0,
    violations,
    medianMs: 0,
    slowestMs: 0,
  };
  const durations: number[] = [];
  for (const tracked of requests) {
    figures.sent++;
    figures.restarts += tracked.events.filter((event) => event.type === 'chat.restart').length;
    const last = tracked.events.at(-1);
    const seqsInOrder = tracked.events.every((event, index) => 'seq' in event && event.seq === index + 1);
    let faulty = false;
    if (tracked.duplicates > 0 || tracked.terminals > 1) {
      figures.duplicated++;
      faulty = true;
      details.push(
        `${tracked.id}: duplicated (${tracked.duplicates} events again, ${tracked.terminals} terminal)`,
      );
    }
    if (!isSettled(tracked)) {
      figures.hung++;
      details.push(
        `${tracked.id}: hung at seq ${tracked.last} (accepted: ${tracked.acceptedAt !== undefined})`,
      );
      continue;
    }
    if (tracked.terminals === 0) {
      const code = tracked.refusal?.code ?? 'unknown';
      figures.codes[`refused:${code}`] = (figures.codes[`refused:${code}`] ?? 0) + 1;
      if (!faulty) figures.refused++;
      continue;
    }
    if (tracked.endedAt !== undefined) durations.push(tracked.endedAt - tracked.sentAt);
    const answer = answerOf(tracked.events);
    const wrongText =
      last?.type === 'chat.done' && tracked.expected !== undefined && answer !== tracked.expected;
    if (tracked.gaps > 0 || !seqsInOrder || tracked.lateRefusals > 0 || wrongText) {
      figures.lost++;
      faulty = true;
      details.push(
        `${tracked.id}: lost (gaps ${tracked.gaps}, late refusals ${tracked.lateRefusals}, ` +
          `text ${wrongText ? `"${answer.slice(0, 80)}" instead of "${(tracked.expected ?? '').slice(0, 80)}"` : 'ok'})`,
      );
    }
    if (faulty) continue;
    if (last?.type === 'chat.done') figures.completed++;
    else if (last?.type === 'chat.error' || last?.type === 'chat.cancelled') {
      const code = last.type === 'chat.error' ? last.code : 'cancelled';
      figures.codes[code] = (figures.codes[code] ?? 0) + 1;
      figures.clearErrors++;
    }
  }
  durations.sort((a, b) => a - b);
  figures.medianMs = durations[Math.floor(durations.length / 2)] ?? 0;
  figures.slowestMs = durations.at(-1) ?? 0;
  return figures;
}

/** One line of the figures, for logs and the report. */
export function describeFigures(name: string, figures: Figures): string {
  const codes = Object.entries(figures.codes)
    .map(([code, count]) => `${code}×${count}`)
    .join(' ');
  return (
    `${name}: sent ${figures.sent}, completed ${figures.completed}, clear errors ${figures.clearErrors}, ` +
    `refused ${figures.refused}, lost ${figures.lost}, duplicated ${figures.duplicated}, hung ${figures.hung}, ` +
    `restarts ${figures.restarts}, median ${figures.medianMs} ms, slowest ${figures.slowestMs} ms` +
    (codes === '' ? '' : ` [${codes}]`)
  );
}

/** Adds `part` into `total` (for tallies kept as a run goes). */
export function addFigures(total: Figures, part: Figures): void {
  total.sent += part.sent;
  total.completed += part.completed;
  total.clearErrors += part.clearErrors;
  total.refused += part.refused;
  total.lost += part.lost;
  total.duplicated += part.duplicated;
  total.hung += part.hung;
  total.restarts += part.restarts;
  total.violations += part.violations;
  total.slowestMs = Math.max(total.slowestMs, part.slowestMs);
  for (const [code, count] of Object.entries(part.codes))
    total.codes[code] = (total.codes[code] ?? 0) + count;
}

/** Pings `client` every 50 ms until `until` settles; returns the slowest round trip (20 s for a lost ping). */
export async function slowestPing(client: ChatClient, until: Promise<unknown>): Promise<number> {
  let done = false;
  void until.finally(() => {
    done = true;
  });
  let slowest = 0;
  while (!done) {
    slowest = Math.max(slowest, await client.ping(20_000).catch(() => 20_000));
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return slowest;
}

/** How long a short chat takes end to end; NaN when it does not end done. */
export async function chatTime(client: ChatClient, id: string, timeoutMs = 30_000): Promise<number> {
  const tracked = client.send(id, '[[fake:answer tokens=5 interval=10]] hi', tokensAnswer(5));
  await client.waitSettled(timeoutMs);
  if (tracked.events.at(-1)?.type !== 'chat.done' || tracked.endedAt === undefined) return Number.NaN;
  return tracked.endedAt - tracked.sentAt;
}
