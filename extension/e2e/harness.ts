// End-to-end harness: the real gateway and worker (child processes) on Redis, a fake model server, and
// Chromium with the built extension loaded.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  cleanupPrefix,
  type FakeOpenAI,
  freePort,
  REDIS_URL,
  type RoleProcess,
  repoRoot,
  startFakeOpenAI,
  startRole,
} from '@chrome-plus/testkit';
import { type BrowserContext, chromium, type Locator, type Page, type Worker } from 'playwright-core';

/** Pictures for a person checking the UI: in the ignored test-results folder, not in the repository. */
export const testResults = join(repoRoot, 'extension', 'test-results');

/**
 * Where a README screenshot goes: docs/screenshots/ (tracked) only with UPDATE_SCREENSHOTS=1, else the ignored
 * test-results folder, so that running the tests leaves the tree as it was.
 */
export function screenshotPath(name: string): string {
  const folder =
    process.env.UPDATE_SCREENSHOTS === '1'
      ? join(repoRoot, 'docs', 'screenshots')
      : join(testResults, 'screenshots');
  mkdirSync(folder, { recursive: true });
  return join(folder, name);
}

const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export function chromiumAvailable(): boolean {
  return existsSync(chromiumPath);
}

export interface Backend {
  url: string;
  port: number;
  prefix: string;
  /** The fake model server, unless the backend runs the built-in demo model. */
  fake: FakeOpenAI | undefined;
  /** Kills the gateway process (SIGKILL: sockets drop without a close frame). */
  killGateway(): Promise<void>;
  /** Starts the gateway again on the same port. */
  startGateway(): Promise<void>;
  logs(): string;
  stop(): Promise<void>;
}

/**
 * Starts a gateway and a worker on a Redis key prefix of their own. With `model: 'fake'` they talk to a
 * fake OpenAI-compatible server; with `model: 'demo'` they use the built-in demo model.
 */
export async function startBackend(
  model: 'fake' | 'demo',
  extraEnv: Record<string, string> = {},
): Promise<Backend> {
  const prefix = `e2e${process.pid}${randomBytes(2).toString('hex')}`;
  const port = await freePort();
  const fake = model === 'fake' ? await startFakeOpenAI() : undefined;
  const env: Record<string, string> = {
    HOST: '127.0.0.1',
    PORT: String(port),
    REDIS_URL,
    KEY_PREFIX: prefix,
    AUTH_TOKENS: '',
    // Info level: the readiness lines are info; the output is only shown when something fails.
    LOG_LEVEL: 'info',
    WORKER_LOCK_MS: '2000',
    SHUTDOWN_GRACE_MS: '1000',
    RATE_LIMIT_PER_MINUTE: '1000',
    MAX_CONCURRENT_GENERATIONS: '20',
    ...(fake && { OPENAI_BASE_URL: fake.url, OPENAI_API_KEY: 'test-key', OPENAI_MODEL: 'fake-model' }),
    ...extraEnv,
  };
  if (!fake) {
    for (const key of ['OPENAI_API_KEY', 'OPENAI_BASE_URL', 'OPENAI_MODEL', 'DEEPSEEK_API_KEY'])
      env[key] = '';
  }
  // LOG_LEVEL in `extraEnv` (e.g. debug, for the workers' job log) reaches the roles; info otherwise.
  const roleOptions = { logLevel: env.LOG_LEVEL };
  const started = await Promise.allSettled([
    startRole('worker', env, roleOptions),
    startRole('gateway', env, roleOptions),
  ]);
  const failed = started.find((result) => result.status === 'rejected');
  if (failed !== undefined) {
    for (const result of started) if (result.status === 'fulfilled') await result.value.kill();
    await fake?.close();
    throw failed.reason;
  }
  const [worker, firstGateway] = started.map(
    (result) => (result as PromiseFulfilledResult<RoleProcess>).value,
  ) as [RoleProcess, RoleProcess];
  let gateway: RoleProcess | undefined = firstGateway;
  let pastLogs = '';
  return {
    url: `ws://127.0.0.1:${port}/v1/ws`,
    port,
    prefix,
    fake,
    async killGateway() {
      pastLogs += gateway?.output() ?? '';
      await gateway?.kill('SIGKILL');
      gateway = undefined;
    },
    async startGateway() {
      gateway = await startRole('gateway', env, roleOptions);
    },
    logs: () => `--- worker ---\n${worker.output()}\n--- gateway ---\n${pastLogs}${gateway?.output() ?? ''}`,
    async stop() {
      await gateway?.kill();
      await worker.kill();
      await fake?.close();
      await cleanupPrefix(prefix);
    },
  };
}

export interface ExtensionBrowser {
  context: BrowserContext;
  extensionId: string;
  /** The extension's service worker (the background script). */
  serviceWorker: Worker;
  /** Opens the side panel page in a tab (what the side panel shows, at side-panel width). */
  openPanel(): Promise<Page>;
  /** Points the extension at `url` (and `token`) through its options page, as a user would. */
  configureServer(url: string, token?: string): Promise<void>;
  close(): Promise<void>;
}

let built: string | undefined;

/**
 * Builds the extension from the current sources, once per test process, into a folder of its own (so
 * that test files running side by side, or someone loading extension/dist, never see a half-written
 * build). The build may read the test server's pages: the test stands for a user who clicked "Allow"
 * (on 127.0.0.1 only; other hosts stay unreadable, to test that path too).
 */
function buildExtension(): string {
  if (built) return built;
  const outdir = mkdtempSync(join(tmpdir(), 'chrome-plus-extension-'));
  const result = spawnSync(process.execPath, [join(repoRoot, 'extension', 'build.mjs'), '--outdir', outdir], {
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`extension build failed:\n${result.stdout}${result.stderr}`);
  const manifestPath = join(outdir, 'manifest.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Record<string, unknown>;
  manifest.host_permissions = ['http://127.0.0.1/*'];
  writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));
  process.once('exit', () => rmSync(outdir, { recursive: true, force: true }));
  built = outdir;
  return outdir;
}

export async function launchExtension(options: { locale?: string; colorScheme?: 'light' | 'dark' } = {}) {
  const extensionDist = buildExtension();
  const userDataDir = mkdtempSync(join(tmpdir(), 'chrome-plus-e2e-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: chromiumPath,
    headless: true,
    viewport: { width: 420, height: 760 },
    deviceScaleFactor: 2,
    colorScheme: options.colorScheme ?? 'light',
    locale: options.locale ?? 'en-US',
    args: [
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      `--disable-extensions-except=${extensionDist}`,
      `--load-extension=${extensionDist}`,
      ...(options.locale ? [`--lang=${options.locale}`] : []),
    ],
  });
  const worker =
    context.serviceWorkers()[0] ?? (await context.waitForEvent('serviceworker', { timeout: 15_000 }));
  const extensionId = new URL(worker.url()).host;
  const browser: ExtensionBrowser = {
    context,
    extensionId,
    serviceWorker: worker,
    async openPanel() {
      const page = await context.newPage();
      await page.goto(`chrome-extension://${extensionId}/sidepanel.html`);
      return page;
    },
    async configureServer(url, token = '') {
      const page = await context.newPage();
      await page.goto(`chrome-extension://${extensionId}/options.html`);
      await page.getByTestId('server-url').fill(url);
      await page.getByTestId('token').fill(token);
      await page.getByTestId('save').click();
      // Any language: the saved note is the one "ok" result a save gives.
      await page.locator('[data-testid="options-result"][data-kind="ok"]').waitFor();
      await page.close();
    },
    async close() {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
  return browser;
}

/** The panel page, connected, on a new chat; its page errors are pushed onto `pageErrors`. */
export async function connectedPanel(browser: ExtensionBrowser, pageErrors: string[]): Promise<Page> {
  const page = await browser.openPanel();
  page.on('pageerror', (error) => pageErrors.push(String(error)));
  await page
    .locator('[data-testid="connection-status"][data-state="connected"]')
    .waitFor({ timeout: 15_000 });
  await page.getByTestId('new-chat').click();
  return page;
}

/**
 * Opens `url` in a tab and the panel beside it, waits for the panel to connect, and brings the page to the front:
 * the tab the panel's page actions act on.
 */
export async function openPageAndPanel(
  browser: ExtensionBrowser,
  url: string,
): Promise<{ page: Page; panel: Page }> {
  const page = await browser.context.newPage();
  await page.goto(url);
  const panel = await browser.openPanel();
  await panel.locator('[data-testid="connection-status"][data-state="connected"]').waitFor();
  await page.bringToFront();
  return { page, panel };
}

/** Types a message in the composer and sends it with Enter. */
export async function sendMessage(page: Page, text: string): Promise<void> {
  const composer = page.getByTestId('composer');
  await composer.fill(text);
  await composer.press('Enter');
}

export function lastAnswer(page: Page): Locator {
  return page.getByTestId('message-assistant').last();
}

/** The visible text of an answer's markdown. */
export async function answerText(answer: Locator): Promise<string> {
  return ((await answer.locator('.markdown').textContent()) ?? '').trim();
}

/** Waits until an answer shows at least `characters` characters of text. */
export async function waitForText(answer: Locator, characters: number, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await answerText(answer);
    if (text.length >= characters) return text;
    if (Date.now() > deadline) throw new Error(`answer stuck at ${text.length} characters: "${text}"`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function waitForStatus(answer: Locator, status: string, timeoutMs = 30_000): Promise<void> {
  await answer.and(answer.page().locator(`[data-status="${status}"]`)).waitFor({ timeout: timeoutMs });
}

/** `count` distinct words, so that any lost or repeated piece changes the text. */
export function numberedWords(count: number): string[] {
  return Array.from({ length: count }, (_, index) => `word${index + 1}${index === count - 1 ? '.' : ' '}`);
}

export interface Site {
  /** http://127.0.0.1:PORT: a host the test build may read (see buildExtension). */
  url: string;
  close(): Promise<void>;
}

/** Serves fixed pages by path, as a web site the user visits: HTML, or a file with its type. */
export async function serveSite(
  pages: Record<string, string | { type: string; body: Buffer }>,
): Promise<Site> {
  const server = createHttpServer((request, response) => {
    const page = pages[request.url ?? '/'];
    if (page === undefined) {
      response.writeHead(404).end('not found');
      return;
    }
    const { type, body } = typeof page === 'string' ? { type: 'text/html; charset=utf-8', body: page } : page;
    response.writeHead(200, { 'content-type': type });
    response.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
