// Conversations on every device (issue 17), in real Chromium: two browser profiles, a laptop (English, light) and a
// desktop (Simplified Chinese, dark), signed in as the same user against a real gateway, worker and PostgreSQL. A
// conversation started on one appears in the other's history live; opened there mid-answer, the answer streams and
// ends with the same text; Stop there stops it for both; a rename and a delete on one show on the other; the desktop,
// cut off from the server, composes a message marked "not synced yet" that is sent when it reconnects.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { after, before, test } from 'node:test';
import { createTestDatabase, freePort, repoRoot, type TestDatabase } from '@chrome-plus/testkit';
import type { Page } from 'playwright-core';
import {
  answerText,
  type Backend,
  chromiumAvailable,
  type ExtensionBrowser,
  lastAnswer,
  launchExtension,
  numberedWords,
  screenshotPath,
  sendMessage,
  startBackend,
  waitForStatus,
  waitForText,
} from './harness.ts';

const skip = chromiumAvailable() ? false : 'Chromium is not installed (/usr/bin/chromium)';
const ADMIN_TOKEN = 'admin-token-for-e2e-sync';
const PASSWORD = 'two devices, one history';

let database: TestDatabase;
let backend: Backend;
let proxy: Proxy;
const browsers: ExtensionBrowser[] = [];

function admin(args: string[], stdin = ''): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ['--import', 'tsx', 'server/src/cli/admin.ts', ...args],
      {
        cwd: repoRoot,
        env: { ...process.env, CHROME_PLUS_URL: `http://127.0.0.1:${backend.port}`, ADMIN_TOKEN },
        timeout: 30_000,
      },
      (error, _stdout, stderr) => resolve({ code: error === null ? 0 : Number(error.code ?? 1), stderr }),
    );
    child.stdin?.end(stdin);
  });
}

/** A TCP relay to the gateway that can be cut and restored: one device's network, and only its. */
interface Proxy {
  port: number;
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

async function startProxy(targetPort: number): Promise<Proxy> {
  const port = await freePort();
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const listen = () =>
    new Promise<void>((resolve) => {
      server = createServer((client) => {
        const upstream = tcpConnect(targetPort, '127.0.0.1');
        for (const socket of [client, upstream]) {
          sockets.add(socket);
          socket.on('close', () => sockets.delete(socket));
          socket.on('error', () => {
            client.destroy();
            upstream.destroy();
          });
        }
        client.pipe(upstream).pipe(client);
      });
      server.listen(port, '127.0.0.1', resolve);
    });
  const cut = async () => {
    const closed = new Promise((resolve) => server?.close(resolve));
    for (const socket of sockets) socket.destroy();
    await closed;
  };
  await listen();
  return { port, cut, restore: listen, close: cut };
}

before(async () => {
  if (skip) return;
  database = await createTestDatabase('e2esync');
  backend = await startBackend('fake', { ADMIN_TOKEN, DATABASE_URL: database.url });
  proxy = await startProxy(backend.port);
  const added = await admin(['users', 'add', 'alice', '--password-stdin'], `${PASSWORD}\n`);
  assert.equal(added.code, 0, added.stderr);
});

after(async () => {
  for (const browser of browsers) await browser.close();
  await proxy?.close();
  await backend?.stop();
  await database?.drop();
});

/** Signs in on the options page as a user would, then opens the side panel and waits for its connection. */
async function device(name: string, port: number, options: Parameters<typeof launchExtension>[0] = {}) {
  const browser = await launchExtension(options);
  browsers.push(browser);
  const page = await browser.context.newPage();
  await page.goto(`chrome-extension://${browser.extensionId}/options.html`);
  await page.getByTestId('server-url').fill(`http://127.0.0.1:${port}`);
  await page.getByTestId('sign-in-name').fill('alice');
  await page.getByTestId('sign-in-device').fill(name);
  await page.getByTestId('sign-in-password').fill(PASSWORD);
  await page.getByTestId('sign-in').click();
  await page.locator('[data-testid="options-result"][data-kind="ok"]').waitFor();
  await page.close();
  const panel = await browser.openPanel();
  await connected(panel);
  return panel;
}

function connected(panel: Page, timeout = 15_000): Promise<void> {
  return panel.locator('[data-testid="connection-status"][data-state="connected"]').waitFor({ timeout });
}

async function openHistory(panel: Page): Promise<void> {
  if (!(await panel.getByTestId('history').isVisible())) await panel.getByTestId('history-button').click();
}

function historyItem(panel: Page, title: string) {
  return panel
    .getByTestId('history-item')
    .filter({ has: panel.getByTestId('history-title').getByText(title, { exact: true }) });
}

test('two devices of one user share their conversations live, answers in progress included', {
  skip,
}, async () => {
  const laptop = await device('laptop', backend.port);
  const desktop = await device('desktop', proxy.port, { locale: 'zh-CN', colorScheme: 'dark' });
  const fake = backend.fake!;

  // Started on the laptop, listed on the desktop while its answer is still being written.
  const words = numberedWords(40);
  fake.enqueue({ type: 'answer', pieces: words, tokenIntervalMs: 100 });
  await openHistory(desktop);
  const sentAt = Date.now();
  await sendMessage(laptop, 'Plan a trip to Kyoto');
  const listed = historyItem(desktop, 'Plan a trip to Kyoto');
  await listed.waitFor({ timeout: 10_000 });
  const liveMs = Date.now() - sentAt;
  console.log(`the desktop listed the laptop's new conversation ${liveMs} ms after it was sent`);
  assert.ok(liveMs < 3_000, `listed after ${liveMs} ms`);

  // Opened mid-answer: the answer streams there too, from its first token, and ends with the same text.
  await waitForText(lastAnswer(laptop), 5);
  await listed.locator('.history-open').click();
  const mirrored = lastAnswer(desktop);
  await mirrored.and(desktop.locator('[data-status="streaming"]')).waitFor({ timeout: 5_000 });
  const partial = await waitForText(mirrored, 1);
  assert.ok(partial.length < words.join('').length, 'shown before the answer ended');
  await desktop.getByTestId('stop').waitFor({ state: 'visible' });
  await waitForStatus(mirrored, 'done');
  await waitForStatus(lastAnswer(laptop), 'done');
  const expected = words.join('').trim();
  assert.equal(await answerText(lastAnswer(laptop)), expected);
  assert.equal(await answerText(mirrored), expected);
  await desktop.screenshot({ path: screenshotPath('sync-followed-dark-zh.png') });

  // A follow-up from the laptop, stopped from the desktop: stopped for both.
  fake.enqueue({ type: 'answer', tokens: 400, tokenIntervalMs: 50 });
  await sendMessage(laptop, 'Now a very long essay');
  await desktop.getByTestId('message-user').getByText('Now a very long essay').waitFor({ timeout: 10_000 });
  await waitForText(lastAnswer(desktop), 5);
  await desktop.getByTestId('stop').click();
  await waitForStatus(lastAnswer(desktop), 'cancelled', 10_000);
  await waitForStatus(lastAnswer(laptop), 'cancelled', 10_000);

  // Renamed on the laptop, shown renamed on the desktop.
  await openHistory(laptop);
  const item = historyItem(laptop, 'Plan a trip to Kyoto');
  await item.hover();
  await item.getByTestId('history-rename').click();
  await laptop.getByTestId('history-rename-input').fill('Kyoto in autumn');
  await laptop.getByTestId('history-rename-input').press('Enter');
  await openHistory(desktop);
  await historyItem(desktop, 'Kyoto in autumn').waitFor({ timeout: 10_000 });

  // Deleted on the desktop: once its undo has passed, gone from the laptop too.
  const doomed = historyItem(desktop, 'Kyoto in autumn');
  await doomed.hover();
  await doomed.getByTestId('history-delete').click();
  await historyItem(laptop, 'Kyoto in autumn').waitFor({ state: 'detached', timeout: 20_000 });
  await laptop.getByTestId('history-close').click();

  // The desktop loses the server: what it composes is kept, marked, and sent when it is back.
  await proxy.cut();
  await desktop
    .locator('[data-testid="connection-status"]:not([data-state="connected"])')
    .waitFor({ timeout: 15_000 });
  await desktop.getByTestId('history-close').click();
  await desktop.getByTestId('new-chat').click();
  await sendMessage(desktop, 'Written on the train');
  const mark = desktop.getByTestId('message-user').last().getByTestId('sync-pending');
  await mark.waitFor();
  assert.equal(await mark.textContent(), '尚未同步');
  assert.equal(
    await mark.evaluate((element) => getComputedStyle(element).color),
    'rgb(157, 157, 171)',
    'the muted text of the dark theme',
  );
  await openHistory(desktop);
  await historyItem(desktop, 'Written on the train').getByTestId('sync-pending').waitFor();
  await desktop.screenshot({ path: screenshotPath('sync-offline-dark-zh.png') });
  await desktop.getByTestId('history-close').click();
  fake.enqueue({ type: 'answer', pieces: ['Sent ', 'once ', 'back ', 'online.'] });
  await proxy.restore();
  // The browser says "online" when the network is back; the panel then reconnects without waiting its backoff.
  await desktop.evaluate(() => globalThis.dispatchEvent(new Event('online')));
  await connected(desktop, 30_000);
  await waitForStatus(lastAnswer(desktop), 'done');
  assert.equal(await answerText(lastAnswer(desktop)), 'Sent once back online.');
  await mark.waitFor({ state: 'detached' });
  await openHistory(laptop);
  await historyItem(laptop, 'Written on the train').waitFor({ timeout: 10_000 });
  await laptop.screenshot({ path: screenshotPath('sync-history-laptop.png') });
});
