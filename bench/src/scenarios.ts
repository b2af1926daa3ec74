// The scenarios of a run and how each one is measured: the load from a separate process, memory and CPU from /proc.
import { readFileSync } from 'node:fs';
import { cpuSeconds } from '@chrome-plus/testkit';
import type { Redis } from 'ioredis';
import type { IdleResult, StreamsResult, StreamsSpec } from './load/spec.ts';
import { collectGarbage, rssBytes, runLoad, type Service } from './processes.ts';
import { commandCounter, type NodeCommands, type RedisNodeProbe, shares } from './redis-commands.ts';
import { memoryOf, usedMemory } from './redis-keys.ts';
import type { CapacityRun, IdleRun, LengthRun, ProcessUsage, StreamsRun } from './results.ts';
import type { SyncPlan } from './sync/run-sync.ts';
import type { RunningTarget, TargetName } from './targets.ts';

export interface Plan {
  mode: 'quick' | 'full';
  idleSockets: number;
  single: { answerTokens: number; intervalMs: number; warmupMs: number; measureMs: number };
  ttft: { warmupMs: number; measureMs: number };
  /** One socket, each request sent `thinkMs` after the previous answer ended. */
  ttftIdle: { warmupMs: number; measureMs: number; thinkMs: number };
  throughput: { connections: number; answerTokens: number; warmupMs: number; measureMs: number };
  capacity: {
    connections: number;
    intervalsMs: number[];
    warmupMs: number;
    measureMs: number;
    p99LimitMs: number;
  };
  concurrency: {
    streams: number[];
    answerTokens: number;
    intervalMs: number;
    warmupMs: number;
    measureMs: number;
  };
  length: { connections: number; intervalMs: number; answerTokens: number[] };
  /** The `system-history` target's data and measurements (sync/run-sync.ts). */
  sync: SyncPlan;
  /** Which scenarios each target runs. */
  scenarios: Record<TargetName, ScenarioName[]>;
}

export type ScenarioName =
  | 'idle'
  | 'single'
  | 'ttft'
  | 'ttft-idle'
  | 'throughput'
  | 'capacity'
  | 'concurrency'
  | 'length'
  | 'sync';

// Length before throughput: its log-memory figure counts the logs in Redis, which the later scenarios crowd; after
// single and ttft, so that its first answers do not pay for a cold start.
const everything: ScenarioName[] = [
  'idle',
  'single',
  'ttft',
  'ttft-idle',
  'length',
  'throughput',
  'capacity',
  'concurrency',
];
const baseline: ScenarioName[] = [
  'idle',
  'single',
  'ttft',
  'ttft-idle',
  'throughput',
  'capacity',
  'concurrency',
];

export const PLANS: Record<'quick' | 'full', Plan> = {
  quick: {
    mode: 'quick',
    idleSockets: 1_000,
    single: { answerTokens: 100, intervalMs: 10, warmupMs: 300, measureMs: 2_000 },
    ttft: { warmupMs: 200, measureMs: 1_500 },
    ttftIdle: { warmupMs: 300, measureMs: 2_000, thinkMs: 250 },
    throughput: { connections: 100, answerTokens: 20, warmupMs: 500, measureMs: 2_000 },
    capacity: { connections: 50, intervalsMs: [10], warmupMs: 300, measureMs: 1_500, p99LimitMs: 10 },
    concurrency: { streams: [100, 500], answerTokens: 40, intervalMs: 50, warmupMs: 500, measureMs: 2_000 },
    length: { connections: 20, intervalMs: 5, answerTokens: [200] },
    sync: {
      conversations: 500,
      messagesPerConversation: 20,
      getConcurrency: 8,
      firstSyncRuns: 1,
      streamRounds: 1,
      stream: { answerTokens: 100, intervalMs: 10, warmupMs: 300, measureMs: 2_000 },
    },
    scenarios: {
      system: everything,
      'system-1ms': [],
      'system-cluster': ['single', 'ttft', 'throughput', 'concurrency'],
      'system-history': ['sync'],
      direct: everything,
      pubsub: ['single', 'ttft', 'ttft-idle', 'concurrency'],
      socketio: ['single', 'ttft', 'ttft-idle', 'concurrency'],
    },
  },
  full: {
    mode: 'full',
    idleSockets: 10_000,
    single: { answerTokens: 200, intervalMs: 10, warmupMs: 1_000, measureMs: 10_000 },
    ttft: { warmupMs: 500, measureMs: 5_000 },
    ttftIdle: { warmupMs: 1_000, measureMs: 8_000, thinkMs: 250 },
    throughput: { connections: 200, answerTokens: 20, warmupMs: 2_000, measureMs: 6_000 },
    capacity: {
      connections: 50,
      intervalsMs: [50, 20, 10, 5, 2, 1],
      warmupMs: 1_000,
      measureMs: 3_000,
      p99LimitMs: 10,
    },
    concurrency: {
      streams: [100, 200, 500, 1_000, 2_000],
      answerTokens: 100,
      intervalMs: 50,
      warmupMs: 2_000,
      measureMs: 6_000,
    },
    length: { connections: 20, intervalMs: 5, answerTokens: [100, 1_000, 3_000] },
    // Issue 17's heavy user: 5,000 conversations, 100,000 messages; the stream as the `single` scenario's.
    sync: {
      conversations: 5_000,
      messagesPerConversation: 20,
      getConcurrency: 8,
      firstSyncRuns: 3,
      streamRounds: 2,
      stream: { answerTokens: 200, intervalMs: 10, warmupMs: 1_000, measureMs: 10_000 },
    },
    scenarios: {
      system: everything,
      'system-1ms': ['single', 'ttft', 'throughput', 'capacity', 'concurrency'],
      'system-cluster': ['single', 'ttft', 'ttft-idle', 'throughput', 'capacity', 'concurrency'],
      'system-history': ['sync'],
      direct: everything,
      pubsub: baseline,
      socketio: baseline,
    },
  },
};

export interface Context {
  target: RunningTarget;
  model: Service;
  redis: Redis;
  /**
   * The Redis nodes the target uses, each by a connection of its own: the one node, or a cluster's masters. Their
   * memory is summed and their commands counted per node over each measured window.
   */
  redisNodes: RedisNodeProbe[];
  keyPrefix: string;
  log(line: string): void;
}

/** `:20001 41% (SPUBLISH 3,120, XADD 3,120, EVALSHA 3,300) · …`: each node's share and its main commands. */
export function commandsLine(nodes: readonly NodeCommands[] | undefined, top = 3): string {
  if (nodes === undefined || nodes.length === 0) return 'not read';
  const { total, shares: parts } = shares(nodes);
  return `${total.toLocaleString('en')} in all; ${nodes
    .map((node, index) => {
      const main = Object.entries(node.calls)
        .slice(0, top)
        .map(([name, calls]) => `${name} ${calls.toLocaleString('en')}`)
        .join(', ');
      return `${node.node.replace(/^127\.0\.0\.1/, '')} ${Math.round((parts[index] ?? 0) * 100)}% (${main}; CPU ${node.cpuPercent}%)`;
    })
    .join(' · ')}`;
}

const mb = (bytes: number) => Math.round((bytes / 1_048_576) * 10) / 10;

function machineCpu(): { busy: number; total: number } {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '')
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const total = fields.reduce((sum, value) => sum + value, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { busy: total - idle, total };
}

/** Samples memory and CPU of the target's processes between `start()` and `stop()`. */
function createSampler(context: Context) {
  const processes = new Map<string, number>();
  for (const service of [...context.target.gateways, ...context.target.workers, context.model])
    processes.set(service.name.replace(`${context.target.info.name}-`, ''), service.pid);
  const usage = new Map<string, ProcessUsage & { cpuStart: number }>();
  let timer: NodeJS.Timeout | undefined;
  let startedAt = 0;
  let machineStart = machineCpu();
  let redisStart = 0;
  let redisPeak = 0;
  const commands = commandCounter(context.redisNodes);
  let commandsAtEnd: Promise<NodeCommands[]> | undefined;
  const redisMemory = async () => {
    let sum = 0;
    for (const node of context.redisNodes) sum += await usedMemory(node.redis);
    return sum;
  };
  const sample = () => {
    for (const [name, pid] of processes) {
      const entry = usage.get(name);
      if (entry) entry.rssPeakMb = Math.max(entry.rssPeakMb, mb(rssBytes(pid)));
    }
    redisMemory().then(
      (bytes) => {
        redisPeak = Math.max(redisPeak, bytes);
      },
      () => {},
    );
  };
  return {
    async start() {
      startedAt = performance.now();
      machineStart = machineCpu();
      redisStart = await redisMemory().catch(() => 0);
      commandsAtEnd = undefined;
      await commands.start();
      redisPeak = redisStart;
      for (const [name, pid] of processes) {
        const rss = mb(rssBytes(pid));
        usage.set(name, { rssStartMb: rss, rssPeakMb: rss, cpuPercent: 0, cpuStart: cpuSeconds(pid) });
      }
      timer = setInterval(sample, 250);
    },
    /** The measured window ended: the commands are counted up to here (the drain after it is not measured). */
    windowEnded() {
      commandsAtEnd ??= commands.stop();
    },
    async stop(): Promise<{
      processes: Record<string, ProcessUsage>;
      machineCpuPercent: number;
      redisUsedMemoryDeltaMb: number;
      redisCommands: NodeCommands[];
    }> {
      clearInterval(timer);
      // First, so that the window's end is read as close to the load's end as the CPU figures below.
      const redisCommands = await (commandsAtEnd ?? commands.stop());
      sample();
      const seconds = (performance.now() - startedAt) / 1000;
      const result: Record<string, ProcessUsage> = {};
      for (const [name, pid] of processes) {
        const entry = usage.get(name);
        if (entry === undefined) continue;
        result[name] = {
          rssStartMb: entry.rssStartMb,
          rssPeakMb: entry.rssPeakMb,
          cpuPercent: Math.round(((cpuSeconds(pid) - entry.cpuStart) / seconds) * 1000) / 10,
        };
      }
      const machineEnd = machineCpu();
      const machineCpuPercent =
        Math.round(
          ((machineEnd.busy - machineStart.busy) / Math.max(1, machineEnd.total - machineStart.total)) * 1000,
        ) / 10;
      return {
        processes: result,
        machineCpuPercent,
        redisUsedMemoryDeltaMb: mb(redisPeak - redisStart),
        redisCommands,
      };
    },
  };
}

function streamsSpec(
  context: Context,
  overrides: Omit<
    StreamsSpec,
    'kind' | 'protocol' | 'url' | 'tokens' | 'connectParallelism' | 'drainMs' | 'rampMs'
  > &
    Partial<StreamsSpec>,
): StreamsSpec {
  return {
    kind: 'streams',
    protocol: context.target.info.protocol,
    url: context.target.url,
    tokens: context.target.tokens,
    connectParallelism: 100,
    rampMs: 1_000,
    drainMs: 8_000,
    ...overrides,
  };
}

/** One load run with the target's processes sampled over its measured window. */
export async function measureStreams(context: Context, spec: StreamsSpec): Promise<StreamsRun> {
  const sampler = createSampler(context);
  let sampling: Promise<void> | undefined;
  if (spec.single) sampling = sampler.start();
  const result = (await runLoad(spec, {
    onWindow: (phase) => {
      if (phase === 'start') sampling = sampler.start();
      else sampling = sampling?.then(() => sampler.windowEnded());
    },
  })) as StreamsResult;
  await sampling;
  const usage = await sampler.stop();
  const run: StreamsRun = {
    ...result,
    params: {
      connections: spec.connections,
      answerTokens: spec.answerTokens,
      intervalMs: spec.intervalMs,
      offeredTokensPerSecond:
        spec.intervalMs === 0 ? 0 : Math.round((spec.connections * 1000) / spec.intervalMs),
    },
    ...usage,
  };
  const latency = run.latency;
  context.log(
    `  ${spec.connections} conn × ${spec.answerTokens} tok @${spec.intervalMs} ms: p50 ${latency.p50.toFixed(2)} p99 ${latency.p99.toFixed(2)} p99.9 ${latency.p999.toFixed(2)} ms, ` +
      `${Math.round(run.tokensPerSecond)} tok/s, ${Math.round(run.requestsPerSecond)} req/s, errors ${run.errors}, gaps ${run.gaps}, lost ${run.lostTokens}, ` +
      `cpu ${run.machineCpuPercent}% (loadgen lag p99 ${run.loadgenLoopDelay.p99.toFixed(1)} ms)`,
  );
  // The direct path uses no Redis: nothing to say.
  if ((run.redisCommands ?? []).some((node) => node.total > 0))
    context.log(`    Redis commands per node: ${commandsLine(run.redisCommands)}`);
  if (run.ttftOverhead.count > 0)
    context.log(
      `    TTFT overhead p50 ${run.ttftOverhead.p50.toFixed(2)} p99 ${run.ttftOverhead.p99.toFixed(2)} ms = request to the model p50 ${run.requestPath.p50.toFixed(2)} + first token back p50 ${run.firstTokenPath.p50.toFixed(2)} ms (${run.ttftOverhead.count} requests)`,
    );
  return run;
}

export async function runIdle(context: Context, sockets: number): Promise<IdleRun> {
  const gateway = context.target.gateways[0]!;
  // Settle first: what the process holds before any socket is its baseline.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  collectGarbage(gateway.pid);
  await new Promise((resolve) => setTimeout(resolve, 500));
  const before = rssBytes(gateway.pid);
  const heapBefore = gateway.memory();
  let heapAfter = heapBefore;
  let after = before;
  let afterRaw = before;
  const result = (await runLoad(
    {
      kind: 'idle',
      protocol: context.target.info.protocol,
      url: context.target.url,
      tokens: context.target.tokens,
      connections: sockets,
      connectParallelism: 100,
      holdMs: 60_000,
    },
    {
      onConnected: async () => {
        // Let the gateway settle (GC, buffers) before reading its memory; the sockets stay open and idle meanwhile.
        await new Promise((resolve) => setTimeout(resolve, 2_000));
        afterRaw = rssBytes(gateway.pid);
        collectGarbage(gateway.pid);
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        after = rssBytes(gateway.pid);
        heapAfter = gateway.memory();
      },
    },
  )) as IdleResult;
  const run: IdleRun = {
    ...result,
    sockets,
    gatewayRssBeforeMb: mb(before),
    gatewayRssAfterMb: mb(after),
    gatewayRssBeforeCollectionMb: mb(afterRaw),
    bytesPerSocket: result.connected === 0 ? Number.NaN : Math.round((after - before) / result.connected),
    heapBytesPerSocket:
      result.connected === 0 || heapBefore === undefined || heapAfter === undefined
        ? Number.NaN
        : Math.round(
            (heapAfter.heapUsed + heapAfter.external - heapBefore.heapUsed - heapBefore.external) /
              result.connected,
          ),
  };
  context.log(
    `  idle: ${run.connected}/${sockets} sockets in ${run.connectSeconds.toFixed(1)} s, gateway RSS ${run.gatewayRssBeforeMb} → ${run.gatewayRssBeforeCollectionMb} MB (${run.gatewayRssAfterMb} MB after a GC), ` +
      `${(run.bytesPerSocket / 1024).toFixed(1)} KB/socket (JS heap + external ${(run.heapBytesPerSocket / 1024).toFixed(1)} KB), ${run.pingsAnswered}/${run.pingsSent} pings answered`,
  );
  return run;
}

export function runSingle(context: Context, plan: Plan): Promise<StreamsRun> {
  return measureStreams(context, streamsSpec(context, { connections: 1, rampMs: 0, ...plan.single }));
}

export function runTtft(context: Context, plan: Plan): Promise<StreamsRun> {
  // Short answers back to back on a few sockets: every request is a time-to-first-token sample. Two tokens 25 ms
  // apart, so that the first one travels alone, as it does in a real answer (a one-token answer would be flushed at
  // once by its finish and hide the coalescing window).
  return measureStreams(
    context,
    streamsSpec(context, { connections: 4, rampMs: 100, answerTokens: 2, intervalMs: 25, ...plan.ttft }),
  );
}

export function runTtftIdle(context: Context, plan: Plan): Promise<StreamsRun> {
  // As a person's requests arrive: each one a while after the previous answer ended, at a system that has gone
  // idle meanwhile (blocked queue reads, pooled connections and timers all have time to settle).
  return measureStreams(
    context,
    streamsSpec(context, { connections: 1, rampMs: 0, answerTokens: 2, intervalMs: 25, ...plan.ttftIdle }),
  );
}

export function runThroughput(context: Context, plan: Plan): Promise<StreamsRun> {
  return measureStreams(context, streamsSpec(context, { intervalMs: 0, ...plan.throughput }));
}

export async function runCapacity(context: Context, plan: Plan): Promise<CapacityRun> {
  const { connections, intervalsMs, warmupMs, measureMs, p99LimitMs } = plan.capacity;
  const levels: StreamsRun[] = [];
  let capacity = 0;
  for (const intervalMs of intervalsMs) {
    const spec = streamsSpec(context, {
      connections,
      intervalMs,
      // Two seconds of answer per request, whatever the rate.
      answerTokens: Math.max(20, Math.round(2_000 / intervalMs)),
      warmupMs,
      measureMs,
    });
    const passes = (run: StreamsRun) =>
      run.latency.p99 <= p99LimitMs &&
      run.tokensPerSecond >= 0.95 * run.params.offeredTokensPerSecond &&
      run.errors === 0;
    // A level gets a second try before it counts as failed: one hiccup of a shared machine should not end the sweep.
    let run = await measureStreams(context, spec);
    if (!passes(run)) {
      const retry = await measureStreams(context, spec);
      if (passes(retry) || retry.latency.p99 < run.latency.p99) run = retry;
    }
    levels.push(run);
    if (!passes(run)) break;
    capacity = run.params.offeredTokensPerSecond;
  }
  context.log(`  capacity (p99 ≤ ${p99LimitMs} ms): ${capacity} tokens/s`);
  return { tokensPerSecond: capacity, p99LimitMs, levels };
}

export async function runConcurrency(context: Context, plan: Plan): Promise<StreamsRun[]> {
  const { streams, ...rest } = plan.concurrency;
  const runs: StreamsRun[] = [];
  for (const connections of streams) {
    runs.push(await measureStreams(context, streamsSpec(context, { connections, ...rest })));
  }
  return runs;
}

export async function runLength(context: Context, plan: Plan): Promise<LengthRun[]> {
  const runs: LengthRun[] = [];
  const logPattern = `${context.keyPrefix}:log:*`;
  const logMemory = async () => {
    const sum = { keys: 0, bytes: 0 };
    for (const node of context.redisNodes) {
      const { keys, bytes } = await memoryOf(node.redis, logPattern);
      sum.keys += keys;
      sum.bytes += bytes;
    }
    return sum;
  };
  for (const answerTokens of plan.length.answerTokens) {
    const before = await logMemory();
    const run = await measureStreams(
      context,
      streamsSpec(context, {
        connections: plan.length.connections,
        intervalMs: plan.length.intervalMs,
        answerTokens,
        single: true,
        rampMs: 200,
        warmupMs: 0,
        measureMs: 0,
      }),
    );
    const after = await logMemory();
    const answers = after.keys - before.keys;
    const logBytesPerAnswer = answers > 0 ? Math.round((after.bytes - before.bytes) / answers) : 0;
    if (answers > 0) context.log(`  log memory: ${logBytesPerAnswer} bytes per ${answerTokens}-token answer`);
    runs.push({ ...run, logBytesPerAnswer });
  }
  return runs;
}
