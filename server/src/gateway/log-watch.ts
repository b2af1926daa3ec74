// One socket watching one request's log: catching up from the log, then live from Pub/Sub, paused while the socket
// is congested; each event goes out in order, once. The follower routes messages and runs the timers.
import { type LogEntry, toFrame } from '../generations/log.ts';
import type { Logger } from '../logger.ts';

/** One socket watching one request. */
export interface WatchOptions {
  key: string;
  /** The client's request id, for the frames. */
  id: string;
  /** Deliver events with seq > after. */
  after: number;
  /** Writes one frame to the socket. */
  send(frame: string): void;
  /** True while the socket's send buffer is too full to take more: delivery pauses, the log keeps the rest. */
  congested(): boolean;
  /** Called when the socket stayed congested for too long. */
  stuck(): void;
  /** Called after the terminal event was sent. */
  ended?(): void;
}

export interface Watch {
  readonly last: number;
  close(): void;
}

/** What a watch needs of its follower. */
export interface WatchHost {
  read(key: string, after: number, count: number): Promise<LogEntry[]>;
  now(): number;
  logger: Logger;
  /** Delivery paused: watch the socket until it drains or is stuck. */
  paused(watch: LogWatch): void;
  /** Catching up again: no longer paused. */
  resumed(watch: LogWatch): void;
  /** The watch ended (its terminal event, stuck, or closed): let its channel go. */
  closed(watch: LogWatch): void;
  /** A live event went to the socket, with its append time (epoch ms, the writer's clock). */
  delivered?(appendedAt: number): void;
}

/** How many entries one read of the log takes; a full page means there may be more. */
export const PAGE = 512;

const TERMINAL = /^"type":"chat\.(?:done|error|cancelled)"/;

export function isTerminalEntry(entry: string): boolean {
  // Entries start with {"seq":N, then "type":...; no need to parse the JSON for this.
  return TERMINAL.test(entry.slice(entry.indexOf(',') + 1, entry.indexOf(',') + 30));
}

export class LogWatch implements Watch {
  last: number;
  private mode: 'catching' | 'live' | 'paused' = 'catching';
  /** An event arrived while catching up: read the log again before going live. */
  private dirty = false;
  private isClosed = false;
  private pausedAt = 0;
  private lastActivity: number;
  private readonly quotedId: string;

  constructor(
    readonly options: WatchOptions,
    readonly channel: string,
    private readonly host: WatchHost,
  ) {
    this.last = options.after;
    this.quotedId = JSON.stringify(options.id);
    this.lastActivity = host.now();
  }

  /** Starts once the channel is subscribed (or failed to be): what was appended before is read from the log. */
  start(subscribed: Promise<unknown>): void {
    subscribed.then(
      () => this.catchUp(),
      () => this.catchUp(),
    );
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.host.closed(this);
  }

  /** An event published on the request's channel. */
  heard(seq: number, entry: string, appendedAt: number): void {
    if (this.mode === 'catching') {
      this.dirty = true;
    } else if (this.mode === 'live') {
      if (seq === this.last + 1) {
        this.deliver(seq, entry);
        if (appendedAt > 0) this.host.delivered?.(appendedAt);
      } else if (seq > this.last + 1) void this.catchUp();
    }
  }

  /** After a reconnect, messages published meanwhile are gone: a live watch re-reads its log. */
  reconnected(): void {
    if (this.mode === 'live') void this.catchUp();
  }

  /** While paused: resume from the log once the socket drained; after `stuckMs` congested, tell it to go. */
  checkPaused(time: number, stuckMs: number): void {
    if (!this.options.congested()) void this.catchUp();
    else if (time - this.pausedAt > stuckMs) {
      this.close();
      this.options.stuck();
    }
  }

  /** A live watch that heard nothing for `idleMs` re-reads its log, in case a Pub/Sub message was lost. */
  checkIdle(time: number, idleMs: number): void {
    if (this.mode === 'live' && time - this.lastActivity > idleMs) {
      this.lastActivity = time;
      void this.catchUp();
    }
  }

  /** Sends one stored event; false when delivery must stop (ended, closed or congested). */
  private deliver(seq: number, entry: string): boolean {
    this.options.send(toFrame(entry, this.quotedId));
    this.last = seq;
    this.lastActivity = this.host.now();
    if (isTerminalEntry(entry)) {
      this.close();
      this.options.ended?.();
      return false;
    }
    if (this.options.congested()) {
      this.mode = 'paused';
      this.pausedAt = this.host.now();
      this.host.paused(this);
      return false;
    }
    return true;
  }

  private async catchUp(): Promise<void> {
    this.mode = 'catching';
    this.host.resumed(this);
    try {
      do {
        this.dirty = false;
        const entries = await this.host.read(this.options.key, this.last, PAGE);
        if (this.isClosed) return;
        for (const entry of entries) {
          if (entry.seq <= this.last) continue;
          if (!this.deliver(entry.seq, entry.json)) return;
        }
        if (entries.length === PAGE) this.dirty = true;
      } while (this.dirty && !this.isClosed);
      this.mode = 'live';
    } catch (error) {
      // Redis unreachable: stay in catch-up; the idle check retries once Redis is back.
      this.host.logger.warn({ err: error, key: this.options.key }, 'reading a log failed; will retry');
      this.mode = 'live';
      this.lastActivity = 0;
    }
  }
}
