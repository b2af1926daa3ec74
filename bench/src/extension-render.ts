// Item 5: the extension's rendering cost as an answer grows. A 20,000-token markdown answer streams from the model
// server through the real gateway and worker into the side panel page in Chromium; the page's main-thread time
// (CDP Performance metrics) is read along the way and cut into slices of 1,000 tokens.
import { cpSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '@chrome-plus/testkit';
import { chromium } from 'playwright-core';
import { markdownPieces } from './markdown-tokens.ts';
import type { RunningTarget } from './targets.ts';

export interface RenderSlice {
  /** Tokens [from, from + 1000). */
  fromToken: number;
  /** Main-thread time of the page for these tokens, in ms, and its parts. */
  taskMs: number;
  scriptMs: number;
  layoutMs: number;
  styleMs: number;
}

export interface RenderRun {
  chromium: string;
  extensionBuiltAt: string;
  tokens: number;
  intervalMs: number;
  /** From chat.send to the answer marked done, in ms. */
  totalMs: number;
  slices: RenderSlice[];
  /** Main-thread time over the whole answer, in ms. */
  taskTotalMs: number;
  /** Mean of the last five slices over the mean of the first five (after the first): 1 is flat. */
  growth: number;
  domNodes: number;
  jsHeapMb: number;
}

interface Sample {
  characters: number;
  task: number;
  script: number;
  layout: number;
  style: number;
}

const CHROMIUM = '/usr/bin/chromium';

export function renderAvailable(): string | undefined {
  if (!existsSync(CHROMIUM)) return 'Chromium is not installed at /usr/bin/chromium';
  if (!existsSync(join(repoRoot, 'extension', 'dist', 'sidepanel.html')))
    return 'extension/dist is not built (npm run build -w extension)';
  return undefined;
}

/** Linear interpolation of a cumulative metric at `characters`. */
function at(samples: Sample[], characters: number, field: keyof Omit<Sample, 'characters'>): number {
  for (let index = 1; index < samples.length; index++) {
    const previous = samples[index - 1]!;
    const next = samples[index]!;
    if (next.characters >= characters) {
      const span = next.characters - previous.characters;
      const fraction = span === 0 ? 1 : (characters - previous.characters) / span;
      return previous[field] + fraction * (next[field] - previous[field]);
    }
  }
  return samples.at(-1)?.[field] ?? 0;
}

export async function runRender(
  target: RunningTarget,
  options: { tokens: number; intervalMs: number; log(line: string): void },
): Promise<RenderRun> {
  const pieces = markdownPieces(options.tokens);
  /** Characters of the answer once token k has arrived. */
  const offsets: number[] = [0];
  for (const piece of pieces) offsets.push((offsets.at(-1) ?? 0) + piece.length);

  // A copy of the build, so that a rebuild by someone else during the run cannot pull it away.
  const extensionDir = mkdtempSync(join(tmpdir(), 'bench-extension-'));
  const userDataDir = mkdtempSync(join(tmpdir(), 'bench-chromium-'));
  const dist = join(repoRoot, 'extension', 'dist');
  const builtAt = statSync(join(dist, 'sidepanel.js')).mtime.toISOString();
  cpSync(dist, extensionDir, { recursive: true });
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 420, height: 760 },
    args: [
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      `--disable-extensions-except=${extensionDir}`,
      `--load-extension=${extensionDir}`,
    ],
  });
  try {
    const worker =
      context.serviceWorkers()[0] ?? (await context.waitForEvent('serviceworker', { timeout: 15_000 }));
    const extensionId = new URL(worker.url()).host;
    const settings = await context.newPage();
    await settings.goto(`chrome-extension://${extensionId}/options.html`);
    await settings.getByTestId('server-url').fill(target.url);
    await settings.getByTestId('token').fill(target.tokens[0] ?? '');
    await settings.getByTestId('save').click();
    await settings.getByTestId('options-result').getByText(/saved/i).waitFor({ timeout: 10_000 });
    await settings.close();

    const page = await context.newPage();
    // Counts the answer's characters as they arrive, at a cost per frame that does not grow with the answer.
    // (A string: the bench is compiled without the DOM's types.)
    await page.addInitScript({
      content: `
        window.__benchCharacters = 0;
        const NativeWebSocket = window.WebSocket;
        window.WebSocket = class extends NativeWebSocket {
          constructor(url, protocols) {
            super(url, protocols);
            this.addEventListener('message', (event) => {
              if (typeof event.data !== 'string' || !event.data.includes('"chat.delta"')) return;
              window.__benchCharacters += JSON.parse(event.data).text?.length ?? 0;
            });
          }
        };`,
    });
    await page.goto(`chrome-extension://${extensionId}/sidepanel.html`);
    await page
      .locator('[data-testid="connection-status"][data-state="connected"]')
      .waitFor({ timeout: 15_000 });
    await page.getByTestId('new-chat').click();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Performance.enable');
    const sample = async (): Promise<Sample> => {
      const [characters, metrics] = await Promise.all([
        page.evaluate<number>('window.__benchCharacters'),
        cdp.send('Performance.getMetrics'),
      ]);
      const metric = (name: string) =>
        (metrics.metrics.find((entry) => entry.name === name)?.value ?? 0) * 1000;
      return {
        characters,
        task: metric('TaskDuration'),
        script: metric('ScriptDuration'),
        layout: metric('LayoutDuration'),
        style: metric('RecalcStyleDuration'),
      };
    };

    const samples: Sample[] = [await sample()];
    const startedAt = performance.now();
    const composer = page.getByTestId('composer');
    await composer.fill(`[[bench tokens=${options.tokens} interval=${options.intervalMs} kind=markdown]]`);
    await composer.press('Enter');
    const answer = page.getByTestId('message-assistant').last();
    const limitMs = options.tokens * options.intervalMs * 3 + 60_000;
    let done = false;
    while (!done && performance.now() - startedAt < limitMs) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      samples.push(await sample());
      done = (await answer.getAttribute('data-status').catch(() => null)) === 'done';
    }
    const totalMs = performance.now() - startedAt;
    if (!done) throw new Error(`the answer did not finish within ${limitMs} ms`);
    // A last sample once the final frames are painted.
    await new Promise((resolve) => setTimeout(resolve, 300));
    samples.push(await sample());
    const final = samples.at(-1)!;
    if (final.characters < (offsets.at(-1) ?? 0))
      throw new Error(`the page received ${final.characters} of ${offsets.at(-1)} characters`);

    const slices: RenderSlice[] = [];
    for (let fromToken = 0; fromToken + 1000 <= options.tokens; fromToken += 1000) {
      const from = offsets[fromToken] ?? 0;
      const to = offsets[fromToken + 1000] ?? 0;
      const span = (field: keyof Omit<Sample, 'characters'>) =>
        Math.round((at(samples, to, field) - at(samples, from, field)) * 10) / 10;
      slices.push({
        fromToken,
        taskMs: span('task'),
        scriptMs: span('script'),
        layoutMs: span('layout'),
        styleMs: span('style'),
      });
    }
    const mean = (values: RenderSlice[]) =>
      values.reduce((sum, slice) => sum + slice.taskMs, 0) / values.length;
    const growth = mean(slices.slice(-5)) / Math.max(0.001, mean(slices.slice(1, 6)));
    const metrics = await cdp.send('Performance.getMetrics');
    const value = (name: string) => metrics.metrics.find((entry) => entry.name === name)?.value ?? 0;
    const run: RenderRun = {
      chromium: context.browser()?.version() ?? 'unknown',
      extensionBuiltAt: builtAt,
      tokens: options.tokens,
      intervalMs: options.intervalMs,
      totalMs: Math.round(totalMs),
      slices,
      taskTotalMs: Math.round(final.task - (samples[0]?.task ?? 0)),
      growth: Math.round(growth * 100) / 100,
      domNodes: value('Nodes'),
      jsHeapMb: Math.round((value('JSHeapUsedSize') / 1_048_576) * 10) / 10,
    };
    options.log(
      `  render: ${options.tokens} tokens in ${run.totalMs} ms; main thread per 1,000 tokens: ${slices.map((slice) => slice.taskMs.toFixed(0)).join(' ')} ms; last ÷ first ${run.growth}`,
    );
    return run;
  } finally {
    await context.close().catch(() => {});
    rmSync(userDataDir, { recursive: true, force: true });
    rmSync(extensionDir, { recursive: true, force: true });
  }
}
