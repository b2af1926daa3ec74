// The shape of a results file (bench/results/<timestamp>.json): conditions, and per target the figures of each scenario.
import type { RenderRun } from './extension-render.ts';
import type { IdleResult, StreamsResult } from './load/spec.ts';
import type { NodeCommands } from './redis-commands.ts';
import type { SyncRun } from './sync/run-sync.ts';
import type { TargetName } from './targets.ts';
import type { TranslateFigures } from './translate/run-translate.ts';

export interface ProcessUsage {
  rssStartMb: number;
  rssPeakMb: number;
  /** CPU used during the window, as a percentage of one core. */
  cpuPercent: number;
}

export interface StreamsRun extends StreamsResult {
  params: { connections: number; answerTokens: number; intervalMs: number; offeredTokensPerSecond: number };
  processes: Record<string, ProcessUsage>;
  /** Share of both cores busy during the window, every process of the machine included. */
  machineCpuPercent: number;
  /** Summed over the target's Redis nodes (a cluster's masters). */
  redisUsedMemoryDeltaMb: number;
  /** Commands per Redis node over the measured window (`INFO commandstats` deltas; older results files lack it). */
  redisCommands?: NodeCommands[];
}

export interface IdleRun extends IdleResult {
  sockets: number;
  gatewayRssBeforeMb: number;
  /** With every socket open, after a full garbage collection (what bytesPerSocket counts). */
  gatewayRssAfterMb: number;
  /** With every socket open, before that collection. */
  gatewayRssBeforeCollectionMb: number;
  /** RSS growth per socket (what the machine pays). */
  bytesPerSocket: number;
  /** JS heap + external memory per socket after a full collection (what the sockets retain). */
  heapBytesPerSocket: number;
}

export interface CapacityRun {
  /** Highest offered token rate whose p99 stayed within the limit (0: none did). */
  tokensPerSecond: number;
  p99LimitMs: number;
  levels: StreamsRun[];
}

export interface LengthRun extends StreamsRun {
  /** Redis memory of the finished answers' logs (MEMORY USAGE), per answer. */
  logBytesPerAnswer: number;
}

export interface TargetResults {
  label: string;
  description: string;
  /** Where its Redis was: one node (maybe shared with other clients) or a cluster of its own. */
  redis?: { mode: 'single' | 'cluster'; masters: string[]; replicas: number; version: string; note?: string };
  idle?: IdleRun;
  single?: StreamsRun;
  ttft?: StreamsRun;
  /** The same, each request sent a while after the previous one ended: an idle system each time. */
  ttftIdle?: StreamsRun;
  throughput?: StreamsRun;
  capacity?: CapacityRun;
  concurrency?: StreamsRun[];
  length?: LengthRun[];
  /** The history sync of a heavy user (the `system-history` target). */
  sync?: SyncRun;
  failures: string[];
}

export interface Conditions {
  cores: number;
  cpuModel: string;
  memoryGb: number;
  loadAverageBefore: number[];
  loadAverageAfter: number[];
  node: string;
  redis: string;
  commit: string;
  /** Anything that ran beside the bench (other engineers' tests, browsers), as seen by `ps`. */
  otherBusyProcesses: string[];
}

export interface BenchResults {
  version: 1;
  mode: 'quick' | 'full';
  startedAt: string;
  durationSeconds: number;
  command: string;
  conditions: Conditions;
  targets: Partial<Record<TargetName, TargetResults>>;
  /** Item 5: the side panel's rendering cost per 1,000 tokens of a long answer (or why it did not run). */
  render?: RenderRun | { skipped: string };
  /** Issue 18: the time to translate a 500-paragraph page, per worker processes and batches in flight. */
  translate?: TranslateFigures[] | { skipped: string };
}
