// Turns results into what a person reads: the table of figures, the ratios to the baselines, the targets met or
// missed, and the change from a previous results file.
import type { RenderRun } from './extension-render.ts';
import { shares } from './redis-commands.ts';
import type { BenchResults, StreamsRun, TargetResults } from './results.ts';
import { syncMetrics } from './sync/sync-report.ts';
import { TARGETS, type TargetName } from './targets.ts';

export interface Metric {
  key: string;
  label: string;
  value: number;
  unit: string;
  better: 'lower' | 'higher';
}

const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

/** Every headline figure of one target, in a fixed order. */
export function metricsOf(target: TargetResults): Metric[] {
  const metrics: Metric[] = [];
  const add = (
    key: string,
    label: string,
    value: number | undefined,
    unit: string,
    better: Metric['better'],
  ) => {
    if (value !== undefined && Number.isFinite(value)) metrics.push({ key, label, value, unit, better });
  };
  if (target.single) {
    const latency = target.single.latency;
    add('single.p50', 'one stream: added latency p50', latency.p50, 'ms', 'lower');
    add('single.p99', 'one stream: added latency p99', latency.p99, 'ms', 'lower');
    add('single.p999', 'one stream: added latency p99.9', latency.p999, 'ms', 'lower');
  }
  if (target.ttft) {
    add('ttft.p50', 'TTFT overhead p50', target.ttft.ttftOverhead.p50, 'ms', 'lower');
    add('ttft.p99', 'TTFT overhead p99', target.ttft.ttftOverhead.p99, 'ms', 'lower');
  }
  if (target.ttftIdle) {
    const run = target.ttftIdle;
    add('ttft-idle.p50', 'TTFT overhead p50, paced', run.ttftOverhead.p50, 'ms', 'lower');
    add('ttft-idle.request', 'paced: request to the model p50', run.requestPath.p50, 'ms', 'lower');
    add('ttft-idle.back', 'paced: first token back p50', run.firstTokenPath.p50, 'ms', 'lower');
  }
  if (target.throughput) {
    add(
      'throughput.requests',
      'saturation: completed 20-token requests',
      target.throughput.requestsPerSecond,
      '/s',
      'higher',
    );
    add(
      'throughput.tokens',
      'saturation: delivered tokens',
      target.throughput.tokensPerSecond,
      '/s',
      'higher',
    );
  }
  if (target.capacity) {
    add(
      'capacity',
      `capacity: token rate with p99 ≤ ${target.capacity.p99LimitMs} ms`,
      target.capacity.tokensPerSecond,
      'tok/s',
      'higher',
    );
  }
  for (const run of target.concurrency ?? []) {
    const streams = run.params.connections;
    add(`concurrency.${streams}.p50`, `${streams} streams @20 tok/s: p50`, run.latency.p50, 'ms', 'lower');
    add(`concurrency.${streams}.p99`, `${streams} streams @20 tok/s: p99`, run.latency.p99, 'ms', 'lower');
    add(
      `concurrency.${streams}.delivered`,
      `${streams} streams: delivered / offered`,
      run.tokensPerSecond / Math.max(1, run.params.offeredTokensPerSecond),
      '',
      'higher',
    );
    add(
      `concurrency.${streams}.gatewayMb`,
      `${streams} streams: gateway RSS peak`,
      run.processes.gateway?.rssPeakMb,
      'MB',
      'lower',
    );
  }
  for (const run of target.length ?? []) {
    const tokens = run.params.answerTokens;
    add(`length.${tokens}.p99`, `${tokens}-token answers: p99`, run.latency.p99, 'ms', 'lower');
    if (run.logBytesPerAnswer > 0)
      add(
        `length.${tokens}.logBytes`,
        `${tokens}-token answers: log in Redis per answer`,
        run.logBytesPerAnswer / 1024,
        'KB',
        'lower',
      );
  }
  if (target.idle) {
    add('idle.sockets', 'idle sockets held by one gateway', target.idle.stillOpen, '', 'higher');
    add(
      'idle.bytesPerSocket',
      'memory per idle socket (RSS)',
      target.idle.bytesPerSocket / 1024,
      'KB',
      'lower',
    );
    add(
      'idle.heapBytesPerSocket',
      'memory per idle socket (JS heap + external, after GC)',
      target.idle.heapBytesPerSocket / 1024,
      'KB',
      'lower',
    );
  }
  if (target.sync) metrics.push(...syncMetrics(target.sync));
  return metrics;
}

function format(value: number | undefined, unit = ''): string {
  if (value === undefined || !Number.isFinite(value)) return '–';
  const digits = Number.isInteger(value) || Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  return `${value.toFixed(digits)}${unit === '' || unit === '/s' || unit === 'tok/s' ? '' : ` ${unit}`}`;
}

function pad(cells: string[][]): string {
  const widths = cells[0]!.map((_, column) => Math.max(...cells.map((row) => (row[column] ?? '').length)));
  return cells
    .map((row) =>
      row
        .map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)))
        .join('  '),
    )
    .join('\n');
}

const BASELINES: TargetName[] = ['direct', 'pubsub', 'socketio'];

/** The figures, one column per target, and the system's ratio to each baseline. */
export function figuresTable(results: BenchResults, markdown = false): string {
  const names = (Object.keys(TARGETS) as TargetName[]).filter((name) => results.targets[name] !== undefined);
  const byTarget = new Map(
    names.map((name) => [
      name,
      new Map(metricsOf(results.targets[name]!).map((metric) => [metric.key, metric])),
    ]),
  );
  const keys: Metric[] = [];
  for (const name of names)
    for (const metric of byTarget.get(name)!.values())
      if (!keys.some((known) => known.key === metric.key)) keys.push(metric);
  const ratioColumns = BASELINES.filter((name) => byTarget.has(name));
  // The cluster against the one node: the same system, its Redis spread over three masters.
  const clusterRatio = byTarget.has('system') && byTarget.has('system-cluster');
  const header = [
    'figure',
    ...names.map((name) => TARGETS[name].label),
    ...(clusterRatio ? ['cluster ÷ one node'] : []),
    ...ratioColumns.map((name) => `÷ ${TARGETS[name].label}`),
  ];
  const ratio = (value: number | undefined, base: number | undefined) =>
    value === undefined || base === undefined || base === 0 ? '–' : `${(value / base).toFixed(2)}×`;
  const rows = keys.map((metric) => {
    const system = byTarget.get('system')?.get(metric.key)?.value;
    return [
      `${metric.label}${metric.unit === '' ? '' : ` (${metric.unit})`}`,
      ...names.map((name) => format(byTarget.get(name)?.get(metric.key)?.value)),
      ...(clusterRatio ? [ratio(byTarget.get('system-cluster')?.get(metric.key)?.value, system)] : []),
      ...ratioColumns.map((name) => ratio(system, byTarget.get(name)?.get(metric.key)?.value)),
    ];
  });
  if (!markdown) return pad([header, ...rows]);
  return [header, header.map(() => '---'), ...rows].map((row) => `| ${row.join(' | ')} |`).join('\n');
}

/** Each measured window's Redis commands per node, of every target that read them: share, main commands, CPU. */
export function commandsTable(results: BenchResults, markdown = false, top = 4): string {
  const header = [
    'target / window',
    'node',
    'commands',
    'share',
    'per delivered token',
    'Redis CPU',
    'main commands',
  ];
  const rows: string[][] = [];
  for (const name of Object.keys(TARGETS) as TargetName[]) {
    const target = results.targets[name];
    if (target === undefined) continue;
    const windows: [string, StreamsRun][] = [];
    if (target.single) windows.push(['one stream', target.single]);
    if (target.ttft) windows.push(['TTFT back to back', target.ttft]);
    if (target.ttftIdle) windows.push(['TTFT paced', target.ttftIdle]);
    if (target.throughput) windows.push(['saturation', target.throughput]);
    for (const run of target.capacity?.levels ?? [])
      windows.push([`capacity @${run.params.offeredTokensPerSecond} tok/s`, run]);
    for (const run of target.concurrency ?? []) windows.push([`${run.params.connections} streams`, run]);
    for (const run of target.length ?? []) windows.push([`${run.params.answerTokens}-token answers`, run]);
    for (const [window, run] of windows) {
      const nodes = run.redisCommands ?? [];
      const { total, shares: parts } = shares(nodes);
      if (total === 0) continue;
      const tokens = run.tokensReceived;
      const perToken = (commands: number) => (tokens > 0 ? (commands / tokens).toFixed(2) : '–');
      for (const [index, node] of nodes.entries()) {
        rows.push([
          index === 0 ? `${TARGETS[name].label}: ${window}` : '',
          node.node,
          node.total.toLocaleString('en'),
          `${Math.round((parts[index] ?? 0) * 100)}%`,
          perToken(node.total),
          `${node.cpuPercent}%`,
          Object.entries(node.calls)
            .slice(0, top)
            .map(([command, calls]) => `${command} ${calls.toLocaleString('en')}`)
            .join(', '),
        ]);
      }
      if (nodes.length > 1)
        rows.push([
          '',
          'all',
          total.toLocaleString('en'),
          '100%',
          perToken(total),
          `${Math.round(nodes.reduce((sum, node) => sum + node.cpuPercent, 0) * 10) / 10}%`,
          '',
        ]);
    }
  }
  if (rows.length === 0) return '  (no Redis commands were counted)';
  if (!markdown) return pad([header, ...rows]);
  return [header, header.map(() => '---'), ...rows].map((row) => `| ${row.join(' | ')} |`).join('\n');
}

export interface TargetCheck {
  target: string;
  goal: string;
  measured: string;
  met: boolean | undefined;
}

/** The issue's targets, judged for one variant of the system against the baselines of the same run. */
export function checkTargets(results: BenchResults, variant: 'system' | 'system-1ms'): TargetCheck[] {
  const system = results.targets[variant];
  const direct = results.targets.direct;
  const checks: TargetCheck[] = [];
  if (system === undefined) return checks;
  const check = (goal: string, measured: string, met: boolean | undefined) =>
    checks.push({ target: variant, goal, measured, met });
  if (system.single && direct?.single) {
    const limit = direct.single.latency.p99 + 1;
    check(
      'one stream: p99 ≤ direct p99 + 1 ms',
      `${round(system.single.latency.p99)} ms vs ≤ ${round(limit)} ms`,
      system.single.latency.p99 <= limit,
    );
  }
  for (const [name, own, base] of [
    ['back to back', system.ttft, direct?.ttft],
    ['paced, an idle system each time', system.ttftIdle, direct?.ttftIdle],
  ] as const) {
    if (own === undefined || base === undefined) continue;
    const limit = base.ttftOverhead.p50 + 2;
    check(
      `TTFT overhead p50 ≤ direct + 2 ms (${name})`,
      `${round(own.ttftOverhead.p50)} ms vs ≤ ${round(limit)} ms (request to the model ${round(own.requestPath.p50)} ms, first token back ${round(own.firstTokenPath.p50)} ms)`,
      own.ttftOverhead.p50 <= limit,
    );
  }
  for (const run of system.concurrency ?? []) {
    const base = direct?.concurrency?.find((other) => other.params.connections === run.params.connections);
    if (base === undefined) continue;
    const limit = 1.5 * base.latency.p99 + 2;
    const delivered = (other: StreamsRun) =>
      other.tokensPerSecond / Math.max(1, other.params.offeredTokensPerSecond);
    // Where the direct path itself could not deliver the load, the machine is saturated: latencies there are
    // queue lengths, not a comparison.
    const saturated = delivered(base) < 0.95;
    check(
      `${run.params.connections} streams: p99 ≤ 1.5 × direct + 2 ms, every offered token delivered`,
      `${round(run.latency.p99)} ms vs ≤ ${round(limit)} ms${saturated ? ` (saturated: direct delivered ${Math.round(delivered(base) * 100)}%, Chrome Plus ${Math.round(delivered(run) * 100)}%)` : ''}`,
      // Saturated: behind if it delivered clearly less than the direct path, otherwise not judged.
      saturated
        ? delivered(run) < delivered(base) - 0.02
          ? false
          : undefined
        : run.latency.p99 <= limit && run.lostTokens === 0,
    );
  }
  const capacity = system.capacity ?? results.targets.system?.capacity;
  if (capacity && direct?.capacity) {
    check(
      'capacity ≥ 0.8 × direct',
      `${capacity.tokensPerSecond} vs ≥ ${direct.capacity.tokensPerSecond * 0.8} tok/s${system.capacity ? '' : ' (default window)'}`,
      // A direct path that passed no level says the machine was too busy to judge.
      direct.capacity.tokensPerSecond === 0
        ? undefined
        : capacity.tokensPerSecond >= direct.capacity.tokensPerSecond * 0.8,
    );
  }
  const throughput = system.throughput ?? results.targets.system?.throughput;
  if (throughput)
    check(
      '≥ 2,000 completed 20-token requests/s',
      `${Math.round(throughput.requestsPerSecond)}/s`,
      throughput.requestsPerSecond >= 2000,
    );
  const idle = system.idle ?? results.targets.system?.idle;
  if (idle) {
    check(
      '≥ 10,000 idle sockets on one gateway',
      `${idle.stillOpen} of ${idle.sockets} tried`,
      idle.stillOpen >= 10_000,
    );
    const directIdle = direct?.idle;
    if (directIdle)
      check(
        'idle socket ≤ 1.1 × the direct path',
        `${round(idle.bytesPerSocket / 1024)} KB vs ≤ ${round((1.1 * directIdle.bytesPerSocket) / 1024)} KB`,
        idle.bytesPerSocket <= 1.1 * directIdle.bytesPerSocket,
      );
  }
  for (const name of ['pubsub', 'socketio'] as const) {
    const other = results.targets[name];
    if (other === undefined) continue;
    const own = system.concurrency ?? [];
    const fed = (run: StreamsRun) => run.tokensPerSecond >= 0.95 * run.params.offeredTokensPerSecond;
    // Only the loads both delivered: past that, latency is the length of a queue.
    const compared = own.flatMap((run) => {
      const base = other.concurrency?.find(
        (candidate) => candidate.params.connections === run.params.connections,
      );
      return base !== undefined && fed(run) && fed(base) ? [{ run, base }] : [];
    });
    const worse = compared.filter(({ run, base }) => run.latency.p99 > base.latency.p99);
    if (compared.length > 0) {
      check(
        `p99 ahead of ${TARGETS[name].label} at every load both deliver`,
        worse.length === 0
          ? `ahead at ${compared.map(({ run }) => run.params.connections).join(', ')} streams`
          : `behind at ${worse.map(({ run }) => run.params.connections).join(', ')} streams`,
        worse.length === 0,
      );
    }
    if (system.single && other.single) {
      check(
        `one-stream p99 ahead of ${TARGETS[name].label}`,
        `${round(system.single.latency.p99)} vs ${round(other.single.latency.p99)} ms`,
        system.single.latency.p99 <= other.single.latency.p99,
      );
    }
    if (capacity && other.capacity) {
      check(
        `capacity ahead of ${TARGETS[name].label}`,
        `${capacity.tokensPerSecond} vs ${other.capacity.tokensPerSecond} tok/s`,
        capacity.tokensPerSecond === 0 && other.capacity.tokensPerSecond === 0
          ? undefined
          : capacity.tokensPerSecond > other.capacity.tokensPerSecond,
      );
    }
  }
  return checks;
}

export function targetsTable(checks: TargetCheck[], markdown = false): string {
  const header = ['variant', 'target', 'measured', 'met'];
  const rows = checks.map((check) => [
    check.target,
    check.goal,
    check.measured,
    check.met === undefined ? 'not judged' : check.met ? 'yes' : 'MISSED',
  ]);
  if (!markdown) return pad([header, ...rows]);
  return [header, header.map(() => '---'), ...rows].map((row) => `| ${row.join(' | ')} |`).join('\n');
}

/** Current against previous, figure by figure; a change beyond 10% in the bad direction is flagged. */
export function compareTable(current: BenchResults, previous: BenchResults): string {
  const rows: string[][] = [['target / figure', 'previous', 'now', 'change', '']];
  for (const name of Object.keys(TARGETS) as TargetName[]) {
    const now = current.targets[name];
    const before = previous.targets[name];
    if (now === undefined || before === undefined) continue;
    const old = new Map(metricsOf(before).map((metric) => [metric.key, metric]));
    for (const metric of metricsOf(now)) {
      const previousMetric = old.get(metric.key);
      if (previousMetric === undefined || previousMetric.value === 0) continue;
      const change = (metric.value - previousMetric.value) / Math.abs(previousMetric.value);
      const worse = metric.better === 'lower' ? change > 0.1 : change < -0.1;
      rows.push([
        `${TARGETS[name].label}: ${metric.label}`,
        format(previousMetric.value, metric.unit),
        format(metric.value, metric.unit),
        `${change >= 0 ? '+' : ''}${(change * 100).toFixed(0)}%`,
        worse ? 'worse' : '',
      ]);
    }
  }
  return pad(rows);
}

/** The rendering figures in one block: the cost of each 1,000 tokens, and how much the last ones cost more. */
export function renderLine(render: RenderRun): string {
  const slices = render.slices.map((slice) => slice.taskMs.toFixed(0)).join(' ');
  const part = (field: 'scriptMs' | 'layoutMs' | 'styleMs') =>
    render.slices.map((slice) => slice[field].toFixed(0)).join(' ');
  return [
    `  total ${render.taskTotalMs ?? '–'} ms of main thread over ${render.totalMs} ms; per 1,000 tokens: ${slices}`,
    `  of which script: ${part('scriptMs')}`,
    `           layout: ${part('layoutMs')}`,
    `           style:  ${part('styleMs')}`,
    `  last five ÷ first five: ${render.growth}×; ${render.domNodes} DOM nodes, ${render.jsHeapMb} MB JS heap at the end (Chromium ${render.chromium})`,
  ].join('\n');
}
