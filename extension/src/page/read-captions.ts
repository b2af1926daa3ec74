// Injected into the current tab (chrome.scripting, a classic script): reads a video page's captions, the way a
// YouTube watch page holds them: its player response (`ytInitialPlayerResponse`, in a script of the page) lists the
// caption tracks, and each track's address gives its cues (json3, else the timedtext XML). The user's languages
// come first, then a track written by people before an automatic one. Only tracks on the page's own site are read.

export interface CaptionCue {
  startMs: number;
  text: string;
}

export type CaptionReading =
  | {
      ok: true;
      title: string;
      url: string;
      language: string;
      /** The track's name as the page shows it (e.g. "English (auto-generated)"). */
      track: string;
      cues: CaptionCue[];
      /** More cues than `maxCues`: the rest were left out. */
      truncated: boolean;
    }
  | { ok: false; problem: 'no-video' | 'no-captions' | 'failed'; title: string; url: string };

interface CaptionTrack {
  baseUrl?: unknown;
  languageCode?: unknown;
  kind?: unknown;
  name?: { simpleText?: unknown; runs?: { text?: unknown }[] };
}

/** The largest player response read from a script (bytes of its text). */
const maxScriptChars = 5_000_000;

/** The JSON object after `marker` in the page's scripts, read by balanced braces (strings respected). */
function objectAfter(marker: string): unknown {
  for (const script of document.querySelectorAll('script:not([src])')) {
    const text = script.textContent ?? '';
    if (text.length > maxScriptChars) continue;
    const at = text.indexOf(marker);
    if (at < 0) continue;
    const start = text.indexOf('{', at + marker.length);
    if (start < 0) continue;
    let depth = 0;
    let inString = false;
    for (let index = start; index < text.length; index++) {
      const char = text[index];
      if (inString) {
        if (char === '\\') index += 1;
        else if (char === '"') inString = false;
      } else if (char === '"') inString = true;
      else if (char === '{') depth += 1;
      else if (char === '}' && --depth === 0) {
        try {
          return JSON.parse(text.slice(start, index + 1));
        } catch {
          return undefined;
        }
      }
    }
  }
  return undefined;
}

function trackName(track: CaptionTrack): string {
  const name = track.name;
  if (typeof name?.simpleText === 'string') return name.simpleText;
  return (name?.runs ?? []).map((run) => (typeof run.text === 'string' ? run.text : '')).join('');
}

/** The track to read: the first of `languages` that has one (people's before automatic), else the first. */
function pickTrack(tracks: CaptionTrack[], languages: string[]): CaptionTrack | undefined {
  const rank = (track: CaptionTrack) => {
    const code = String(track.languageCode ?? '').toLowerCase();
    const language = languages.findIndex(
      (wanted) => code === wanted.toLowerCase() || code.split('-')[0] === wanted.toLowerCase().split('-')[0],
    );
    return (language < 0 ? languages.length : language) * 2 + (track.kind === 'asr' ? 1 : 0);
  };
  return [...tracks].sort((left, right) => rank(left) - rank(right))[0];
}

function cuesOfJson3(data: unknown): CaptionCue[] {
  const events = (data as { events?: unknown })?.events;
  if (!Array.isArray(events)) return [];
  const cues: CaptionCue[] = [];
  for (const event of events as { tStartMs?: unknown; segs?: { utf8?: unknown }[] }[]) {
    const text = (event.segs ?? [])
      .map((seg) => (typeof seg.utf8 === 'string' ? seg.utf8 : ''))
      .join('')
      .replace(/\s+/g, ' ')
      .trim();
    if (typeof event.tStartMs === 'number' && text !== '') cues.push({ startMs: event.tStartMs, text });
  }
  return cues;
}

function cuesOfXml(xml: string): CaptionCue[] {
  const parsed = new DOMParser().parseFromString(xml, 'text/xml');
  return [...parsed.querySelectorAll('text')]
    .map((node) => ({
      startMs: Math.round(Number(node.getAttribute('start')) * 1000),
      // The XML's text is itself HTML-escaped: read it as text, never as markup.
      text: (new DOMParser().parseFromString(node.textContent ?? '', 'text/html').body.textContent ?? '')
        .replace(/\s+/g, ' ')
        .trim(),
    }))
    .filter((cue) => Number.isFinite(cue.startMs) && cue.text !== '');
}

async function readCaptions(languages: string[], maxCues: number): Promise<CaptionReading> {
  const about = { title: document.title, url: location.href };
  const player = objectAfter('ytInitialPlayerResponse') as
    | { captions?: { playerCaptionsTracklistRenderer?: { captionTracks?: unknown } } }
    | undefined;
  if (player === undefined) return { ok: false, problem: 'no-video', ...about };
  const tracks = player.captions?.playerCaptionsTracklistRenderer?.captionTracks;
  const usable = (Array.isArray(tracks) ? (tracks as CaptionTrack[]) : []).filter((track) => {
    if (typeof track.baseUrl !== 'string') return false;
    try {
      return new URL(track.baseUrl, location.href).origin === location.origin;
    } catch {
      return false;
    }
  });
  const track = pickTrack(usable, languages);
  if (track === undefined) return { ok: false, problem: 'no-captions', ...about };
  const address = new URL(String(track.baseUrl), location.href);
  let cues: CaptionCue[] = [];
  try {
    const json = new URL(address);
    json.searchParams.set('fmt', 'json3');
    const response = await fetch(json, { credentials: 'include' });
    if (response.ok) cues = cuesOfJson3(await response.json().catch(() => undefined));
    if (cues.length === 0) {
      const xml = await fetch(address, { credentials: 'include' });
      if (xml.ok) cues = cuesOfXml(await xml.text());
    }
  } catch {
    return { ok: false, problem: 'failed', ...about };
  }
  if (cues.length === 0) return { ok: false, problem: 'no-captions', ...about };
  return {
    ok: true,
    ...about,
    language: String(track.languageCode ?? ''),
    track: trackName(track),
    cues: cues.slice(0, maxCues),
    truncated: cues.length > maxCues,
  };
}

(globalThis as { __chromePlusReadCaptions?: unknown }).__chromePlusReadCaptions = readCaptions;
