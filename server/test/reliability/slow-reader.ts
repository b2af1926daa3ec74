// Slow and stuck readers: a client stops reading its socket while a long answer streams. The gateway must stop
// buffering for it (the log is the buffer), close it with 1013 after SLOW_READER_CLOSE_MS, and the client must
// then resume without losing or repeating a byte.
import { Socket } from 'node:net';
import { rssKiB, sleep, until } from '@chrome-plus/testkit';
import type { WebSocket } from 'ws';
import { ChatClient, type Figures, requestsOf, tally } from './chat-client.ts';
import { Opcode, RawWebSocket } from './raw-socket.ts';
import { createStage, leakedSecrets } from './stage.ts';

export interface SlowReaderOptions {
  /** SLOW_READER_CLOSE_MS of the gateway. */
  closeMs: number;
  /** Size of the answer in MB (several times the kernel's socket buffers, so that the gateway feels it). */
  answerMb: number;
  /** Also run a raw socket that never reads a byte after the welcome. */
  rawNeverReads: boolean;
}

export interface SlowReaderResult {
  figures: Figures;
  details: string[];
  answerBytes: number;
  /** Time from the pause to the gateway's decision to close, ms. */
  closedAfterMs: number | undefined;
  closeCodes: number[];
  rssBeforeKiB: number;
  rssPeakKiB: number;
  /** Resident memory growth while the reader was stuck, KiB. */
  rssGrowthKiB: number;
  healthySlowestPingMs: number;
  raw: { closeCode: number | undefined; rssGrowthKiB: number; closedAfterMs: number | undefined } | undefined;
  leaks: string[];
  crashes: number;
}

/** Stops reading the TCP connection under a `ws` WebSocket (the library keeps it in a private field). */
export function pauseTcp(socket: WebSocket): void {
  const inner: unknown = Reflect.get(socket, '_socket');
  if (!(inner instanceof Socket)) throw new Error('no TCP socket under this WebSocket');
  inner.pause();
}

export function resumeTcp(socket: WebSocket): void {
  const inner: unknown = Reflect.get(socket, '_socket');
  if (inner instanceof Socket) inner.resume();
}

const closingLine = 'closing a socket that stopped reading';

function countOccurrences(text: string, part: string): number {
  return text.split(part).length - 1;
}

export async function slowReaders(options: SlowReaderOptions): Promise<SlowReaderResult> {
  const stage = await createStage('slow', { env: { SLOW_READER_CLOSE_MS: String(options.closeMs) } });
  const piece = `${'slow reader '.repeat(680)}\n`; // ~8 KB
  const pieces = Math.ceil((options.answerMb * 1_048_576) / piece.length);
  const expected = piece.repeat(pieces);
  try {
    const gateway = await stage.fleet.start('gateway');
    await stage.fleet.start('worker');
    const reader = new ChatClient({
      urls: () => [gateway.url],
      token: stage.users[0]!.token,
      secrets: stage.secrets,
    });
    const healthy = new ChatClient({ urls: () => [gateway.url], token: stage.users[1]!.token });
    await reader.connect();
    await healthy.connect();
    await sleep(300);
    const rssBeforeKiB = rssKiB(gateway.pid) ?? 0;

    // The whole answer is in the model's hands at once; only the reader slows things down.
    stage.fake.enqueue({ type: 'answer', pieces: [piece], tokens: pieces, tokenIntervalMs: 0 });
    const tracked = reader.send('slow-1', 'a long answer, please', expected);
    const deadline = Date.now() + 30_000;
    while (tracked.firstDeltaAt === undefined && Date.now() < deadline) await sleep(5);
    const socket = reader.rawSocket;
    if (socket === undefined) throw new Error('the reader has no socket');
    pauseTcp(socket);
    const pausedAt = Date.now();

    let rssPeakKiB = rssBeforeKiB;
    let healthySlowestPingMs = 0;
    let closedAfterMs: number | undefined;
    const closesBefore = countOccurrences(gateway.output(), closingLine);
    const waitUntil = pausedAt + options.closeMs + 15_000;
    while (Date.now() < waitUntil) {
      rssPeakKiB = Math.max(rssPeakKiB, rssKiB(gateway.pid) ?? 0);
      const ping = await healthy.ping(10_000).catch(() => 10_000);
      healthySlowestPingMs = Math.max(healthySlowestPingMs, ping);
      if (countOccurrences(gateway.output(), closingLine) > closesBefore) {
        closedAfterMs = Date.now() - pausedAt;
        break;
      }
      await sleep(100);
    }
    // Reading again: the client gets what was buffered, then the 1013, then reconnects and resumes by itself.
    resumeTcp(socket);
    await reader.waitSettled(60_000);

    let raw: SlowReaderResult['raw'];
    if (options.rawNeverReads) {
      const rawSocket = await RawWebSocket.connect(gateway.port);
      rawSocket.sendText(JSON.stringify({ type: 'hello', token: stage.users[0]!.token }));
      while (!rawSocket.texts.some((text) => text.includes('"welcome"'))) await sleep(5);
      const before = rssKiB(gateway.pid) ?? 0;
      let peak = before;
      // Resume the finished answer from the start: megabytes for a socket that never reads a byte of them.
      rawSocket.pauseReading();
      rawSocket.send({
        opcode: Opcode.text,
        payload: Buffer.from(JSON.stringify({ type: 'chat.resume', id: 'slow-1', after: 0 })),
      });
      const rawPausedAt = Date.now();
      const rawCloses = countOccurrences(gateway.output(), closingLine);
      let rawClosedAfterMs: number | undefined;
      while (Date.now() < rawPausedAt + options.closeMs + 15_000) {
        peak = Math.max(peak, rssKiB(gateway.pid) ?? 0);
        if (countOccurrences(gateway.output(), closingLine) > rawCloses) {
          rawClosedAfterMs = Date.now() - rawPausedAt;
          break;
        }
        await sleep(100);
      }
      rawSocket.resumeReading();
      // The close frame is what counts: the TCP connection itself may linger until ws's close timeout.
      await until(() => rawSocket.closeCode !== undefined || rawSocket.ended, {
        what: 'the close frame of the socket that never read',
        timeoutMs: 10_000,
      }).catch(() => undefined);
      raw = { closeCode: rawSocket.closeCode, rssGrowthKiB: peak - before, closedAfterMs: rawClosedAfterMs };
      rawSocket.destroy();
    }

    const details: string[] = [];
    const figures = tally(requestsOf([reader]), details, reader.violations.length);
    reader.close();
    healthy.close();
    return {
      figures,
      details,
      answerBytes: expected.length,
      closedAfterMs,
      closeCodes: reader.closeCodes,
      rssBeforeKiB,
      rssPeakKiB,
      rssGrowthKiB: rssPeakKiB - rssBeforeKiB,
      healthySlowestPingMs,
      raw,
      leaks: [...new Set([...leakedSecrets(stage.secrets, [stage.fleet.output()]), ...reader.leaks])],
      crashes: stage.fleet.started.filter((process_) => !process_.alive()).length,
    };
  } finally {
    await stage.close();
  }
}
