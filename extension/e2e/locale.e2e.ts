// The panel in Simplified Chinese (Chromium started with --lang=zh-CN): the UI, the page actions and the options page.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FakeOpenAI } from '@chrome-plus/testkit';
import {
  type Backend,
  chromiumAvailable,
  type ExtensionBrowser,
  lastAnswer,
  launchExtension,
  type Site,
  screenshotPath,
  serveSite,
  startBackend,
  waitForStatus,
} from './harness.ts';

const skip = chromiumAvailable() ? false : 'Chromium is not installed (/usr/bin/chromium)';

let backend: Backend;
let fake: FakeOpenAI;
let browser: ExtensionBrowser;
let site: Site;

before(async () => {
  if (skip) return;
  site = await serveSite({
    '/tea': `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>龙井茶的采摘与炒制</title>
<script>window.tracker = "SCRIPT-MARKER";</script></head><body>
<nav><a href="/">首页 NAV-MARKER</a> <a href="/shop">商城</a></nav>
<article><h1>龙井茶的采摘与炒制</h1>
<p>每年清明前后，杭州西湖周边的茶农开始采摘龙井茶。明前茶芽叶细嫩，一芽一叶，产量少而价格高，是一年中最受欢迎的新茶。</p>
<p>采下的鲜叶要先摊放几个小时，散去部分水分和青草气，然后才能下锅。炒制全凭手工，在铁锅中抓、抖、搭、拓、捺、推、扣、甩、磨、压，十种手法交替使用。</p>
<p>炒好的龙井扁平光滑，色泽翠绿，冲泡后香气清高持久，滋味甘醇鲜爽。好的龙井可以连续冲泡三到四次，每一泡的香气都略有不同。</p>
<p>保存龙井要避光、防潮、隔绝异味，最好密封后放入冰箱冷藏，这样可以在半年内保持新茶的鲜爽口感。</p>
</article><footer>FOOTER-MARKER 版权所有</footer></body></html>`,
  });
  backend = await startBackend('fake');
  fake = backend.fake!;
  browser = await launchExtension({ locale: 'zh-CN' });
  await browser.configureServer(backend.url);
});

after(async () => {
  await browser?.close();
  await backend?.stop();
  await site?.close();
});

test('with --lang=zh-CN the panel speaks Simplified Chinese, page actions included', { skip }, async () => {
  const panel = await browser.openPanel();
  await panel
    .locator('[data-testid="connection-status"][data-state="connected"]')
    .waitFor({ timeout: 15_000 });
  assert.equal(
    await panel
      .getByTestId('connection-status')
      .textContent()
      .then((text) => text?.trim()),
    '已连接',
  );
  assert.equal(await panel.getByTestId('composer').getAttribute('placeholder'), '有什么想问的…');
  assert.equal((await panel.getByTestId('empty-summarize-page').textContent())?.trim(), '总结此页面');
  assert.equal(await panel.getByTestId('attach').getAttribute('title'), '添加附件');
  assert.equal(await panel.evaluate(() => document.documentElement.lang), 'zh-CN');

  const article = await browser.context.newPage();
  await article.goto(`${site.url}/tea`);
  await article.bringToFront();
  fake.enqueue({
    type: 'answer',
    pieces: [
      '这篇文章介绍了**龙井茶**从采摘到保存的过程：\n\n',
      '1. **采摘**：清明前后采摘，明前茶一芽一叶，最为珍贵。\n',
      '2. **炒制**：鲜叶摊放后入锅，用十种手法手工炒制。\n',
      '3. **品质**：扁平光滑、色泽翠绿，可冲泡三到四次。\n',
      '4. **保存**：避光防潮，密封冷藏可保鲜半年。\n',
    ],
    tokenIntervalMs: 20,
  });
  const before = fake.requests.length;
  await panel.getByTestId('empty-summarize-page').click();
  await waitForStatus(lastAnswer(panel), 'done');
  const sent = JSON.stringify(fake.requests.slice(before).at(-1)?.body?.messages);
  assert.match(sent, /总结这个页面。/, 'the request is asked in the UI language');
  assert.match(sent, /明前茶芽叶细嫩/);
  assert.doesNotMatch(sent, /NAV-MARKER|SCRIPT-MARKER|FOOTER-MARKER/);
  const context = panel.getByTestId('message-user').getByTestId('message-context');
  assert.match((await context.textContent()) ?? '', /页面.*龙井茶的采摘与炒制.*正文 \d+ 个字符/);
  await panel.mouse.move(0, 0);
  await panel.screenshot({ path: screenshotPath('zh-CN.png') });

  // A page no extension may read is explained in Chinese too.
  const settings = await browser.context.newPage();
  await settings.goto('chrome://version');
  await settings.bringToFront();
  await panel.getByTestId('summarize-page').click();
  await panel
    .getByTestId('notice')
    .getByText(/无法读取此页面/)
    .waitFor();
  await settings.close();

  await panel.getByTestId('history-button').click();
  assert.equal(await panel.getByTestId('history-search').getAttribute('placeholder'), '搜索对话');
  await article.close();
  await panel.close();
});

test('the options page is in Chinese too', { skip }, async () => {
  const options = await browser.context.newPage();
  await options.goto(`chrome-extension://${browser.extensionId}/options.html`);
  assert.equal(await options.title(), 'Chrome Plus 设置');
  await options.getByText('系统提示词', { exact: true }).waitFor();
  await options.getByText('常用提示词', { exact: true }).waitFor();
  assert.equal(
    await options.getByTestId('preset-name').first().inputValue(),
    '校对',
    'the built-in prompts too',
  );
  await options.close();
});
