// The model client every baseline shares with the real system (the server's OpenAI-compatible provider), so that
// the figures compare the transports, not two HTTP clients.
import { createOpenAICompatibleProvider, type Provider } from '@chrome-plus/server/providers';

export function createBenchProvider(): Provider {
  const baseURL = process.env.OPENAI_BASE_URL;
  if (baseURL === undefined) throw new Error('OPENAI_BASE_URL is not set');
  return createOpenAICompatibleProvider({
    id: 'bench',
    baseURL,
    apiKey: 'bench',
    timeouts: { connectMs: 30_000, idleMs: 60_000, totalMs: 600_000 },
  });
}

export const BENCH_MODEL = 'bench-model';

/** Prints the line the orchestrator waits for. */
export function announceReady(port: number): void {
  process.stdout.write(`${JSON.stringify({ ready: true, port })}\n`);
}
