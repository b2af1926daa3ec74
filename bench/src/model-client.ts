// A micro-benchmark of the model client alone: the server's OpenAI-compatible provider streaming answers from the
// benchmark's model server (its own process), measured in this process for CPU per token, requests/s and time to
// the first delta on a warm keep-alive connection and on a new one. Several copies of the provider can be compared
// in one run, taking turns (e.g. the provider of an older commit, checked out elsewhere):
//
//   node --import tsx bench/src/model-client.ts [--providers DIR[,DIR...]] [--requests 4000] [--tokens 20]
//        [--concurrency 50] [--rounds 3] [--ttft 200]
//
// DIR holds an `openai-compatible.ts` exporting createOpenAICompatibleProvider (default: this repository's, through
// @chrome-plus/server/providers). To compare with an older commit:
//   mkdir /tmp/old && git archive <commit> server/src/providers | tar -x -C /tmp/old \
//     && ln -s "$PWD/node_modules" /tmp/old/server/src/providers/node_modules
//   node --import tsx bench/src/model-client.ts --providers /tmp/old/server/src/providers,server/src/providers
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import type { Provider, ProviderRequest } from '@chrome-plus/server/providers';

interface ProviderModule {
  createOpenAICompatibleProvider(options: {
    id: string;
    baseURL: string;
    apiKey?: string;
    timeouts: { connectMs: number; idleMs: number; totalMs: number };
  }): Provider;
}

function option(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? (process.argv[index + 1] ?? fallback) : fallback;
}

const directories = option('providers', '')
  .split(',')
  .filter((directory) => directory !== '');
const requests = Number(option('requests', '4000'));
const tokens = Number(option('tokens', '20'));
const concurrency = Number(option('concurrency', '50'));
const rounds = Number(option('rounds', '3'));
const ttftSamples = Number(option('ttft', '200'));
const timeouts = { connectMs: 30_000, idleMs: 60_000, totalMs: 600_000 };

async function startModelServer(): Promise<{ child: ChildProcess; baseURL: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/src/model-server.ts'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  for await (const line of lines) {
    const ready = JSON.parse(line) as { ready?: boolean; port?: number };
    if (ready.ready) return { child, baseURL: `http://127.0.0.1:${ready.port}/v1` };
  }
  throw new Error('the model server did not start');
}

function chatRequest(answerTokens: number): ProviderRequest {
  return {
    model: 'bench-model',
    messages: [{ role: 'user', content: `[[bench tokens=${answerTokens} interval=0]]` }],
    signal: new AbortController().signal,
  };
}

/** Streams one answer; returns the number of deltas and the ms until the first. */
async function streamOne(
  provider: Provider,
  answerTokens: number,
): Promise<{ deltas: number; firstMs: number }> {
  const started = performance.now();
  let firstMs = Number.NaN;
  let deltas = 0;
  for await (const event of provider.stream(chatRequest(answerTokens))) {
    if (event.type !== 'delta') continue;
    if (deltas === 0) firstMs = performance.now() - started;
    deltas++;
  }
  return { deltas, firstMs };
}

interface Throughput {
  requestsPerSecond: number;
  tokensPerSecond: number;
  cpuMicrosPerToken: number;
  cpuMicrosPerRequest: number;
}

async function throughput(provider: Provider): Promise<Throughput> {
  let next = 0;
  let delivered = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < requests) {
        const { deltas } = await streamOne(provider, tokens);
        delivered += deltas;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const cpuMicros = used.user + used.system;
  if (delivered !== requests * tokens)
    throw new Error(`delivered ${delivered} of ${requests * tokens} tokens`);
  return {
    requestsPerSecond: requests / seconds,
    tokensPerSecond: delivered / seconds,
    cpuMicrosPerToken: cpuMicros / delivered,
    cpuMicrosPerRequest: cpuMicros / requests,
  };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** Time to the first delta of one-token answers, one at a time: on the provider's warm connection, or a new one each. */
async function firstDelta(make: () => Provider, cold: boolean): Promise<{ p50: number; p99: number }> {
  const warm = make();
  await streamOne(warm, 1);
  const samples: number[] = [];
  for (let sample = 0; sample < ttftSamples; sample++) {
    samples.push((await streamOne(cold ? make() : warm, 1)).firstMs);
  }
  return { p50: percentile(samples, 50), p99: percentile(samples, 99) };
}

const format = (value: number, digits = 0) => value.toFixed(digits).padStart(8);

const { child, baseURL } = await startModelServer();
try {
  const modules: { name: string; module: ProviderModule }[] = [];
  if (directories.length === 0)
    modules.push({ name: 'server', module: await import('@chrome-plus/server/providers') });
  for (const directory of directories) {
    const url = pathToFileURL(resolve(directory, 'openai-compatible.ts')).href;
    modules.push({ name: directory, module: (await import(url)) as ProviderModule });
  }
  const make = (module: ProviderModule) => () =>
    module.createOpenAICompatibleProvider({ id: 'bench', baseURL, apiKey: 'bench', timeouts });
  console.log(
    `${requests} answers of ${tokens} tokens, ${concurrency} at a time, written at once; ${rounds} rounds, the providers taking turns`,
  );
  const results = new Map<string, Throughput[]>();
  for (let round = 0; round < rounds; round++) {
    for (const { name, module } of modules) {
      const provider = make(module)();
      await throughput(provider); // warm-up: connections, JIT
      const result = await throughput(provider);
      results.set(name, [...(results.get(name) ?? []), result]);
      console.log(
        `round ${round + 1} ${name}: ${format(result.requestsPerSecond)} req/s ${format(result.tokensPerSecond)} tok/s ${format(result.cpuMicrosPerToken, 1)} µs CPU/token ${format(result.cpuMicrosPerRequest)} µs CPU/request`,
      );
    }
  }
  console.log('\nmedian of the rounds:');
  for (const [name, list] of results) {
    const median = (pick: (result: Throughput) => number) => percentile(list.map(pick), 50);
    console.log(
      `${name}: ${format(median((result) => result.requestsPerSecond))} req/s ${format(
        median((result) => result.cpuMicrosPerToken),
        1,
      )} µs CPU/token ${format(median((result) => result.cpuMicrosPerRequest))} µs CPU/request`,
    );
  }
  console.log(`\ntime to the first delta of one-token answers, ${ttftSamples} one at a time (ms):`);
  // A new undici provider opens a new connection; a provider on fetch shares fetch's global pool, so stays warm.
  for (const { name, module } of modules) {
    const warm = await firstDelta(make(module), false);
    const cold = await firstDelta(make(module), true);
    console.log(
      `${name}: warm p50 ${warm.p50.toFixed(3)} p99 ${warm.p99.toFixed(3)}; a new provider per call p50 ${cold.p50.toFixed(3)} p99 ${cold.p99.toFixed(3)}`,
    );
  }
} finally {
  child.kill('SIGTERM');
}
process.exit(0);
