// Draws the results as an SVG (no library, no network): latency and memory against concurrent streams and answer length.
import type { RenderRun } from './extension-render.ts';
import type { BenchResults } from './results.ts';
import { TARGETS, type TargetName } from './targets.ts';

interface Series {
  name: string;
  color: string;
  dashed?: boolean;
  points: [number, number][];
}

interface Chart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  logY: boolean;
}

const COLORS: Record<TargetName, string> = {
  system: '#1f6feb',
  'system-1ms': '#8250df',
  'system-cluster': '#0a3069',
  'system-history': '#1b7c83',
  direct: '#2da44e',
  pubsub: '#bf8700',
  socketio: '#cf222e',
};

const WIDTH = 680;
const HEIGHT = 300;
// The legend sits in the right margin, clear of the lines.
const MARGIN = { left: 62, right: 250, top: 34, bottom: 46 };

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function niceTicks(min: number, max: number, log: boolean): number[] {
  if (log) {
    const ticks: number[] = [];
    for (let power = Math.floor(Math.log10(min)); power <= Math.ceil(Math.log10(max)); power++)
      ticks.push(10 ** power);
    return ticks;
  }
  const span = max - min || 1;
  const step = 10 ** Math.floor(Math.log10(span / 4));
  const factor = [1, 2, 5, 10].find((candidate) => span / (candidate * step) <= 6) ?? 10;
  const ticks: number[] = [];
  for (
    let value = Math.floor(min / (factor * step)) * factor * step;
    value <= max + 1e-9;
    value += factor * step
  )
    ticks.push(Math.round(value * 1e6) / 1e6);
  return ticks;
}

function drawChart(chart: Chart, offsetX: number, offsetY: number): string {
  const xs = [...new Set(chart.series.flatMap((series) => series.points.map(([x]) => x)))].sort(
    (a, b) => a - b,
  );
  const ys = chart.series
    .flatMap((series) => series.points.map(([, y]) => y))
    .filter((y) => Number.isFinite(y) && (!chart.logY || y > 0));
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const parts: string[] = [`<g transform="translate(${offsetX},${offsetY})">`];
  parts.push(
    `<text x="${WIDTH / 2}" y="18" text-anchor="middle" font-weight="bold">${escapeXml(chart.title)}</text>`,
  );
  if (xs.length === 0 || ys.length === 0) {
    parts.push(`<text x="${WIDTH / 2}" y="${HEIGHT / 2}" text-anchor="middle">no data</text></g>`);
    return parts.join('');
  }
  let yMin = chart.logY ? Math.min(...ys) : 0;
  let yMax = Math.max(...ys);
  if (chart.logY) {
    yMin = 10 ** Math.floor(Math.log10(yMin));
    yMax = 10 ** Math.ceil(Math.log10(yMax));
  } else {
    yMax *= 1.1;
  }
  // x: evenly spaced levels (the measured ones), labelled with their value.
  const xAt = (x: number) =>
    MARGIN.left + (xs.length === 1 ? plotWidth / 2 : (xs.indexOf(x) / (xs.length - 1)) * plotWidth);
  const yAt = (y: number) => {
    const fraction = chart.logY
      ? (Math.log10(y) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))
      : (y - yMin) / (yMax - yMin || 1);
    return MARGIN.top + plotHeight * (1 - fraction);
  };
  parts.push(
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="#999"/>`,
  );
  for (const tick of niceTicks(yMin, yMax, chart.logY)) {
    if (tick < yMin || tick > yMax) continue;
    const y = yAt(tick).toFixed(1);
    parts.push(
      `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotWidth}" y1="${y}" y2="${y}" stroke="#eee"/>`,
    );
    parts.push(
      `<text x="${MARGIN.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle" font-size="11">${tick}</text>`,
    );
  }
  for (const x of xs) {
    parts.push(
      `<text x="${xAt(x).toFixed(1)}" y="${MARGIN.top + plotHeight + 16}" text-anchor="middle" font-size="11">${x}</text>`,
    );
  }
  parts.push(
    `<text x="${MARGIN.left + plotWidth / 2}" y="${HEIGHT - 8}" text-anchor="middle" font-size="12">${escapeXml(chart.xLabel)}</text>`,
  );
  parts.push(
    `<text transform="translate(14,${MARGIN.top + plotHeight / 2}) rotate(-90)" text-anchor="middle" font-size="12">${escapeXml(chart.yLabel)}</text>`,
  );
  chart.series.forEach((series, index) => {
    const points = series.points.filter(([, y]) => Number.isFinite(y) && (!chart.logY || y > 0));
    if (points.length === 0) return;
    const path = points
      .map(([x, y], step) => `${step === 0 ? 'M' : 'L'}${xAt(x).toFixed(1)},${yAt(y).toFixed(1)}`)
      .join(' ');
    parts.push(
      `<path d="${path}" fill="none" stroke="${series.color}" stroke-width="2"${series.dashed ? ' stroke-dasharray="5,4"' : ''}/>`,
    );
    for (const [x, y] of points)
      parts.push(
        `<circle cx="${xAt(x).toFixed(1)}" cy="${yAt(y).toFixed(1)}" r="3" fill="${series.color}"/>`,
      );
    const legendY = MARGIN.top + 6 + index * 14;
    const legendX = MARGIN.left + plotWidth + 8;
    parts.push(
      `<line x1="${legendX}" x2="${legendX + 18}" y1="${legendY}" y2="${legendY}" stroke="${series.color}" stroke-width="2"${series.dashed ? ' stroke-dasharray="5,4"' : ''}/>`,
    );
    parts.push(
      `<text x="${legendX + 22}" y="${legendY}" dominant-baseline="middle" font-size="11">${escapeXml(series.name)}</text>`,
    );
  });
  parts.push('</g>');
  return parts.join('');
}

export function plotResults(results: BenchResults): string {
  const names = (Object.keys(TARGETS) as TargetName[]).filter((name) => results.targets[name] !== undefined);
  const latencyVsStreams: Series[] = [];
  const memoryVsStreams: Series[] = [];
  const latencyVsLength: Series[] = [];
  const memoryVsLength: Series[] = [];
  const logVsLength: Series[] = [];
  for (const name of names) {
    const target = results.targets[name]!;
    const label = TARGETS[name].label;
    const color = COLORS[name];
    const concurrency = target.concurrency ?? [];
    if (concurrency.length > 0) {
      latencyVsStreams.push({
        name: `${label} p99`,
        color,
        points: concurrency.map((run) => [run.params.connections, run.latency.p99]),
      });
      latencyVsStreams.push({
        name: `${label} p50`,
        color,
        dashed: true,
        points: concurrency.map((run) => [run.params.connections, run.latency.p50]),
      });
      memoryVsStreams.push({
        name: `${label} gateway + worker`,
        color,
        points: concurrency.map((run) => [
          run.params.connections,
          (run.processes.gateway?.rssPeakMb ?? 0) + (run.processes.worker?.rssPeakMb ?? 0),
        ]),
      });
    }
    const length = target.length ?? [];
    if (length.length > 0) {
      latencyVsLength.push({
        name: `${label} p99`,
        color,
        points: length.map((run) => [run.params.answerTokens, run.latency.p99]),
      });
      latencyVsLength.push({
        name: `${label} p50`,
        color,
        dashed: true,
        points: length.map((run) => [run.params.answerTokens, run.latency.p50]),
      });
      memoryVsLength.push({
        name: `${label} gateway + worker`,
        color,
        points: length.map((run) => [
          run.params.answerTokens,
          (run.processes.gateway?.rssPeakMb ?? 0) + (run.processes.worker?.rssPeakMb ?? 0),
        ]),
      });
      if (length.some((run) => run.logBytesPerAnswer > 0)) {
        logVsLength.push({
          name: `${label}: one answer's log`,
          color,
          points: length.map((run) => [run.params.answerTokens, run.logBytesPerAnswer / 1024]),
        });
      }
    }
  }
  const charts: Chart[] = [
    {
      title: 'Added latency vs concurrent streams (20 tok/s)',
      xLabel: 'concurrent streams',
      yLabel: 'latency (ms, log)',
      series: latencyVsStreams,
      logY: true,
    },
    {
      title: 'Memory vs concurrent streams',
      xLabel: 'concurrent streams',
      yLabel: 'RSS peak (MB)',
      series: memoryVsStreams,
      logY: false,
    },
    {
      title: 'Added latency vs answer length (20 streams, 200 tok/s)',
      xLabel: 'tokens per answer',
      yLabel: 'latency (ms, log)',
      series: latencyVsLength,
      logY: true,
    },
    {
      title: 'Memory vs answer length',
      xLabel: 'tokens per answer',
      yLabel: 'MB',
      series: memoryVsLength,
      logY: false,
    },
  ];
  if (logVsLength.length > 0) {
    charts.push({
      title: 'Redis memory of a finished answer (MEMORY USAGE)',
      xLabel: 'tokens per answer',
      yLabel: 'KB per answer',
      series: logVsLength,
      logY: false,
    });
  }
  const render = results.render !== undefined && !('skipped' in results.render) ? results.render : undefined;
  if (render !== undefined) {
    const part = (
      name: string,
      color: string,
      value: (slice: RenderRun['slices'][number]) => number,
      dashed = false,
    ): Series => ({
      name,
      color,
      dashed,
      points: render.slices.map((slice) => [slice.fromToken / 1000 + 1, value(slice)]),
    });
    charts.push({
      title: `Side panel main thread per 1,000 tokens (${render.tokens}-token answer)`,
      xLabel: 'thousands of tokens received',
      yLabel: 'ms per 1,000 tokens',
      logY: false,
      series: [
        part('all main-thread tasks', '#1f6feb', (slice) => slice.taskMs),
        part('script', '#2da44e', (slice) => slice.scriptMs, true),
        part('layout', '#cf222e', (slice) => slice.layoutMs, true),
        part('style', '#bf8700', (slice) => slice.styleMs, true),
      ],
    });
  }
  const rows = Math.ceil(charts.length / 2);
  const body = charts
    .map((chart, index) => drawChart(chart, (index % 2) * WIDTH, Math.floor(index / 2) * HEIGHT))
    .join('\n');
  const caption = `Chrome Plus benchmark, ${results.mode} run of ${results.startedAt}: ${results.conditions.cores} cores, load average before ${results.conditions.loadAverageBefore.map((value) => value.toFixed(2)).join(' ')}`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH * 2}" height="${HEIGHT * rows + 24}" font-family="sans-serif" font-size="12">
<title>${escapeXml(caption)}: latency and memory against concurrent streams and answer length</title>
<rect width="100%" height="100%" fill="white"/>
${body}
<text x="${WIDTH}" y="${HEIGHT * rows + 16}" text-anchor="middle" font-size="11" fill="#555">${escapeXml(caption)}</text>
</svg>
`;
}
