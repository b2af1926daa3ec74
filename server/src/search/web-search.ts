// The workers' web search: one bounded GET of a SearXNG instance's JSON API, its answer validated at the boundary and
// cut to numbered sources. It never throws for the search server's faults: the outcome says what went wrong, and the
// answer goes on without results. Only the caller's own abort (a cancel) is thrown.
import type { WebSearchOutcome, WebSource } from '@chrome-plus/protocol';
import { Agent, type Dispatcher } from 'undici';
import { z } from 'zod';
import { readCapped } from '../http/read-capped.ts';
import { abortReason } from '../providers/abort.ts';

export interface WebSearchOptions {
  /** The instance's base URL (SEARXNG_URL); credentials in it become a Basic Authorization header. */
  searxngUrl: string;
  timeoutMs: number;
  maxResults: number;
  maxResponseBytes: number;
  maxCharsPerResult: number;
  /** Default: an undici Agent made here, once. */
  dispatcher?: Dispatcher;
}

export interface WebSearch {
  search(query: string, signal: AbortSignal): Promise<WebSearchOutcome>;
}

/** Characters of a query sent; a longer one is cut at a word. */
export const MAX_QUERY_CHARS = 400;
const MAX_TITLE_CHARS = 300;
const MAX_URL_CHARS = 2048;

// SearXNG's `format=json` answer, as much of it as we read: everything else in it (answers, infoboxes, engines'
// names) is ignored, and a result without a usable URL is dropped rather than the whole answer refused.
const searxngAnswerSchema = z.looseObject({
  results: z.array(
    z.looseObject({
      url: z.unknown(),
      title: z.unknown().optional(),
      content: z.unknown().optional(),
    }),
  ),
});

/** What a user's message asks the search for: whitespace collapsed, cut at a word to MAX_QUERY_CHARS. */
export function searchQueryOf(text: string): string {
  const collapsed = text.replace(/\s+/g, ' ').trim();
  if (collapsed.length <= MAX_QUERY_CHARS) return collapsed;
  const cut = collapsed.slice(0, MAX_QUERY_CHARS);
  const space = cut.lastIndexOf(' ');
  return space > MAX_QUERY_CHARS / 2 ? cut.slice(0, space) : cut;
}

function clip(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}

/** An http(s) URL of sane length, or undefined. */
function safeUrl(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length > MAX_URL_CHARS) return undefined;
  try {
    const parsed = new URL(value);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.href : undefined;
  } catch {
    return undefined;
  }
}

/** Numbered sources from a parsed answer: http(s) results only, each URL once, at most `maxResults`. */
export function sourcesOf(answer: unknown, maxResults: number, maxChars: number): WebSource[] | undefined {
  const parsed = searxngAnswerSchema.safeParse(answer);
  if (!parsed.success) return undefined;
  const sources: WebSource[] = [];
  const seen = new Set<string>();
  for (const result of parsed.data.results) {
    if (sources.length === maxResults) break;
    const url = safeUrl(result.url);
    if (url === undefined || seen.has(url)) continue;
    seen.add(url);
    const title = typeof result.title === 'string' && result.title.trim() !== '' ? result.title : url;
    const snippet = typeof result.content === 'string' ? clip(result.content, maxChars) : '';
    sources.push({
      n: sources.length + 1,
      url,
      title: clip(title, MAX_TITLE_CHARS),
      ...(snippet !== '' && { snippet }),
    });
  }
  return sources;
}

class SearchFailure extends Error {}

export function createWebSearch(options: WebSearchOptions): WebSearch {
  const base = new URL(options.searxngUrl);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (base.username !== '' || base.password !== '') {
    const pair = `${decodeURIComponent(base.username)}:${decodeURIComponent(base.password)}`;
    headers.authorization = `Basic ${Buffer.from(pair).toString('base64')}`;
    base.username = '';
    base.password = '';
  }
  const origin = base.origin;
  const basePath = base.pathname.replace(/\/+$/, '');
  // undici's own timers off: the one deadline below bounds connect, headers and body together.
  const dispatcher = options.dispatcher ?? new Agent({ headersTimeout: 0, bodyTimeout: 0 });

  async function fetchSources(query: string, signal: AbortSignal): Promise<WebSource[]> {
    const path = `${basePath}/search?${new URLSearchParams({ q: query, format: 'json' })}`;
    let response: Dispatcher.ResponseData;
    try {
      response = await dispatcher.request({ origin, path, method: 'GET', headers, signal });
    } catch (error) {
      if (signal.aborted) throw error;
      const code = (error as { code?: unknown }).code;
      throw new SearchFailure(`could not reach it${typeof code === 'string' ? ` (${code})` : ''}`);
    }
    if (response.statusCode !== 200) {
      await response.body.dump().catch(() => {});
      throw new SearchFailure(`it answered HTTP ${response.statusCode}`);
    }
    // Past the cap, reading stops and the connection is dropped.
    const max = options.maxResponseBytes;
    const text = (
      await readCapped(response.body, max, () => new SearchFailure(`its answer was larger than ${max} bytes`))
    ).toString('utf8');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new SearchFailure('its answer was not JSON (is `json` in its search.formats?)');
    }
    const sources = sourcesOf(json, options.maxResults, options.maxCharsPerResult);
    if (sources === undefined) throw new SearchFailure('its answer was not a SearXNG result list');
    return sources;
  }

  return {
    async search(query, signal) {
      const deadline = AbortSignal.timeout(options.timeoutMs);
      const both = AbortSignal.any([signal, deadline]);
      try {
        return { query, sources: await fetchSources(query, both) };
      } catch (error) {
        if (signal.aborted) throw abortReason(signal);
        const reason = deadline.aborted
          ? `it did not answer within ${options.timeoutMs} ms`
          : error instanceof SearchFailure
            ? error.message
            : 'its answer could not be read';
        return { query, sources: [], error: `The web search failed: ${reason}.` };
      }
    },
  };
}

/** The search SEARXNG_URL configures, or undefined (web search off). */
export function createWebSearchFrom(
  config: Omit<WebSearchOptions, 'searxngUrl'> & { searxngUrl?: string | undefined },
) {
  const { searxngUrl } = config;
  return searxngUrl === undefined ? undefined : createWebSearch({ ...config, searxngUrl });
}
