// Soak: steady mixed load on two gateways and two workers (scripts' startStack) for minutes, sampling memory of
// every process, Redis keys of the prefix and latency, to show they stay flat rather than grow.
import { loadavg } from 'node:os';
import { rssKiB, sleep, startStack } from '@chrome-plus/testkit';
import { Redis } from 'ioredis';
import { addFigures, ChatClient, type Figures, isSettled, tally, tokensAnswer } from './chat-client.ts';
import { createRandom } from './random.ts';
import { createStage } from './stage.ts';

export interface SoakOptions {
  seed: number;
  durationMs: number;
  sampleEveryMs: number;
  clients: number;
  /** Time a client waits between the end of one answer and its next request. */
  thinkMs: [number, number];
  /** Answer length range in tokens, and the model's pause between tokens. */
  tokens: [number, number];
  tokenIntervalMs: number;
  /** Share of requests cancelled mid-answer, and of answers whose connection is cut mid-way (then resumed). */
  cancelShare: number;
  dropShare: number;
  retentionMs: number;
  log?: (line: string) => void;
}

export interface SoakSample {
  atSeconds: number;
  loadAverage: number;
  rssMiB: Record<string, number>;
  keys: Record<string, number>;
  /** Send → first delta and app ping round trip in this sample's window, ms. */
  firstDeltaP50: number;
  firstDeltaP95: number;
  pingP50: number;
  pingP95: number;
  completedInWindow: number;
}

export interface SoakResult {
  samples: SoakSample[];
  figures: Figures;
  /** Memory of one finished request's record (its claim), which outlives the log by 24 h, in bytes. */
  metaBytesPerRequest: number;
  durationMs: number;
}

function percentile(values: number[], share: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * share))] ?? 0;
}

/** Keys of the prefix by kind: req (records), log (event logs), queue ({prefix}), user (limits), other. */
async function keysByKind(redis: Redis, prefix: string): Promise<Record<string, number>> {
  const kinds: Record<string, number> = { req: 0, log: 0, queue: 0, user: 0, other: 0 };
  for (const pattern of [`${prefix}:*`, `{${prefix}}:*`]) {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 2000);
      cursor = next;
      for (const key of keys) {
        const kind = key.startsWith('{') ? 'queue' : (/^[^:]+:(req|log|user):/.exec(key)?.[1] ?? 'other');
        kinds[kind] = (kinds[kind] ?? 0) + 1;
      }
    } while (cursor !== '0');
  }
  return kinds;
}

export async function soak(options: SoakOptions): Promise<SoakResult> {
  const log = options.log ?? (() => {});
  const stage = await createStage('soak', {
    users: Array.from({ length: 8 }, (_, index) => `soaker${index}`),
    env: {
      RETENTION_MS: String(options.retentionMs),
      WORKER_LOCK_MS: '15000',
      MAX_CONCURRENT_GENERATIONS: '20',
      RATE_LIMIT_PER_MINUTE: '100000',
      LOG_LEVEL: 'warn',
    },
  });
  const stack = await startStack({
    gateways: 2,
    workers: 2,
    basePort: 0,
    workerBasePort: 0,
    startRedis: false,
    env: { ...stage.env, LOG_LEVEL: 'warn' },
  });
  const redis = new Redis(stage.redisUrl);
  const started = Date.now();
  const total: Figures = tally([]);
  const firstDeltas: number[] = [];
  const pings: number[] = [];
  let completedInWindow = 0;
  const samples: SoakSample[] = [];
  const clients: ChatClient[] = [];
  let running = true;
  try {
    const urls = () => stack.gateways.map((gateway) => gateway.url);
    for (let index = 0; index < options.clients; index++) {
      const user = stage.users[index % stage.users.length]!;
      const client = new ChatClient({ urls, token: user.token, firstUrl: index, secrets: stage.secrets });
      await client.connect();
      clients.push(client);
    }

    const sample = async () => {
      const rssMiB: Record<string, number> = {};
      for (const process_ of [...stack.gateways, ...stack.workers])
        rssMiB[process_.name] = Math.round((rssKiB(process_.pid) ?? 0) / 102.4) / 10;
      const entry: SoakSample = {
        atSeconds: Math.round((Date.now() - started) / 1000),
        loadAverage: Math.round((loadavg()[0] ?? 0) * 100) / 100,
        rssMiB,
        keys: await keysByKind(redis, stage.prefix),
        firstDeltaP50: percentile(firstDeltas, 0.5),
        firstDeltaP95: percentile(firstDeltas, 0.95),
        pingP50: percentile(pings, 0.5),
        pingP95: percentile(pings, 0.95),
        completedInWindow,
      };
      firstDeltas.length = 0;
      pings.length = 0;
      completedInWindow = 0;
      samples.push(entry);
      log(
        `[soak ${entry.atSeconds}s] load ${entry.loadAverage} rss ${JSON.stringify(rssMiB)} MiB keys ${JSON.stringify(entry.keys)} ` +
          `first delta p50/p95 ${entry.firstDeltaP50}/${entry.firstDeltaP95} ms ping p50/p95 ${entry.pingP50}/${entry.pingP95} ms ` +
          `completed ${entry.completedInWindow}`,
      );
    };

    const loops = clients.map(async (client, index) => {
      const clientRandom = createRandom((options.seed + index * 104_729) >>> 0);
      let counter = 0;
      let lastPing = 0;
      while (running) {
        const tokens = clientRandom.integer(options.tokens[0], options.tokens[1]);
        const id = `soak-${index}-${counter++}`;
        const tracked = client.send(
          id,
          `[[fake:answer tokens=${tokens} interval=${options.tokenIntervalMs}]] ${id}`,
          tokensAnswer(tokens),
        );
        const cancel = clientRandom.chance(options.cancelShare);
        const drop = !cancel && clientRandom.chance(options.dropShare);
        const limit = Date.now() + 120_000;
        let acted = false;
        while (!isSettled(tracked) && Date.now() < limit) {
          if (!acted && tracked.last >= Math.floor(tokens / 3) && tracked.last > 0) {
            acted = true;
            if (cancel) client.cancel(id);
            if (drop) client.dropConnection();
          }
          if (Date.now() - lastPing > 2_000 && client.connected) {
            lastPing = Date.now();
            client.ping(10_000).then(
              (elapsed) => pings.push(elapsed),
              () => pings.push(10_000),
            );
          }
          await sleep(20);
        }
        if (tracked.firstDeltaAt !== undefined) firstDeltas.push(tracked.firstDeltaAt - tracked.sentAt);
        const part = tally([tracked]);
        // A cancelled request may also complete first: either ending is fine; only loss, repeats and hangs count.
        addFigures(total, part);
        if (part.lost + part.duplicated + part.hung > 0)
          log(
            `[soak] faulty request ${id} (${cancel ? 'cancelled' : drop ? 'connection cut' : 'plain'}): ` +
              `${JSON.stringify(part)} seqs ${tracked.events.map((event) => ('seq' in event ? `${event.type.slice(5)}${event.seq}` : '')).join(' ')} ` +
              `duplicates ${tracked.duplicates} terminals ${tracked.terminals} closes ${client.closeCodes.join(',')}`,
          );
        completedInWindow++;
        client.forget(id);
        await sleep(clientRandom.integer(options.thinkMs[0], options.thinkMs[1]));
      }
    });

    await sleep(Math.min(options.sampleEveryMs, 10_000));
    await sample();
    while (Date.now() - started < options.durationMs) {
      await sleep(Math.min(options.sampleEveryMs, options.durationMs - (Date.now() - started)));
      await sample();
    }
    running = false;
    await Promise.all(loops);
    // What one finished request leaves behind once its log expired: its record (the claim of its id).
    const [, someRecord] = await redis.scan('0', 'MATCH', `${stage.prefix}:req:*`, 'COUNT', 1000);
    const metaBytesPerRequest =
      someRecord[0] === undefined ? 0 : Number(await redis.call('MEMORY', 'USAGE', someRecord[0]));
    return { samples, figures: total, metaBytesPerRequest, durationMs: Date.now() - started };
  } finally {
    running = false;
    for (const client of clients) client.close();
    redis.disconnect();
    await stack.stop({ graceMs: 5_000 });
    await stage.close();
  }
}
