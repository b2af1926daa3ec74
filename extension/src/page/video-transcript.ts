// "Summarize this video" for the panel: reads the current tab's captions (read-captions.ts, injected) as a
// transcript with a timestamp on each line, cut to the page budget; and takes the video to a moment when a
// timestamp of the answer is clicked.
import { formatTimestamp } from '../render/timestamp-links.ts';
import type { PageContext } from '../store/types.ts';
import { targetTab } from './current-page.ts';
import { cutToBudget } from './page-access.ts';
import type { CaptionReading } from './read-captions.ts';
import { runInTab } from './run-in-tab.ts';

export type VideoResult =
  | { ok: true; context: PageContext; language: string }
  | { ok: false; problem: 'no-tab' | 'no-video' | 'no-captions' | 'failed' };

/** Cues read from one video at most (a ten-hour stream has about 20,000). */
const maxCues = 20_000;

/** The tab whose video was summarized last: where a timestamp of its answer seeks. */
let lastVideoTab: number | undefined;

export async function readVideoTranscript(budget: number, languages: string[]): Promise<VideoResult> {
  const tab = await targetTab();
  if (tab?.id === undefined) return { ok: false, problem: 'no-tab' };
  let reading: CaptionReading | undefined;
  try {
    reading = (await runInTab(tab.id, 'caption-reader.js', '__chromePlusReadCaptions', [
      languages,
      maxCues,
    ])) as CaptionReading | undefined;
  } catch {
    return { ok: false, problem: 'failed' };
  }
  if (reading === undefined) return { ok: false, problem: 'failed' };
  if (!reading.ok) return { ok: false, problem: reading.problem };
  lastVideoTab = tab.id;
  const transcript = reading.cues.map((cue) => `[${formatTimestamp(cue.startMs)}] ${cue.text}`).join('\n');
  return {
    ok: true,
    language: reading.language,
    context: {
      kind: 'page',
      title: reading.title,
      url: reading.url,
      text: cutToBudget(transcript, budget),
      totalCharacters: transcript.length,
    },
  };
}

/** Takes the video of the last summarized tab (else the current one) to `seconds`, and shows that tab. */
export async function seekVideo(seconds: number): Promise<void> {
  const tabId = lastVideoTab ?? (await targetTab())?.id;
  if (tabId === undefined) return;
  await chrome.scripting
    .executeScript({
      target: { tabId },
      func: (at: number) => {
        const video = document.querySelector('video');
        if (video) video.currentTime = at;
      },
      args: [seconds],
    })
    .catch(() => undefined);
  await chrome.tabs.update(tabId, { active: true }).catch(() => undefined);
}
