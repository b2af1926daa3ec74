// An attempt's web search, when its job asks for one: search, write the outcome as a delta of its own (so that the
// client sees the sources, and a resume replays them), and give the model the numbered results or a failure note.
import type { WebSearchOutcome } from '@chrome-plus/protocol';
import type { ChatJob } from '../jobs.ts';
import type { ProviderMessage } from '../providers/types.ts';
import { searchBlock, withSearchBlock } from '../search/search-prompt.ts';
import type { WebSearch } from '../search/web-search.ts';
import type { AttemptWriter } from './attempt-writer.ts';

export interface SearchStepOptions {
  /** The web search of the jobs that ask for one (search/web-search.ts); none: their answer says it failed. */
  search?: WebSearch | undefined;
}

/**
 * The messages with the search's results in the last user message, or the negative AppendRefused code of the
 * outcome's append. A search failure is an outcome, not an error: the answer is written without results and says so.
 * Throws only when `signal` aborts (a cancel, a shutdown).
 */
export async function searchStep(
  job: ChatJob,
  messages: ProviderMessage[],
  { search }: SearchStepOptions,
  writer: Pick<AttemptWriter, 'append'>,
  signal: AbortSignal,
): Promise<ProviderMessage[] | number> {
  if (job.search === undefined) return messages;
  const { query } = job.search;
  // A gateway with SEARXNG_URL in front of a worker without it: said plainly, never a hang.
  const outcome: WebSearchOutcome =
    search === undefined
      ? { query, sources: [], error: 'The web search failed: it is not configured on this worker.' }
      : await search.search(query, signal);
  const seq = await writer.append({ type: 'chat.delta', webSearch: outcome });
  if (seq < 0) return seq;
  return withSearchBlock(messages, searchBlock(outcome));
}
