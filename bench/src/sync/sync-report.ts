// The sync scenario's figures as a person reads them: the headline metrics (for the figures table and --compare) and
// a block of lines with every run, the plans' execution times and the load average.
import type { Summary } from '../stats.ts';
import type { SyncFigures } from './history-client.ts';
import type { SyncRun } from './run-sync.ts';

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const mb = (bytes: number) => bytes / 1_048_576;

export interface SyncMetric {
  key: string;
  label: string;
  value: number;
  unit: string;
  better: 'lower' | 'higher';
}

/** Medians over the runs: the first sync's time and bytes, the list-only sync's, the catch-up's, the stream's latency. */
export function syncMetrics(run: SyncRun): SyncMetric[] {
  const first = run.firstSync;
  const latency = (runs: { latency: Summary }[], pick: 'p50' | 'p99') =>
    median(runs.map((stream) => stream.latency[pick]));
  return [
    {
      key: 'sync.first.seconds',
      label: `history: first full sync, ${run.seed.conversations} conversations (list + get each)`,
      value: median(first.map((figures) => figures.totalMs)) / 1000,
      unit: 's',
      better: 'lower',
    },
    {
      key: 'sync.first.mb',
      label: 'history: first full sync received',
      value: median(first.map((figures) => mb(figures.totalBytes))),
      unit: 'MB',
      better: 'lower',
    },
    {
      key: 'sync.list.ms',
      label: 'history: first sync, list only',
      value: run.listOnly.totalMs,
      unit: 'ms',
      better: 'lower',
    },
    {
      key: 'sync.catchup.ms',
      label: `history: catch-up of ${run.catchUp.changes} changes`,
      value: run.catchUp.totalMs,
      unit: 'ms',
      better: 'lower',
    },
    {
      key: 'sync.catchup.kb',
      label: 'history: catch-up received',
      value: run.catchUp.totalBytes / 1024,
      unit: 'KB',
      better: 'lower',
    },
    ...(['p50', 'p99'] as const).flatMap((pick) => [
      {
        key: `sync.stream.alone.${pick}`,
        label: `history target: one stream ${pick}, alone`,
        value: latency(run.streaming.alone, pick),
        unit: 'ms',
        better: 'lower' as const,
      },
      {
        key: `sync.stream.syncing.${pick}`,
        label: `history target: one stream ${pick}, beside full syncs`,
        value: latency(run.streaming.withSync, pick),
        unit: 'ms',
        better: 'lower' as const,
      },
    ]),
  ];
}

function line(figures: SyncFigures): string {
  return (
    `${figures.totalMs.toFixed(0)} ms, ${mb(figures.totalBytes).toFixed(2)} MB: list ${figures.pages} pages ` +
    `${figures.listMs.toFixed(0)} ms ${(figures.listBytes / 1024).toFixed(0)} KB (${figures.conversations} live, ` +
    `${figures.tombstones} tombstones), get ${figures.gets} ${figures.getMs.toFixed(0)} ms ` +
    `${mb(figures.getBytes).toFixed(2)} MB (${figures.messages} messages)`
  );
}

/** Every figure of the scenario, one per line. */
export function syncLines(run: SyncRun): string {
  const lines = [
    `data: ${run.seed.conversations} conversations, ${run.seed.messages} messages, ` +
      `${(run.seed.contentCharacters / 1e6).toFixed(1)} M characters of content, database ${run.seed.databaseMb} MB ` +
      `(seeded in ${run.seed.seconds} s); ${run.getConcurrency} history.get in flight`,
    ...run.firstSync.map(
      (figures, index) =>
        `first full sync ${index + 1}: ${line(figures)}; CPU: gateway ${figures.gatewayCpuSeconds.toFixed(2)} s, PostgreSQL ${figures.postgresCpuSeconds.toFixed(2)} s`,
    ),
    `list only: ${line(run.listOnly)}`,
    `catch-up of ${run.catchUp.changes} changes: ${line(run.catchUp)}`,
    ...run.plans.map((plan) => `plan, ${plan.query}: ${plan.nodes} (execution ${plan.executionMs} ms)`),
    ...run.streaming.alone.map((alone, index) => {
      const beside = run.streaming.withSync[index];
      const syncs = run.streaming.syncsDuringWindow[index] ?? [];
      return (
        `round ${index + 1}: one stream p50/p99 ${alone.latency.p50.toFixed(2)}/${alone.latency.p99.toFixed(2)} ms alone, ` +
        `${beside?.latency.p50.toFixed(2)}/${beside?.latency.p99.toFixed(2)} ms beside ${syncs.length} full syncs ` +
        `(gateway CPU ${alone.processes.gateway?.cpuPercent ?? '?'}% → ${beside?.processes.gateway?.cpuPercent ?? '?'}%)`
      );
    }),
    `load average ${run.loadAverage.before.join(' ')} before, ${run.loadAverage.after.join(' ')} after`,
  ];
  return lines.map((text) => `  ${text}`).join('\n');
}
