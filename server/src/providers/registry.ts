// The configured model providers, looked up by model id: what the worker calls and what `models.list` shows.
import type { ModelInfo } from '@chrome-plus/protocol';
import type { ModelConfig, ProviderConfig } from '../config.ts';
import { createDemoProvider } from './demo.ts';
import { createOpenAICompatibleProvider, type ProviderTimeouts } from './openai-compatible.ts';
import type { Provider } from './types.ts';

export interface ProvidersOptions {
  /** Replaces the global fetch of every OpenAI-compatible provider, e.g. for tests. */
  fetch?: typeof globalThis.fetch;
  timeouts: ProviderTimeouts;
  /** Pause between the demo model's words (tests use 0). */
  demoDelayMs?: number;
}

export interface ResolvedModel {
  provider: Provider;
  model: ModelConfig;
}

export interface Providers {
  /** The provider serving `modelId`, or undefined for a model nobody configured. */
  resolve(modelId: string): ResolvedModel | undefined;
  /** Every configured model, in configuration order, as the protocol lists them. */
  models(): ModelInfo[];
}

function createProvider(config: ProviderConfig, options: ProvidersOptions): Provider {
  if (config.kind === 'demo') {
    return createDemoProvider(options.demoDelayMs === undefined ? {} : { delayMs: options.demoDelayMs });
  }
  if (config.baseURL === undefined) throw new Error(`provider "${config.id}" has no base URL`);
  return createOpenAICompatibleProvider({
    id: config.id,
    baseURL: config.baseURL,
    apiKey: config.apiKey,
    timeouts: options.timeouts,
    ...(options.fetch && { fetch: options.fetch }),
  });
}

export function createProviders(configs: readonly ProviderConfig[], options: ProvidersOptions): Providers {
  const byModel = new Map<string, ResolvedModel>();
  const infos: ModelInfo[] = [];
  for (const config of configs) {
    const provider = createProvider(config, options);
    for (const model of config.models) {
      // config.ts already refuses a model configured twice; the first one wins should that ever change.
      if (byModel.has(model.id)) continue;
      byModel.set(model.id, { provider, model });
      infos.push({ id: model.id, provider: config.id, reasoning: model.reasoning, vision: model.vision });
    }
  }
  return {
    resolve: (modelId) => byModel.get(modelId),
    models: () => infos.map((info) => ({ ...info })),
  };
}
