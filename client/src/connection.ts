// One gateway connection: hello, app pings, close-code handling and reconnect with backoff.
import {
  type ClientFrame,
  CloseCode,
  parseServerFrame,
  type ServerFrame,
  type WelcomeFrame,
} from '@chrome-plus/protocol';
import { type BackoffOptions, backoffDelay, defaultBackoffOptions } from './backoff.ts';
import type { OpenSocket, SocketHandle } from './socket.ts';

export type ConnectionState =
  /** A socket is opening or waiting for `welcome`. */
  | 'connecting'
  | 'connected'
  /** No socket; a reconnect is scheduled (`retryAt`). */
  | 'offline'
  /** The server refused the token (4401): retrying with the same token cannot help. */
  | 'unauthorized'
  | 'stopped';

export interface ConnectionStatus {
  state: ConnectionState;
  /** When the next reconnect attempt starts (epoch ms), in state `offline`. */
  retryAt?: number;
  /** The close code that ended the last socket, if any. */
  lastCloseCode?: number;
}

export interface ConnectionSettings {
  url: string;
  token?: string;
}

export interface ConnectionOptions extends ConnectionSettings {
  openSocket: OpenSocket;
  /** Sent in `hello`, for the server's logs. */
  clientName?: string;
  /** App-level ping period: an MV3 page must send something every 20–25 s. */
  pingIntervalMs?: number;
  /** A connected socket that has received nothing for this long is presumed dead. */
  staleAfterMs?: number;
  /** How long to wait for `welcome` after the socket opened. */
  welcomeTimeoutMs?: number;
  /** The least delay before reconnecting after 1013 (the server asked to come back later). */
  overloadedDelayMs?: number;
  backoff?: BackoffOptions;
  now?: () => number;
  onStatus?: (status: ConnectionStatus) => void;
  onWelcome?: (welcome: WelcomeFrame) => void;
  onFrame?: (frame: ServerFrame) => void;
}

/** The code this client closes a socket with when it heard nothing for too long (its own, never the server's). */
export const staleCloseCode = 4000;

export class Connection {
  private settings: ConnectionSettings;
  private readonly options: ConnectionOptions;
  private socket: SocketHandle | undefined;
  /** Bumped per socket, so that late events of an abandoned socket are ignored. */
  private socketGeneration = 0;
  private attempt = 0;
  private status: ConnectionStatus = { state: 'stopped' };
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private pingTimer: ReturnType<typeof setTimeout> | undefined;
  private welcomeTimer: ReturnType<typeof setTimeout> | undefined;
  private lastReceivedAt = 0;
  private refusedToken = false;
  welcome: WelcomeFrame | undefined;

  constructor(options: ConnectionOptions) {
    this.options = options;
    this.settings = { url: options.url, token: options.token };
  }

  get state(): ConnectionState {
    return this.status.state;
  }

  get currentStatus(): ConnectionStatus {
    return this.status;
  }

  start(): void {
    if (this.status.state !== 'stopped') return;
    this.openNow();
  }

  stop(): void {
    this.clearTimers();
    this.dropSocket(CloseCode.normal, 'client stopped');
    this.setStatus({ state: 'stopped' });
  }

  /** New server or token: drop the current socket and connect again at once. */
  configure(settings: ConnectionSettings): void {
    this.settings = { ...settings };
    this.attempt = 0;
    if (this.status.state === 'stopped') return;
    this.clearTimers();
    this.dropSocket(CloseCode.normal, 'reconfigured');
    this.openNow();
  }

  /** Skips the wait of a scheduled reconnect (the user pressed "retry", or the browser is online again). */
  reconnectNow(): void {
    if (this.status.state === 'offline' || this.status.state === 'unauthorized') this.openNow();
  }

  /** Sends a frame when connected; returns false (and sends nothing) otherwise. */
  send(frame: ClientFrame): boolean {
    if (this.status.state !== 'connected' || !this.socket) return false;
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  private setStatus(status: ConnectionStatus): void {
    this.status = status;
    this.options.onStatus?.(status);
  }

  private clearTimers(): void {
    clearTimeout(this.retryTimer);
    clearTimeout(this.pingTimer);
    clearTimeout(this.welcomeTimer);
    this.retryTimer = this.pingTimer = this.welcomeTimer = undefined;
  }

  private dropSocket(code: number, reason: string): void {
    const socket = this.socket;
    this.socket = undefined;
    this.socketGeneration += 1;
    this.welcome = undefined;
    try {
      socket?.close(code, reason);
    } catch {
      // Closing a socket that is still connecting can throw in some runtimes; it is abandoned either way.
    }
  }

  private openNow(): void {
    this.clearTimers();
    this.dropSocket(CloseCode.normal, 'replaced');
    this.refusedToken = false;
    this.setStatus({ state: 'connecting', lastCloseCode: this.status.lastCloseCode });
    const generation = this.socketGeneration;
    const isCurrent = () => generation === this.socketGeneration;
    this.socket = this.options.openSocket(this.settings.url, {
      open: () => {
        if (!isCurrent()) return;
        this.lastReceivedAt = this.now();
        const hello: ClientFrame = {
          type: 'hello',
          client: this.options.clientName ?? 'chrome-plus',
        };
        if (this.settings.token) hello.token = this.settings.token;
        this.socket?.send(JSON.stringify(hello));
        this.welcomeTimer = setTimeout(() => {
          // Open but silent: not a Chrome Plus gateway, or a stuck one. Try again later.
          if (isCurrent()) this.socketEnded(1006);
        }, this.options.welcomeTimeoutMs ?? 10_000);
      },
      message: (data) => {
        if (isCurrent()) this.receive(data);
      },
      close: (code) => {
        if (isCurrent()) this.socketEnded(code);
      },
    });
  }

  private receive(data: string): void {
    this.lastReceivedAt = this.now();
    const parsed = parseServerFrame(data);
    // Unknown frame types are ignored by contract; malformed ones cannot be acted on.
    if (parsed.ok !== true) return;
    const frame = parsed.frame;
    if (frame.type === 'welcome') {
      clearTimeout(this.welcomeTimer);
      this.welcome = frame;
      this.attempt = 0;
      this.setStatus({ state: 'connected' });
      this.schedulePing();
      this.options.onWelcome?.(frame);
      return;
    }
    if (frame.type === 'error' && frame.code === 'unauthorized') this.refusedToken = true;
    if (frame.type === 'pong') return;
    this.options.onFrame?.(frame);
  }

  private schedulePing(): void {
    const interval = this.options.pingIntervalMs ?? 20_000;
    const staleAfter = this.options.staleAfterMs ?? interval * 2.5;
    this.pingTimer = setTimeout(() => {
      if (this.status.state !== 'connected') return;
      if (this.now() - this.lastReceivedAt > staleAfter) {
        // A half-open TCP connection may never report its death: drop it ourselves.
        this.socketEnded(staleCloseCode);
        return;
      }
      this.socket?.send(JSON.stringify({ type: 'ping', t: this.now() }));
      this.schedulePing();
    }, interval);
  }

  private socketEnded(code: number): void {
    this.clearTimers();
    this.dropSocket(staleCloseCode, 'abandoned');
    if (code === CloseCode.unauthorized || this.refusedToken) {
      this.setStatus({ state: 'unauthorized', lastCloseCode: code });
      return;
    }
    let delay = backoffDelay(this.attempt, this.options.backoff ?? defaultBackoffOptions);
    if (code === CloseCode.overloaded) delay = Math.max(delay, this.options.overloadedDelayMs ?? 2_000);
    this.attempt += 1;
    this.setStatus({ state: 'offline', retryAt: this.now() + delay, lastCloseCode: code });
    this.retryTimer = setTimeout(() => this.openNow(), delay);
  }
}
