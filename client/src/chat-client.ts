// Chat requests over a Connection: send, cancel, and resume every unfinished answer after a reconnect.
import type {
  ChatAcceptedFrame,
  ChatErrorFrame,
  ChatSendFrame,
  ErrorFrame,
  GenerationEvent,
  ModelsFrame,
  ServerFrame,
} from '@chrome-plus/protocol';
import { Connection, type ConnectionOptions, type ConnectionStatus } from './connection.ts';
import { RequestTracker } from './request-tracker.ts';

/** What the UI hears about one request: each event once, in `seq` order. */
export type RequestEvent =
  | ChatAcceptedFrame
  | GenerationEvent
  /** A refusal without `seq` that ends the request on this client (e.g. `rate_limited` on send). */
  | ChatErrorFrame;

export interface ChatClientOptions extends Omit<ConnectionOptions, 'onWelcome' | 'onFrame' | 'onStatus'> {
  onEvent: (event: RequestEvent) => void;
  onStatus?: (status: ConnectionStatus) => void;
  /** A connection-level `error` frame (e.g. frames too fast). */
  onServerError?: (frame: ErrorFrame) => void;
  /** Any other frame that is not about a chat request (the `history.*` frames), for a layer above. */
  onOtherFrame?: (frame: ServerFrame) => void;
}

interface PendingRequest {
  tracker: RequestTracker;
  /** Kept until the request is known to be accepted, so that it can be sent again after a reconnect. */
  sendFrame: ChatSendFrame | undefined;
  accepted: boolean;
  cancelRequested: boolean;
  retryTimer: ReturnType<typeof setTimeout> | undefined;
}

export class ChatClient {
  readonly connection: Connection;
  private readonly options: ChatClientOptions;
  private readonly requests = new Map<string, PendingRequest>();
  private modelWaiters: ((frame: ModelsFrame) => void)[] = [];

  constructor(options: ChatClientOptions) {
    this.options = options;
    this.connection = new Connection({
      ...options,
      onStatus: (status) => options.onStatus?.(status),
      onWelcome: () => this.resumeAll(),
      onFrame: (frame) => this.receive(frame),
    });
  }

  start(): void {
    this.connection.start();
  }

  stop(): void {
    for (const request of this.requests.values()) clearTimeout(request.retryTimer);
    this.connection.stop();
  }

  /** Ids of the requests that have not reached a terminal event yet. */
  unfinished(): string[] {
    return [...this.requests.keys()];
  }

  lastSeq(id: string): number | undefined {
    return this.requests.get(id)?.tracker.lastSeq;
  }

  /** Starts a generation. Offline, it goes out as soon as the connection is up. */
  send(frame: ChatSendFrame): void {
    this.requests.set(frame.id, {
      tracker: new RequestTracker(0),
      sendFrame: frame,
      accepted: false,
      cancelRequested: false,
      retryTimer: undefined,
    });
    this.connection.send(frame);
  }

  /**
   * Follows a request this client started before (e.g. in a panel that was closed) from `lastSeq`.
   * With `lastSeq` 0 and the original frame, the frame is sent again: a repeated `chat.send` is a
   * replay from seq 1 by contract, and it also covers a send that never reached the server.
   */
  track(id: string, lastSeq: number, sendFrame?: ChatSendFrame): void {
    const request: PendingRequest = {
      tracker: new RequestTracker(lastSeq),
      sendFrame: lastSeq === 0 ? sendFrame : undefined,
      accepted: lastSeq > 0,
      cancelRequested: false,
      retryTimer: undefined,
    };
    this.requests.set(id, request);
    if (this.connection.state === 'connected') this.resumeOne(id, request);
  }

  /** Asks the server to stop. The request ends when its terminal event arrives. */
  cancel(id: string): void {
    const request = this.requests.get(id);
    if (!request) return;
    request.cancelRequested = true;
    this.connection.send({ type: 'chat.cancel', id });
  }

  /** Stops following a request without cancelling it server-side. */
  forget(id: string): void {
    const request = this.requests.get(id);
    clearTimeout(request?.retryTimer);
    this.requests.delete(id);
  }

  /** Resolves with the next `models` frame; rejects when not connected. */
  listModels(timeoutMs = 10_000): Promise<ModelsFrame> {
    return new Promise((resolve, reject) => {
      if (!this.connection.send({ type: 'models.list' })) {
        reject(new Error('not connected'));
        return;
      }
      const timer = setTimeout(() => {
        this.modelWaiters = this.modelWaiters.filter((waiter) => waiter !== settle);
        reject(new Error('no answer to models.list'));
      }, timeoutMs);
      const settle = (frame: ModelsFrame) => {
        clearTimeout(timer);
        resolve(frame);
      };
      this.modelWaiters.push(settle);
    });
  }

  private resumeAll(): void {
    for (const [id, request] of this.requests) this.resumeOne(id, request);
  }

  private resumeOne(id: string, request: PendingRequest): void {
    clearTimeout(request.retryTimer);
    request.tracker.resetPending();
    if (!request.accepted && request.sendFrame) {
      this.connection.send(request.sendFrame);
    } else {
      this.connection.send({ type: 'chat.resume', id, after: request.tracker.lastSeq });
    }
    request.tracker.resumeSent();
    if (request.cancelRequested) this.connection.send({ type: 'chat.cancel', id });
  }

  private receive(frame: ServerFrame): void {
    switch (frame.type) {
      case 'models':
        for (const waiter of this.modelWaiters.splice(0)) waiter(frame);
        return;
      case 'error':
        this.options.onServerError?.(frame);
        return;
      case 'chat.accepted': {
        const request = this.requests.get(frame.id);
        if (!request) return;
        request.accepted = true;
        this.options.onEvent(frame);
        return;
      }
      case 'chat.error':
        if (frame.seq === undefined) {
          this.refused(frame);
          return;
        }
        this.event({ ...frame, seq: frame.seq });
        return;
      case 'chat.delta':
      case 'chat.restart':
      case 'chat.done':
      case 'chat.cancelled':
        this.event(frame);
        return;
      default:
        this.options.onOtherFrame?.(frame);
        return;
    }
  }

  private event(event: GenerationEvent): void {
    const request = this.requests.get(event.id);
    // Events of a request this client does not follow (another panel's, or a forgotten one).
    if (!request) return;
    const verdict = request.tracker.judge(event);
    if (verdict.kind === 'duplicate') return;
    if (verdict.kind === 'gap') {
      if (verdict.resumeAfter !== undefined) {
        this.connection.send({ type: 'chat.resume', id: event.id, after: verdict.resumeAfter });
      }
      return;
    }
    // Any event with a seq proves the server holds the request: never send it again.
    request.accepted = true;
    request.sendFrame = undefined;
    if (event.type === 'chat.done' || event.type === 'chat.error' || event.type === 'chat.cancelled') {
      this.forget(event.id);
    }
    this.options.onEvent(event);
  }

  /** A `chat.error` without seq: the refusal of one frame we sent for this request. */
  private refused(frame: ChatErrorFrame): void {
    const request = this.requests.get(frame.id);
    if (!request) return;
    // A refused resume of a request the server runs (e.g. rate limited) does not end it: try again later.
    if (request.accepted && frame.retryable && frame.code !== 'not_found' && frame.code !== 'expired') {
      clearTimeout(request.retryTimer);
      request.retryTimer = setTimeout(() => {
        if (this.connection.state === 'connected') this.resumeOne(frame.id, request);
      }, frame.retryAfterMs ?? 1_000);
      return;
    }
    this.forget(frame.id);
    this.options.onEvent(frame);
  }
}
