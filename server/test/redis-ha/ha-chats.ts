// What the Sentinel and Cluster suites share: two gateways and two workers on a Redis topology, answers of a known
// text through both gateways, and the checks that each answer came whole, exactly once, within a measured stall.
import assert from 'node:assert/strict';
import type { ServerFrame } from '@chrome-plus/protocol';
import { type FakeOpenAI, Fleet, type RoleProcess, startFakeOpenAI } from '@chrome-plus/testkit';
import { requestKey } from '../../src/generations/keys.ts';
import { answerOf, chatSend, isTerminal, TestClient } from '../harness.ts';

export const USER = 'alice';
const TOKEN = 'token-alice-redis-ha';

export interface HaStage {
  fake: FakeOpenAI;
  fleet: Fleet;
  gateways: RoleProcess[];
  workers: RoleProcess[];
  /** A client signed in on gateway `index`, each frame stamped with its arrival time. */
  client(index: number): Promise<TimedClient>;
  close(): Promise<void>;
}

/** Starts the fake model and 2 gateways + 2 workers with the topology's environment (REDIS_SENTINELS...). */
export async function startHaStage(prefix: string, redisEnv: Record<string, string>): Promise<HaStage> {
  const fake = await startFakeOpenAI();
  const fleet = new Fleet({
    HOST: '127.0.0.1',
    PORT: '0',
    KEY_PREFIX: prefix,
    AUTH_TOKENS: `${USER}:${TOKEN}`,
    OPENAI_BASE_URL: fake.url,
    OPENAI_API_KEY: 'sk-redis-ha',
    OPENAI_MODEL: 'fake-model',
    WORKER_CONCURRENCY: '16',
    WORKER_LOCK_MS: '10000',
    SHUTDOWN_GRACE_MS: '300',
    RATE_LIMIT_PER_MINUTE: '10000',
    MAX_CONCURRENT_GENERATIONS: '100',
    PROVIDER_IDLE_TIMEOUT_MS: '10000',
    PROVIDER_TOTAL_TIMEOUT_MS: '60000',
    ...redisEnv,
  });
  const clients: TimedClient[] = [];
  try {
    const started = await Promise.all([
      fleet.start('gateway', 'gateway-1'),
      fleet.start('gateway', 'gateway-2'),
      fleet.start('worker', 'worker-1'),
      fleet.start('worker', 'worker-2'),
    ]);
    return {
      fake,
      fleet,
      gateways: started.slice(0, 2),
      workers: started.slice(2),
      async client(index) {
        const client = await TimedClient.open(started[index]!.url);
        clients.push(client);
        return client;
      },
      async close() {
        for (const client of clients) client.close();
        await fleet.stop();
        await fake.close();
      },
    };
  } catch (error) {
    await fleet.stop();
    await fake.close();
    throw new Error(`${(error as Error).message}\n${fleet.output().slice(-3_000)}`);
  }
}

/** The harness's client, with each frame's arrival time. */
export class TimedClient {
  readonly arrivals: { frame: ServerFrame; at: number }[] = [];

  private constructor(readonly client: TestClient) {
    const seen = client.frames.length;
    client.socket.on('message', () => {
      // The harness parsed it just before (its listener was added first).
      const frame = client.frames.at(-1);
      if (frame !== undefined && client.frames.length > seen) this.arrivals.push({ frame, at: Date.now() });
    });
  }

  static async open(url: string): Promise<TimedClient> {
    return new TimedClient(await TestClient.open(url, TOKEN));
  }

  send(frame: unknown): void {
    this.client.send(frame);
  }

  untilEnd(id: string, timeoutMs = 30_000): Promise<ServerFrame[]> {
    return this.client.untilEnd(id, timeoutMs);
  }

  /** The longest wait between two events of `id`, from its first event to its last (ms). */
  longestGap(id: string): number {
    const times = this.arrivals
      .filter(({ frame }) => 'id' in frame && frame.id === id && 'seq' in frame && frame.seq !== undefined)
      .map(({ at }) => at);
    let longest = 0;
    for (let index = 1; index < times.length; index++)
      longest = Math.max(longest, times[index]! - times[index - 1]!);
    return longest;
  }

  close(): void {
    this.client.close();
  }
}

/** The fake model's answer to `[[fake:answer tokens=N ...]]`. */
export function expectedAnswer(tokens: number): string {
  return Array.from({ length: tokens }, (_, index) => `tok${index + 1} `).join('');
}

/** Each seq once, in order from 1, one terminal event, last, a chat.done, and the whole answer since any restart. */
export function assertComplete(events: ServerFrame[], tokens: number, what: string): void {
  const seqs = events.map((event) => (event as { seq: number }).seq);
  assert.deepEqual(
    seqs,
    seqs.map((_, index) => index + 1),
    `${what}: every seq once, in order (got ${seqs.join(',')})`,
  );
  const terminals = events.filter(isTerminal);
  assert.equal(terminals.length, 1, `${what}: one terminal event`);
  assert.equal(
    events.at(-1)?.type,
    'chat.done',
    `${what}: ends with chat.done: ${JSON.stringify(events.at(-1))}`,
  );
  assert.equal(answerOf(events), expectedAnswer(tokens), `${what}: the whole answer`);
}

export interface AnswersRun {
  ids: string[];
  /** The longest wait between two events of any of the answers (ms). */
  stallMs: number;
}

/**
 * Sends `count` requests, alternately through each client, for answers of `tokens` tokens `interval` ms apart;
 * runs `during` once every answer has begun; checks every answer whole and exactly once.
 */
export async function runAnswers(options: {
  clients: TimedClient[];
  name: string;
  count: number;
  tokens: number;
  interval: number;
  during?: () => Promise<void>;
  /** The roles' logs, whose warnings and errors a hung answer's failure shows (the last 40 lines of them). */
  output?: () => string;
}): Promise<AnswersRun> {
  const { clients, name, count, tokens, interval } = options;
  const ids = Array.from({ length: count }, (_, index) => `${name}-${index}`);
  ids.forEach((id, index) => {
    clients[index % clients.length]!.send(
      chatSend(id, `[[fake:answer tokens=${tokens} interval=${interval}]] ${id}`),
    );
  });
  // Every answer has begun: its first delta arrived.
  await Promise.all(
    ids.map((id, index) =>
      clients[index % clients.length]!.client.next(
        (frame) => frame.type === 'chat.delta' && frame.id === id,
        20_000,
      ),
    ),
  );
  await options.during?.();
  let stallMs = 0;
  for (const [index, id] of ids.entries()) {
    const client = clients[index % clients.length]!;
    const events = await client.untilEnd(id, 60_000).catch((error: Error) => {
      const logged = (options.output?.() ?? '')
        .split('\n')
        .filter((line) => /"level":(40|50|60)|error|warn/i.test(line))
        .slice(-40)
        .join('\n');
      throw new Error(`${error.message}\nthe roles' warnings and errors:\n${logged}`);
    });
    assertComplete(events, tokens, id);
    stallMs = Math.max(stallMs, client.longestGap(id));
  }
  return { ids, stallMs };
}

/** The request key of one of USER's ids (the hash tag of its keys and channel). */
export function keyOf(id: string): string {
  return requestKey(USER, id);
}

/** Chats on gateway 1, drops the socket mid-answer, resumes on gateway 2 from the last seq held. */
export async function resumeAcrossGateways(stage: HaStage, id: string, tokens: number): Promise<void> {
  const first = await stage.client(0);
  first.send(chatSend(id, `[[fake:answer tokens=${tokens} interval=20]] ${id}`));
  await first.client.next(
    (frame) => frame.type === 'chat.delta' && frame.id === id && (frame.seq ?? 0) >= 3,
    20_000,
  );
  first.close();
  const held = first.client.events(id);
  const last = (held.at(-1) as { seq: number }).seq;
  const second = await stage.client(1);
  second.send({ type: 'chat.resume', id, after: last });
  const rest = await second.untilEnd(id, 30_000);
  assertComplete([...held, ...rest], tokens, `${id} resumed on the other gateway after seq ${last}`);
}
