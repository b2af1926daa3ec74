// Issue 18's translation benchmark: a page of 500 paragraphs translated through the real system as the panel does
// it (client/src/translation-batches.ts: batches, prompts, answers read back; each batch one chat request, at most
// the per-user concurrent generations in flight), against a gateway and a worker role whose WORKER_PROCESSES is 1
// or 4, and a model server that streams each batch's translation word by word at a set pace. Reported: the time to
// the whole page, to the first batch (the visible part), the slowest batch, and the sum of the batches' times,
// which a page translated one batch after another would take.
import { randomBytes } from 'node:crypto';
import {
  batchMessage,
  ChatClient,
  type PageBlock,
  parseTranslations,
  planBatches,
  type RequestEvent,
  socketOpener,
  translationSystemPrompt,
} from '@chrome-plus/client';
import {
  cleanupPrefix,
  type FakeOpenAI,
  freePort,
  REDIS_URL,
  type RecordedRequest,
  type RoleProcess,
  startFakeOpenAI,
  startRole,
} from '@chrome-plus/testkit';
import WebSocket from 'ws';

export interface TranslateCase {
  workerProcesses: number;
  /** MAX_CONCURRENT_GENERATIONS of the user, which is also how many batches the client keeps in flight. */
  concurrency: number;
}

export interface TranslateFigures extends TranslateCase {
  paragraphs: number;
  batches: number;
  /** Pause between the model's words (ms). */
  wordIntervalMs: number;
  totalMs: number;
  firstBatchMs: number;
  slowestBatchMs: number;
  sumOfBatchesMs: number;
  translated: number;
  missing: number;
}

export const defaultTranslateCases: TranslateCase[] = [
  { workerProcesses: 1, concurrency: 4 },
  { workerProcesses: 1, concurrency: 32 },
  { workerProcesses: 4, concurrency: 32 },
];

/** 500 paragraphs of 12–20 words, the first 8 in the viewport. */
function page(paragraphs: number): PageBlock[] {
  return Array.from({ length: paragraphs }, (_, index) => ({
    index,
    text: `${Array.from({ length: 12 + (index % 9) }, (_, word) => `word${index}-${word}`).join(' ')}.`,
    visible: index < 8,
  }));
}

/** The model translates "[[n]] text" into "[[n]] 译 text", one streamed piece per word. */
function translator(wordIntervalMs: number) {
  return (request: RecordedRequest) => {
    const messages = (request.body?.messages ?? []) as { content: unknown }[];
    const user = String(messages.at(-1)?.content ?? '');
    const pieces = [...user.matchAll(/\[\[(\d+)\]\] (.*)/g)].flatMap((match) => [
      `[[${match[1]}]] 译`,
      ...(match[2] ?? '').split(' ').map((word) => ` ${word}`),
      '\n',
    ]);
    return { type: 'answer' as const, pieces, tokenIntervalMs: wordIntervalMs };
  };
}

async function translateOnce(
  fake: FakeOpenAI,
  one: TranslateCase,
  paragraphs: number,
  wordIntervalMs: number,
): Promise<TranslateFigures> {
  const prefix = `benchtr${randomBytes(3).toString('hex')}`;
  const port = await freePort();
  const token = 'bench-translate-token-0001';
  const env = {
    HOST: '127.0.0.1',
    PORT: String(port),
    REDIS_URL,
    KEY_PREFIX: prefix,
    AUTH_TOKENS: `reader:${token}`,
    DATABASE_URL: 'none',
    LOG_LEVEL: 'warn',
    OPENAI_BASE_URL: fake.url,
    OPENAI_API_KEY: 'bench',
    OPENAI_MODEL: 'fake-model',
    MAX_CONCURRENT_GENERATIONS: String(one.concurrency),
    RATE_LIMIT_PER_MINUTE: '100000',
    WORKER_PROCESSES: String(one.workerProcesses),
  };
  const roles: RoleProcess[] = [];
  const pending = new Map<string, { text: string; settle: (text: string | undefined) => void }>();
  let client: ChatClient | undefined;
  try {
    roles.push(await startRole('gateway', env, { logLevel: 'info' }));
    roles.push(await startRole('worker', env, { logLevel: 'info', timeoutMs: 60_000 }));
    const onEvent = (event: RequestEvent) => {
      const request = pending.get(event.id);
      if (request === undefined) return;
      if (event.type === 'chat.delta') request.text += event.text ?? '';
      else if (event.type === 'chat.restart') request.text = '';
      else if (event.type === 'chat.done') request.settle(request.text);
      else if (event.type === 'chat.error' || event.type === 'chat.cancelled') request.settle(undefined);
    };
    let welcomed = () => {};
    const connected = new Promise<void>((resolve) => {
      welcomed = resolve;
    });
    client = new ChatClient({
      url: `ws://127.0.0.1:${port}/v1/ws`,
      token,
      openSocket: socketOpener(WebSocket),
      onEvent,
      onStatus: (status) => {
        if (status.state === 'connected') welcomed();
      },
    });
    client.start();
    await connected;

    const queue = planBatches(page(paragraphs));
    const batches = queue.length;
    const durations: number[] = [];
    let firstBatchMs = Number.POSITIVE_INFINITY;
    let translated = 0;
    let missing = 0;
    const started = performance.now();
    const lane = async () => {
      for (let batch = queue.shift(); batch !== undefined; batch = queue.shift()) {
        const id = `tr-${randomBytes(6).toString('hex')}`;
        const sentAt = performance.now();
        const text = await new Promise<string | undefined>((resolve) => {
          const settle = (answer: string | undefined) => {
            pending.delete(id);
            resolve(answer);
          };
          pending.set(id, { text: '', settle });
          client!.send({
            type: 'chat.send',
            id,
            messages: [
              { role: 'system', content: translationSystemPrompt('zh-CN') },
              { role: 'user', content: batchMessage(batch) },
            ],
          });
        });
        const endedAt = performance.now();
        durations.push(endedAt - sentAt);
        if (batch[0]?.visible) firstBatchMs = Math.min(firstBatchMs, endedAt - started);
        const read = parseTranslations(text ?? '', batch);
        translated += read.translations.size;
        missing += read.missing.length;
      }
    };
    await Promise.all(Array.from({ length: Math.min(one.concurrency, batches) }, lane));
    return {
      ...one,
      paragraphs,
      batches,
      wordIntervalMs,
      totalMs: performance.now() - started,
      firstBatchMs,
      slowestBatchMs: Math.max(...durations),
      sumOfBatchesMs: durations.reduce((sum, value) => sum + value, 0),
      translated,
      missing,
    };
  } finally {
    client?.stop();
    for (const role of roles.reverse()) await role.kill();
    await cleanupPrefix(prefix);
  }
}

/** Each case in turn, on one model server. */
export async function runTranslateBench(
  options: { paragraphs?: number; wordIntervalMs?: number; cases?: TranslateCase[] } = {},
): Promise<TranslateFigures[]> {
  const paragraphs = options.paragraphs ?? 500;
  const wordIntervalMs = options.wordIntervalMs ?? 5;
  const fake = await startFakeOpenAI();
  fake.script(translator(wordIntervalMs));
  try {
    const figures: TranslateFigures[] = [];
    for (const one of options.cases ?? defaultTranslateCases)
      figures.push(await translateOnce(fake, one, paragraphs, wordIntervalMs));
    return figures;
  } finally {
    await fake.close();
  }
}

/** The report's lines, one per case. */
export function translateLines(figures: readonly TranslateFigures[]): string {
  const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  return figures
    .map(
      (one) =>
        `  ${one.paragraphs} paragraphs in ${one.batches} batches, ${one.workerProcesses} worker process(es), ` +
        `${one.concurrency} in flight: whole page ${seconds(one.totalMs)}, first (visible) batch ` +
        `${seconds(one.firstBatchMs)}, slowest batch ${seconds(one.slowestBatchMs)}, batches one after another ` +
        `${seconds(one.sumOfBatchesMs)}; translated ${one.translated}, missing ${one.missing}`,
    )
    .join('\n');
}

// `node --import tsx bench/src/translate/run-translate.ts`: the cases alone, printed.
if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(translateLines(await runTranslateBench()));
}
