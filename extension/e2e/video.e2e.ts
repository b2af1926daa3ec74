// "Summarize this video" in a real Chromium, on a local page built like a YouTube watch page (its player response
// in a script lists caption tracks; the track's address answers json3): the transcript goes to the model with a
// timestamp on each line, the people-made track before the automatic one; a timestamp in the answer takes the
// page's video to that moment; a video without captions, and a page without a video, say so.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { RecordedRequest } from '@chrome-plus/testkit';
import type { Page } from 'playwright-core';
import {
  type Backend,
  chromiumAvailable,
  type ExtensionBrowser,
  lastAnswer,
  launchExtension,
  openPageAndPanel,
  type Site,
  screenshotPath,
  serveSite,
  startBackend,
  waitForStatus,
} from './harness.ts';

const skip = chromiumAvailable() ? false : 'Chromium is not installed (/usr/bin/chromium)';

function watchPage(tracks: object[]): string {
  const player = {
    videoDetails: { videoId: 'abc123', title: 'Keeping the light' },
    captions:
      tracks.length === 0 ? undefined : { playerCaptionsTracklistRenderer: { captionTracks: tracks } },
  };
  return `<!doctype html><html><head><title>Keeping the light - YouTube</title></head><body>
<video width="320" height="180"></video>
<script>var ytInitialPlayerResponse = ${JSON.stringify(player)};var meta = {"note": "}{ braces in strings"};</script>
<h1>Keeping the light</h1></body></html>`;
}

const cues = {
  events: [
    { tStartMs: 5_000, segs: [{ utf8: 'Welcome to the lighthouse.' }] },
    { tStartMs: 65_000, segs: [{ utf8: 'The keeper ' }, { utf8: 'lights the lamp.' }] },
    { tStartMs: 3_723_000, segs: [{ utf8: 'Dawn, and the watch ends.' }] },
  ],
};
const automatic = { events: [{ tStartMs: 0, segs: [{ utf8: 'AUTOMATIC-TRACK' }] }] };

let backend: Backend;
let site: Site;
let browser: ExtensionBrowser;

before(async () => {
  if (skip) return;
  backend = await startBackend('fake');
  site = await serveSite({
    '/watch': watchPage([
      {
        baseUrl: '/api/timedtext?v=abc123&lang=en&kind=asr',
        languageCode: 'en',
        kind: 'asr',
        name: { simpleText: 'English (auto-generated)' },
      },
      { baseUrl: '/api/timedtext?v=abc123&lang=en', languageCode: 'en', name: { simpleText: 'English' } },
      {
        baseUrl: 'https://elsewhere.example/timedtext',
        languageCode: 'en',
        name: { simpleText: 'Off-site' },
      },
    ]),
    '/api/timedtext?v=abc123&lang=en&fmt=json3': {
      type: 'application/json',
      body: Buffer.from(JSON.stringify(cues)),
    },
    '/api/timedtext?v=abc123&lang=en&kind=asr&fmt=json3': {
      type: 'application/json',
      body: Buffer.from(JSON.stringify(automatic)),
    },
    '/silent': watchPage([]),
    '/article': '<!doctype html><title>Just text</title><p>No video here.</p>',
  });
  browser = await launchExtension();
  await browser.configureServer(backend.url);
});

after(async () => {
  if (skip) return;
  await browser?.close();
  await site?.close();
  await backend?.stop();
});

function openTabAndPanel(path: string): Promise<{ page: Page; panel: Page }> {
  return openPageAndPanel(browser, `${site.url}${path}`);
}

const lastUserText = (request: RecordedRequest | undefined) =>
  String(((request?.body?.messages ?? []) as { content: unknown }[]).at(-1)?.content ?? '');

test('a video page is summarized from its captions, and a timestamp of the answer seeks its video', {
  skip,
}, async () => {
  const { page: tab, panel } = await openTabAndPanel('/watch');
  backend.fake!.enqueue({
    type: 'answer',
    pieces: ['The keeper lights the lamp at [1:05], ', 'and the watch ends at [1:02:03].'],
    tokenIntervalMs: 10,
  });
  const before = backend.fake!.requests.length;
  await panel.getByTestId('empty-summarize-video').click();
  await waitForStatus(lastAnswer(panel), 'done');

  const sent = lastUserText(backend.fake!.requests[before]);
  assert.match(sent, /Summarize this video from its transcript/);
  assert.ok(sent.includes('[0:05] Welcome to the lighthouse.'), 'each line carries its timestamp');
  assert.ok(sent.includes('[1:05] The keeper lights the lamp.'), "a cue's pieces are joined");
  assert.ok(sent.includes('[1:02:03] Dawn, and the watch ends.'), 'hours when a video is that long');
  assert.ok(!sent.includes('AUTOMATIC-TRACK'), 'the track written by people comes before the automatic one');

  const links = lastAnswer(panel).locator('a.timestamp-link');
  assert.deepEqual(await links.evaluateAll((all) => all.map((link) => link.getAttribute('data-seek'))), [
    '65',
    '3723',
  ]);
  await links.first().click();
  await tab.waitForFunction(() => document.querySelector('video')?.currentTime === 65);
  await panel.screenshot({ path: screenshotPath('video-summary.png') });
  await panel.close();
  await tab.close();
});

test('a video without captions, and a page without a video, say so plainly', { skip }, async () => {
  for (const [path, said] of [
    ['/silent', /no captions/],
    ['/article', /not a video page/],
  ] as const) {
    const { page: tab, panel } = await openTabAndPanel(path);
    const before = backend.fake!.requests.length;
    // The panel opens on the last conversation: a new chat shows the page actions again.
    await panel.getByTestId('new-chat').click();
    await panel.getByTestId('empty-summarize-video').click();
    await panel.getByTestId('notice-text').filter({ hasText: said }).waitFor();
    assert.equal(backend.fake!.requests.length, before, 'nothing is sent');
    await panel.close();
    await tab.close();
  }
});
