// The `sync` scenario (issue 17, "Scale and speed"): a user of 5,000 conversations and 100,000 messages in a real
// PostgreSQL behind the real gateway and worker. (1) A fresh device's first full sync (list all, then get each live
// conversation), and a list-only one; (2) a catch-up of 10 changes made by another device; (3) one stream's per-token
// latency alone and while another user's device runs full syncs back to back, in alternating rounds.
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { cpuSeconds } from '@chrome-plus/testkit';
import type { StreamsSpec } from '../load/spec.ts';
import { baseEnv, bundlePath } from '../processes.ts';
import type { StreamsRun } from '../results.ts';
import { type Context, measureStreams } from '../scenarios.ts';
import { type Frame, HistoryClient, type SyncFigures } from './history-client.ts';
import { backendPids, explainSync, type QueryPlan, type SeedFigures, seedHistory } from './seed.ts';
import type { SyncLoopResult, SyncProcessSpec } from './sync-process.ts';

export interface SyncPlan {
  conversations: number;
  messagesPerConversation: number;
  /** history.get requests in flight at once during a full sync. */
  getConcurrency: number;
  /** Fresh devices synced one after another (each a new socket from cursor 0). */
  firstSyncRuns: number;
  /** Rounds of (one stream alone, one stream beside full syncs). */
  streamRounds: number;
  stream: { answerTokens: number; intervalMs: number; warmupMs: number; measureMs: number };
}

export interface SyncRun {
  user: string;
  seed: SeedFigures;
  getConcurrency: number;
  plans: QueryPlan[];
  /** Fresh devices: list + get of every live conversation, with the CPU the gateway and PostgreSQL spent on each. */
  firstSync: (SyncFigures & ServerCpu)[];
  /** A fresh device that lists only. */
  listOnly: SyncFigures;
  catchUp: SyncFigures & { changes: number };
  streaming: { alone: StreamsRun[]; withSync: StreamsRun[]; syncsDuringWindow: SyncFigures[][] };
  loadAverage: { before: number[]; after: number[] };
}

export interface ServerCpu {
  /** CPU seconds the gateway process, and the PostgreSQL backends of this database, spent during the sync. */
  gatewayCpuSeconds: number;
  postgresCpuSeconds: number;
}

const USER = 'heavy';
const round = (values: number[]) => values.map((value) => Math.round(value * 100) / 100);

/** One device in a process of its own (sync-process.ts). */
function startDevice(spec: SyncProcessSpec) {
  const child = spawn(process.execPath, [bundlePath('sync-process')], {
    env: { ...baseEnv(), BENCH_SYNC_SPEC: JSON.stringify(spec) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let buffered = '';
  let onStarted: () => void = () => {};
  const started = new Promise<void>((resolve) => {
    onStarted = resolve;
  });
  const result = new Promise<unknown>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      for (let end = buffered.indexOf('\n'); end >= 0; end = buffered.indexOf('\n')) {
        const line = JSON.parse(buffered.slice(0, end)) as {
          started?: true;
          result?: unknown;
          failed?: string;
        };
        buffered = buffered.slice(end + 1);
        if (line.started) onStarted();
        if (line.result !== undefined) resolve(line.result);
        if (line.failed !== undefined) reject(new Error(`sync device: ${line.failed}`));
      }
    });
    child.on('exit', (code) => reject(new Error(`sync device exited (${code}) without a result`)));
  });
  return { started, result, stop: () => child.kill('SIGTERM') };
}

async function admin(base: string, token: string, path: string, body: unknown): Promise<Frame> {
  const response = await fetch(`${base}/v1/admin/${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const answer = (await response.json()) as Frame;
  if (!response.ok) throw new Error(`admin ${path}: ${response.status} ${String(answer.message)}`);
  return answer;
}

/**
 * Ten changes from another device of the user: 4 renames, a clear, a delete (one change each) and 2 questions into
 * existing conversations (two changes each: the question, recorded by the gateway, and its answer, by the worker).
 */
async function makeChanges(url: string, token: string): Promise<number> {
  const other = await HistoryClient.open(url, token);
  const id = (n: number) => `conv-${String(n).padStart(6, '0')}`;
  // Listing makes this socket follow the feed: it hears of the worker's answers.
  await other.request({ type: 'history.list', after: 0, limit: 1 });
  for (const n of [11, 12, 13, 14])
    await other.request({ type: 'history.rename', conversationId: id(n), title: `Renamed ${n}` });
  await other.request({ type: 'history.clear', conversationId: id(15) });
  await other.request({ type: 'history.delete', conversationId: id(16) });
  for (const n of [17, 18]) {
    const requestId = `catch-up-${n}-${Date.now()}`;
    const answered = other.next(
      (frame) =>
        frame.type === 'history.changed' && frame.conversationId === id(n) && frame.change === 'message',
    );
    other.send({
      type: 'chat.send',
      id: requestId,
      conversationId: id(n),
      messages: [
        { role: 'user', content: '[[bench tokens=20 interval=0]] a question while the laptop is away' },
      ],
    });
    await answered;
  }
  other.close();
  return 4 + 1 + 1 + 2 * 2;
}

export async function runSync(
  context: Context,
  plan: SyncPlan,
  options: { databaseUrl: string; adminToken: string },
): Promise<SyncRun> {
  const loadBefore = round(loadavg());
  const { url } = context.target;
  const base = url.replace(/^ws/, 'http').replace(/\/v1\/ws$/, '');
  await admin(base, options.adminToken, 'users', { name: USER });
  const tokenOf = async (device: string) =>
    String((await admin(base, options.adminToken, `users/${USER}/tokens`, { device })).token);
  const [fresh, other] = [await tokenOf('fresh'), await tokenOf('other')];

  context.log(
    `  seeding ${plan.conversations.toLocaleString('en')} conversations × ${plan.messagesPerConversation} messages`,
  );
  const seed = await seedHistory(options.databaseUrl, USER, plan);
  context.log(
    `  seeded ${seed.messages.toLocaleString('en')} messages (${(seed.contentCharacters / 1e6).toFixed(1)} M characters) in ${seed.seconds} s; database ${seed.databaseMb} MB`,
  );
  const plans = await explainSync(options.databaseUrl, USER);
  for (const { query, nodes, executionMs } of plans)
    context.log(`  plan of ${query}: ${nodes}, ${executionMs} ms`);

  const device = (after: number, fetchMessages: boolean) =>
    startDevice({
      url,
      token: fresh,
      mode: 'once',
      after,
      getConcurrency: plan.getConcurrency,
      fetchMessages,
    }).result as Promise<SyncFigures>;
  const describe = (figures: SyncFigures) =>
    `${figures.conversations} conversations (+${figures.tombstones} tombstones) in ${figures.pages} pages ${figures.listMs.toFixed(0)} ms ${(figures.listBytes / 1024).toFixed(0)} KB; ` +
    `${figures.gets} gets, ${figures.messages} messages ${figures.getMs.toFixed(0)} ms ${(figures.getBytes / 1_048_576).toFixed(1)} MB; ` +
    `total ${figures.totalMs.toFixed(0)} ms, ${(figures.totalBytes / 1_048_576).toFixed(2)} MB`;

  const gatewayPid = context.target.gateways[0]!.pid;
  const firstSync: (SyncFigures & ServerCpu)[] = [];
  for (let run = 0; run < plan.firstSyncRuns; run++) {
    const gatewayBefore = cpuSeconds(gatewayPid);
    const backendsBefore = new Map(
      (await backendPids(options.databaseUrl)).map((pid) => [pid, cpuSeconds(pid)]),
    );
    const figures = await device(0, true);
    // A backend that began during the sync counts from 0; one that ended during it is missed (pools keep theirs).
    let postgresCpuSeconds = 0;
    for (const pid of await backendPids(options.databaseUrl))
      postgresCpuSeconds += cpuSeconds(pid) - (backendsBefore.get(pid) ?? 0);
    const gatewayCpuSeconds = cpuSeconds(gatewayPid) - gatewayBefore;
    firstSync.push({ ...figures, gatewayCpuSeconds, postgresCpuSeconds });
    context.log(
      `  first sync ${run + 1} (${plan.getConcurrency} gets in flight): ${describe(figures)}; CPU: gateway ${gatewayCpuSeconds.toFixed(2)} s, PostgreSQL ${postgresCpuSeconds.toFixed(2)} s`,
    );
  }
  const listOnly = await device(0, false);
  context.log(`  list only: ${describe(listOnly)}`);

  const cursor = firstSync[0]!.cursor;
  const changes = await makeChanges(url, other);
  const catchUp = { ...(await device(cursor, true)), changes };
  context.log(`  catch-up of ${changes} changes from cursor ${cursor}: ${describe(catchUp)}`);

  const stream: StreamsSpec = {
    kind: 'streams',
    protocol: 'ws',
    url,
    tokens: context.target.tokens,
    connections: 1,
    connectParallelism: 1,
    rampMs: 0,
    drainMs: 8_000,
    ...plan.stream,
  };
  const alone: StreamsRun[] = [];
  const withSync: StreamsRun[] = [];
  const syncsDuringWindow: SyncFigures[][] = [];
  for (let index = 0; index < plan.streamRounds; index++) {
    context.log(`  round ${index + 1}: one stream alone`);
    alone.push(await measureStreams(context, stream));
    context.log(`  round ${index + 1}: one stream while ${USER}'s other socket runs full syncs back to back`);
    const loop = startDevice({
      url,
      token: other,
      mode: 'loop',
      after: 0,
      getConcurrency: plan.getConcurrency,
      fetchMessages: true,
    });
    await loop.started;
    withSync.push(await measureStreams(context, stream));
    loop.stop();
    const { syncs } = (await loop.result) as SyncLoopResult;
    syncsDuringWindow.push(syncs);
    context.log(
      `    ${syncs.length} full syncs finished beside it (${syncs.map((figures) => figures.totalMs.toFixed(0)).join(', ')} ms)`,
    );
  }
  return {
    user: USER,
    seed,
    getConcurrency: plan.getConcurrency,
    plans,
    firstSync,
    listOnly,
    catchUp,
    streaming: { alone, withSync, syncsDuringWindow },
    loadAverage: { before: loadBefore, after: round(loadavg()) },
  };
}
