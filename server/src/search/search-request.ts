// The gateway's half of a web search: whether a `chat.send` that asks for one may be queued, and what it searches for.
import type { ChatSendFrame } from '@chrome-plus/protocol';
import { searchQueryOf } from './web-search.ts';

/**
 * The query: the send's `searchQuery` when it names one (the extension sends the user's own words and the page's
 * title), else the last user message's text; whitespace collapsed, cut at a word to 400 characters.
 */
export function webSearchQuery(frame: Pick<ChatSendFrame, 'messages' | 'searchQuery'>): string {
  const named = frame.searchQuery?.trim();
  if (named !== undefined && named !== '') return searchQueryOf(named);
  const last = frame.messages.findLast((message) => message.role === 'user');
  return searchQueryOf(last?.content ?? '');
}

/** Why a send that asks for a web search is refused before anything is queued, or undefined. */
export function searchRefusal(
  frame: Pick<ChatSendFrame, 'messages' | 'searchQuery'>,
  available: boolean,
): { code: 'search_unavailable' | 'bad_request'; message: string } | undefined {
  if (!available) {
    return {
      code: 'search_unavailable',
      message: 'web search is not configured on this server (SEARXNG_URL): send the message without it',
    };
  }
  if (webSearchQuery(frame) === '')
    return { code: 'bad_request', message: 'webSearch needs words to search for: the message has none' };
  return undefined;
}
