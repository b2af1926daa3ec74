// Model API faults through real gateway and worker processes: the API down (connection refused), slow, silent,
// cut mid-stream, failing, and answering 429 in bursts. Every request must end once, with the outcome its fault calls for.
import { createServer } from 'node:net';
import { lastUserText, sleep } from '@chrome-plus/testkit';
import { type Figures, requestsOf, type Tracked, tally, tokensAnswer } from './chat-client.ts';
import { createRandom } from './random.ts';
import { openClients, type ScenarioResult } from './scenario.ts';
import { createStage, leakedSecrets } from './stage.ts';

/** A fault, the request that provokes it, and the outcomes it allows. */
interface FaultKind {
  name: string;
  content(unique: string): string;
  /** The answer when it completes (undefined: not checked). */
  expected(unique: string): string | undefined;
  /** Allowed endings: 'done' or an error code. */
  outcomes: string[];
  model?: string;
}

const echo = (unique: string) => `Echo: ${unique}`;

const faultKinds: FaultKind[] = [
  {
    name: 'model API down (connection refused)',
    content: (unique) => unique,
    expected: () => undefined,
    outcomes: ['provider_error'],
    model: 'down-model',
  },
  {
    name: 'model slow (400 ms between tokens)',
    content: (unique) => `[[fake:answer tokens=6 interval=400]] ${unique}`,
    expected: () => tokensAnswer(6),
    outcomes: ['done'],
  },
  {
    name: 'model never answers (hang)',
    content: (unique) => `[[fake:hang]] ${unique}`,
    expected: () => undefined,
    outcomes: ['provider_timeout'],
  },
  {
    name: 'model goes silent mid-stream',
    content: (unique) => `[[fake:silent after=2]] ${unique}`,
    expected: () => undefined,
    outcomes: ['provider_timeout'],
  },
  {
    name: 'stream cut mid-answer',
    content: (unique) => `[[fake:cut after=2]] ${unique}`,
    expected: () => undefined,
    outcomes: ['provider_error'],
  },
  {
    name: 'error inside the stream',
    content: (unique) => `[[fake:stream_error after=1]] ${unique}`,
    expected: () => undefined,
    outcomes: ['provider_error'],
  },
  {
    name: 'cut before any text, then fine',
    content: (unique) => `[[fake:cut after=0 times=1]] ${unique}`,
    expected: echo,
    outcomes: ['done'],
  },
  {
    name: '500 twice, then fine',
    content: (unique) => `[[fake:server_error times=2]] ${unique}`,
    expected: echo,
    outcomes: ['done'],
  },
  {
    name: '429 twice (Retry-After 1 s), then fine',
    content: (unique) => `[[fake:rate_limit retry_after=1 times=2]] ${unique}`,
    expected: echo,
    outcomes: ['done'],
  },
  {
    name: '429 on every call',
    content: (unique) => `[[fake:rate_limit retry_after=1]] ${unique}`,
    expected: () => undefined,
    outcomes: ['rate_limited'],
  },
  {
    name: '429 bursts (every call refused 1.5 s out of 4 s)',
    content: (unique) => `burst ${unique}`,
    expected: (unique) => `Echo: burst ${unique}`,
    outcomes: ['done', 'rate_limited'],
  },
];

export interface ModelFaultOptions {
  seed: number;
  /** Requests of each kind. */
  perKind: number;
  workers: number;
  clients: number;
  spacingMs: number;
  settleMs: number;
}

export interface ModelFaultResult extends ScenarioResult {
  /** Requests that ended in a way their fault does not allow (counted apart from lost/duplicated/hung). */
  unexpected: number;
}

function endingOf(tracked: Tracked): string {
  const last = tracked.events.at(-1);
  if (last?.type === 'chat.done') return 'done';
  if (last?.type === 'chat.error') return last.code;
  if (last?.type === 'chat.cancelled') return 'cancelled';
  return tracked.refusal === undefined ? 'none' : `refused:${tracked.refusal.code}`;
}

/** A port where nothing listens: connections to it are refused. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 1;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Runs every fault kind at once, mixed in random order, and returns one result per kind. */
export async function modelFaults(options: ModelFaultOptions): Promise<ModelFaultResult[]> {
  const random = createRandom(options.seed);
  const stage = await createStage('model', {
    env: {
      DEEPSEEK_BASE_URL: `http://127.0.0.1:${await deadPort()}/v1`,
      DEEPSEEK_API_KEY: 'sk-reliability-down-provider-key',
      DEEPSEEK_MODEL: 'down-model',
      PROVIDER_CONNECT_TIMEOUT_MS: '1000',
      PROVIDER_IDLE_TIMEOUT_MS: '1000',
      PROVIDER_MAX_ATTEMPTS: '3',
      PROVIDER_RETRY_BASE_MS: '100',
      PROVIDER_RETRY_MAX_MS: '1000',
    },
  });
  stage.secrets.push('sk-reliability-down-provider-key');
  const burstStart = Date.now();
  stage.fake.script((request) => {
    if (!lastUserText(request.body).startsWith('burst ')) return undefined;
    const phase = (Date.now() - burstStart) % 4_000;
    if (phase >= 1_500) return undefined;
    return {
      type: 'status',
      status: 429,
      headers: { 'retry-after': '1' },
      error: { message: 'Rate limit reached for requests', type: 'requests', code: 'rate_limit_exceeded' },
    };
  });
  try {
    const gateway = await stage.fleet.start('gateway');
    for (let index = 0; index < options.workers; index++)
      await stage.fleet.start('worker', `worker-${index}`);
    const clients = await openClients(stage, options.clients, () => [gateway.url]);
    const plan: { kind: FaultKind; unique: string }[] = [];
    faultKinds.forEach((kind, kindIndex) => {
      for (let index = 0; index < options.perKind; index++)
        plan.push({ kind, unique: `k${kindIndex}r${index}s${options.seed}` });
    });
    // Fisher-Yates with the seeded generator: the mix replays from its seed.
    for (let index = plan.length - 1; index > 0; index--) {
      const other = random.integer(0, index);
      [plan[index], plan[other]] = [plan[other]!, plan[index]!];
    }
    const kindOf = new Map<string, FaultKind>();
    for (const [index, { kind, unique }] of plan.entries()) {
      const id = `mf-${unique}`;
      kindOf.set(id, kind);
      clients[index % clients.length]!.send(id, kind.content(unique), kind.expected(unique), kind.model);
      await sleep(options.spacingMs);
    }
    await Promise.all(clients.map((client) => client.waitSettled(options.settleMs)));
    for (const client of clients) client.close();

    const processLeaks = leakedSecrets(stage.secrets, [stage.fleet.output()]);
    const frameLeaks = clients.flatMap((client) => client.leaks);
    const crashes = stage.fleet.started.filter((process_) => !process_.alive()).length;
    const all = requestsOf(clients);
    return faultKinds.map((kind) => {
      const requests = all.filter((tracked) => kindOf.get(tracked.id) === kind);
      const details: string[] = [];
      const figures: Figures = tally(requests, details);
      let unexpected = 0;
      for (const tracked of requests) {
        const ending = endingOf(tracked);
        if (!kind.outcomes.includes(ending)) {
          unexpected++;
          details.push(`${tracked.id}: ended with ${ending}, expected ${kind.outcomes.join(' or ')}`);
        }
      }
      return {
        name: kind.name,
        figures,
        details,
        notes: [`expected endings: ${kind.outcomes.join(' or ')}`],
        leaks: [...new Set([...processLeaks, ...frameLeaks])],
        crashes,
        unexpected,
      };
    });
  } finally {
    stage.fake.script(undefined);
    await stage.close();
  }
}
