// @chrome-plus/server/providers: the model clients alone, for the bench's baselines, whose bundles must not load
// the rest of the server.
export {
  createOpenAICompatibleProvider,
  type OpenAICompatibleProviderOptions,
  type ProviderTimeouts,
} from './openai-compatible.ts';
export type { Provider, ProviderEvent, ProviderRequest } from './types.ts';
