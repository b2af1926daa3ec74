// Timestamps in an answer about a video ("[1:23]", "[01:02:03]") as links that take the video to that moment:
// each becomes an <a data-seek="83"> (seconds); the panel's click handler seeks the video's tab. Text inside code
// and existing links is left alone.

/** "[m:ss]" or "[h:mm:ss]", brackets included. */
const timestampPattern = /\[(?:(\d{1,2}):)?(\d{1,3}):([0-5]\d)\]/g;

/** Seconds of "[h:]m:ss" parts. */
export function secondsOf(hours: string | undefined, minutes: string, seconds: string): number {
  return Number(hours ?? 0) * 3600 + Number(minutes) * 60 + Number(seconds);
}

/** "m:ss" (or "h:mm:ss") of a time in milliseconds: how transcripts and answers write it. */
export function formatTimestamp(milliseconds: number): string {
  const total = Math.max(0, Math.floor(milliseconds / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${seconds}` : `${minutes}:${seconds}`;
}

/** Turns the timestamps in `root`'s text into seek links (called on each freshly rendered block). */
export function linkTimestamps(root: Element): void {
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const found: Text[] = [];
  for (let node = walker.nextNode(); node !== null; node = walker.nextNode()) {
    const text = node as Text;
    // A fresh search each time: the pattern is global, and test() would carry its lastIndex over.
    if (text.parentElement?.closest('code, pre, a') || text.data.search(timestampPattern) < 0) continue;
    found.push(text);
  }
  for (const node of found) {
    const fragment = document.createDocumentFragment();
    let last = 0;
    for (const match of node.data.matchAll(timestampPattern)) {
      const at = match.index ?? 0;
      fragment.append(node.data.slice(last, at));
      const link = document.createElement('a');
      link.className = 'timestamp-link';
      link.href = '#';
      link.dataset.seek = String(secondsOf(match[1], match[2]!, match[3]!));
      link.textContent = match[0];
      fragment.append(link);
      last = at + match[0].length;
    }
    fragment.append(node.data.slice(last));
    node.replaceWith(fragment);
  }
}
