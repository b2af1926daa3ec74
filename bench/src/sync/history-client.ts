// The sync benchmark's client: one WebSocket of a user with an account, history frames sent with a ref and their
// answers awaited, every byte received counted; a fresh device's full sync and a returning device's catch-up on it.
// Not @chrome-plus/client, which has no history calls; it speaks the wire contract of docs/protocol.md.
import { WebSocket } from 'ws';

export interface Frame {
  type: string;
  ref?: string;
  [field: string]: unknown;
}

/** What one sync fetched, how long it took and how many bytes it received (WebSocket payloads; headers apart). */
export interface SyncFigures {
  conversations: number;
  tombstones: number;
  messages: number;
  /** history.list pages, and their time and bytes. */
  pages: number;
  listMs: number;
  listBytes: number;
  /** history.get requests (one per live conversation), and their time and bytes. */
  gets: number;
  getMs: number;
  getBytes: number;
  totalMs: number;
  totalBytes: number;
  /** The WebSocket frame headers of the answers (2, 4 or 10 bytes each, server to client). */
  headerBytes: number;
  /** The cursor to save: the last seq listed. */
  cursor: number;
}

export class HistoryClient {
  bytesReceived = 0;
  headerBytes = 0;
  private refs = 0;
  private readonly waiting = new Map<string, { resolve(frame: Frame): void; reject(error: Error): void }>();
  private readonly listeners = new Set<(frame: Frame) => void>();

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => {
      this.bytesReceived += data.length;
      this.headerBytes += data.length <= 125 ? 2 : data.length <= 65_535 ? 4 : 10;
      const frame = JSON.parse(data.toString('utf8')) as Frame;
      if (frame.ref !== undefined) {
        const waiter = this.waiting.get(frame.ref);
        if (waiter !== undefined) {
          this.waiting.delete(frame.ref);
          if (frame.type === 'history.error' || frame.type === 'error')
            waiter.reject(new Error(`${frame.type} ${String(frame.code)}: ${String(frame.message)}`));
          else waiter.resolve(frame);
          return;
        }
      }
      for (const listener of this.listeners) listener(frame);
    });
    socket.on('close', (code) => {
      for (const waiter of this.waiting.values()) waiter.reject(new Error(`socket closed (${code})`));
      this.waiting.clear();
    });
  }

  /** Connects and says hello; resolves once welcomed. */
  static open(url: string, token: string, timeoutMs = 15_000): Promise<HistoryClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, { perMessageDeflate: false });
      const timer = setTimeout(() => {
        socket.terminate();
        reject(new Error('no welcome in time'));
      }, timeoutMs);
      socket.once('open', () => socket.send(JSON.stringify({ type: 'hello', token })));
      socket.once('message', (data: Buffer) => {
        clearTimeout(timer);
        const frame = JSON.parse(data.toString('utf8')) as Frame;
        if (frame.type !== 'welcome') {
          socket.terminate();
          reject(new Error(`hello refused: ${String(frame.code ?? frame.type)}`));
          return;
        }
        resolve(new HistoryClient(socket));
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  }

  /** Sends a frame with a fresh ref; resolves with its answer (rejects on history.error). */
  request(frame: Frame, timeoutMs = 60_000): Promise<Frame> {
    this.refs += 1;
    const ref = `s${this.refs}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(ref);
        reject(new Error(`${frame.type}: no answer in ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(ref, {
        resolve: (answer) => {
          clearTimeout(timer);
          resolve(answer);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.socket.send(JSON.stringify({ ...frame, ref }));
    });
  }

  send(frame: Frame): void {
    this.socket.send(JSON.stringify(frame));
  }

  /** Frames without a ref (chat events, history.changed); returns the way to stop listening. */
  onFrame(listener: (frame: Frame) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves with the first unrefed frame that matches. */
  next(match: (frame: Frame) => boolean, timeoutMs = 30_000): Promise<Frame> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        stop();
        reject(new Error(`no matching frame in ${timeoutMs} ms`));
      }, timeoutMs);
      const stop = this.onFrame((frame) => {
        if (!match(frame)) return;
        clearTimeout(timer);
        stop();
        resolve(frame);
      });
    });
  }

  close(): void {
    this.socket.close();
  }
}

export interface SyncOptions {
  /** Where the device's copy ends: 0 for a fresh device. */
  after: number;
  /** history.get requests in flight at once. */
  getConcurrency: number;
  /** false: list only (a client that fetches a conversation's messages when it is opened). */
  fetchMessages: boolean;
}

/**
 * Lists every change since `after` (history.list while `more`), then fetches each live conversation listed with its
 * messages since `after` (history.get), `getConcurrency` at a time: what a device does to hold a full copy.
 */
export async function sync(client: HistoryClient, options: SyncOptions): Promise<SyncFigures> {
  const started = performance.now();
  const bytesAtStart = client.bytesReceived;
  const headersAtStart = client.headerBytes;
  const live: string[] = [];
  let tombstones = 0;
  let pages = 0;
  let cursor = options.after;
  for (;;) {
    const page = await client.request({ type: 'history.list', after: cursor });
    pages += 1;
    for (const conversation of page.conversations as { id: string; deleted?: boolean }[]) {
      if (conversation.deleted === true) tombstones += 1;
      else live.push(conversation.id);
    }
    cursor = page.cursor as number;
    if (page.more !== true) break;
  }
  const listed = performance.now();
  const listBytes = client.bytesReceived - bytesAtStart;
  let messages = 0;
  let gets = 0;
  if (options.fetchMessages) {
    let next = 0;
    const fetchOne = async (): Promise<void> => {
      while (next < live.length) {
        const conversationId = live[next++]!;
        const answer = await client.request({
          type: 'history.get',
          conversationId,
          ...(options.after > 0 && { after: options.after }),
        });
        gets += 1;
        messages += (answer.messages as unknown[]).length;
      }
    };
    await Promise.all(Array.from({ length: options.getConcurrency }, fetchOne));
  }
  const ended = performance.now();
  const totalBytes = client.bytesReceived - bytesAtStart;
  return {
    conversations: live.length,
    tombstones,
    messages,
    pages,
    listMs: listed - started,
    listBytes,
    gets,
    getMs: ended - listed,
    getBytes: totalBytes - listBytes,
    totalMs: ended - started,
    totalBytes,
    headerBytes: client.headerBytes - headersAtStart,
    cursor,
  };
}
