// The load-generator process: opens the connections a spec asks for, drives chat requests through them, measures
// each token's latency on the shared clock, and reports over IPC. Run by the orchestrator, one process per scenario.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { nowMicros, RECEIVED_PATTERN, STAMP_PATTERN } from '../clock.ts';
import { createSamples } from '../stats.ts';
import { type Client, connect, type Frame } from './clients.ts';
import type {
  IdleResult,
  IdleSpec,
  LoadMessage,
  LoadSpec,
  OrchestratorMessage,
  StreamsResult,
  StreamsSpec,
} from './spec.ts';

function report(message: LoadMessage): void {
  process.send?.(message);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Connection {
  client: Client | undefined;
  /** Frames of the request in flight, routed here by the connection's handler. */
  onFrame?: (frame: Frame, receivedAt: number) => void;
}

/** Opens `count` connections, `parallelism` handshakes at a time; failures leave `client` undefined. */
async function openAll(spec: LoadSpec, connections: Connection[]): Promise<number> {
  let next = 0;
  let failures = 0;
  async function lane(): Promise<void> {
    while (next < connections.length) {
      const index = next++;
      const connection = connections[index]!;
      try {
        connection.client = await connect({
          protocol: spec.protocol,
          url: spec.url,
          token: spec.tokens.length === 0 ? undefined : spec.tokens[index % spec.tokens.length],
          onFrame: (frame, receivedAt) => connection.onFrame?.(frame, receivedAt),
          onClose: () => {},
        });
      } catch {
        failures++;
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(spec.connectParallelism, connections.length) }, lane));
  return failures;
}

async function runStreams(spec: StreamsSpec): Promise<StreamsResult> {
  const connections: Connection[] = Array.from({ length: spec.connections }, () => ({ client: undefined }));
  const connectFailures = await openAll(spec, connections);
  report({ type: 'connected', connected: spec.connections - connectFailures, failures: connectFailures });

  const latency = createSamples(1 << 16);
  const ttftOverhead = createSamples();
  const ttft = createSamples();
  const requestPath = createSamples();
  const firstTokenPath = createSamples();
  const errorCodes: Record<string, number> = {};
  let errors = 0;
  let gaps = 0;
  let lostTokens = 0;
  let tokensReceived = 0;
  let requestsCompleted = 0;
  let inFlight = 0;

  // The histogram counts the timer's own period: its resolution is subtracted from what is reported.
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  const loadStart = nowMicros();
  const windowStart = spec.single ? loadStart : loadStart + (spec.rampMs + spec.warmupMs) * 1000;
  const windowEnd = spec.single ? Number.POSITIVE_INFINITY : windowStart + spec.measureMs * 1000;
  let stopping = false;
  let lastCompletion = loadStart;
  let allDone: (() => void) | undefined;
  const content = `[[bench tokens=${spec.answerTokens} interval=${spec.intervalMs}]]`;

  const inWindow = (time: number) => time >= windowStart && time < windowEnd;
  const countError = (code: string) => {
    errors++;
    errorCodes[code] = (errorCodes[code] ?? 0) + 1;
  };

  function start(connection: Connection): void {
    const client = connection.client;
    if (client === undefined || stopping || !client.open) return;
    inFlight++;
    const sentAt = nowMicros();
    let seq = 0;
    let stamps = 0;
    let first = true;
    let id = '';
    const end = (time: number) => {
      inFlight--;
      connection.onFrame = undefined;
      client.ended(id);
      if (inWindow(time)) requestsCompleted++;
      lastCompletion = time;
      if (stopping && inFlight === 0) allDone?.();
    };
    connection.onFrame = (frame, receivedAt) => {
      if (frame.type === 'chat.accepted') return;
      if (frame.type === 'error') return countError(frame.code ?? 'error');
      if (frame.seq !== undefined) {
        if (frame.seq !== seq + 1) gaps++;
        seq = frame.seq;
      }
      const measured = inWindow(receivedAt);
      if (frame.type === 'chat.delta') {
        const text = frame.text ?? '';
        if (first) {
          first = false;
          const received = RECEIVED_PATTERN.exec(text);
          const emitted = /@(\d+)/.exec(text);
          if (received && emitted && measured) {
            const clientMs = (receivedAt - sentAt) / 1000;
            ttft.add(clientMs);
            ttftOverhead.add(clientMs - (Number(emitted[1]) - Number(received[1])) / 1000);
            requestPath.add((Number(received[1]) - sentAt) / 1000);
            firstTokenPath.add((receivedAt - Number(emitted[1])) / 1000);
          }
        }
        for (const match of text.matchAll(STAMP_PATTERN)) {
          stamps++;
          if (measured) {
            latency.add((receivedAt - Number(match[1])) / 1000);
            tokensReceived++;
          }
        }
        return;
      }
      if (frame.type === 'chat.restart') return;
      if (frame.type === 'chat.done') {
        if (stamps < spec.answerTokens) lostTokens += spec.answerTokens - stamps;
      } else {
        countError(frame.code ?? frame.type);
      }
      end(receivedAt);
      if (!spec.single) {
        // Closed loop; after an error, a short pause so that a refusing server is not hammered.
        if (frame.type !== 'chat.done') setTimeout(() => start(connection), 100);
        else if (spec.thinkMs) setTimeout(() => start(connection), spec.thinkMs);
        else start(connection);
      } else if (inFlight === 0) {
        allDone?.();
      }
    };
    id = client.chat(`${content} ${sentAt}`);
  }

  loopDelay.enable();
  for (const connection of connections) {
    setTimeout(() => start(connection), Math.random() * spec.rampMs);
  }
  let finished: Promise<void>;
  if (spec.single) {
    finished = new Promise<void>((resolve) => {
      allDone = resolve;
    });
    const bound = spec.rampMs + spec.drainMs + (spec.answerTokens * spec.intervalMs + 5_000);
    await Promise.race([finished, sleep(bound)]);
  } else {
    await sleep(spec.rampMs + spec.warmupMs);
    report({ type: 'window', phase: 'start' });
    await sleep(spec.measureMs);
    report({ type: 'window', phase: 'end' });
    stopping = true;
    finished = new Promise<void>((resolve) => {
      allDone = resolve;
      if (inFlight === 0) resolve();
    });
    await Promise.race([finished, sleep(spec.drainMs)]);
  }
  loopDelay.disable();
  for (const connection of connections) connection.client?.close();
  const windowMs = spec.single ? (lastCompletion - windowStart) / 1000 : spec.measureMs;
  const ms = (nanoseconds: number) => Math.max(0, nanoseconds / 1e6 - 1);
  return {
    kind: 'streams',
    connected: spec.connections - connectFailures,
    connectFailures,
    latency: latency.summary(),
    ttftOverhead: ttftOverhead.summary(),
    ttft: ttft.summary(),
    requestPath: requestPath.summary(),
    firstTokenPath: firstTokenPath.summary(),
    windowMs,
    tokensReceived,
    requestsCompleted,
    tokensPerSecond: tokensReceived / (windowMs / 1000),
    requestsPerSecond: requestsCompleted / (windowMs / 1000),
    errors,
    errorCodes,
    gaps,
    lostTokens,
    unfinished: inFlight,
    loadgenLoopDelay: {
      p50: ms(loopDelay.percentile(50)),
      p99: ms(loopDelay.percentile(99)),
      max: ms(loopDelay.max),
    },
  };
}

async function runIdle(spec: IdleSpec): Promise<IdleResult> {
  const connections: Connection[] = Array.from({ length: spec.connections }, () => ({ client: undefined }));
  const startedAt = performance.now();
  const connectFailures = await openAll(spec, connections);
  const connectSeconds = (performance.now() - startedAt) / 1000;
  report({ type: 'connected', connected: spec.connections - connectFailures, failures: connectFailures });
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, spec.holdMs);
    process.on('message', (message: OrchestratorMessage) => {
      if (message.type === 'release') {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  const open = connections.filter((connection) => connection.client?.open);
  // A sample of the sockets must still answer: held, not merely not closed yet.
  const sample = open.filter((_, index) => index % Math.max(1, Math.floor(open.length / 200)) === 0);
  const answers = await Promise.all(sample.map((connection) => connection.client!.ping()));
  for (const connection of connections) connection.client?.close();
  return {
    kind: 'idle',
    connected: spec.connections - connectFailures,
    connectFailures,
    connectSeconds,
    stillOpen: open.length,
    pingsSent: sample.length,
    pingsAnswered: answers.filter(Boolean).length,
  };
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.env.BENCH_SPEC ?? '{}') as LoadSpec;
  // Every run ends by itself, whatever the servers do.
  const hardLimitMs =
    spec.kind === 'idle'
      ? spec.holdMs + 120_000
      : spec.rampMs + spec.warmupMs + spec.measureMs + spec.drainMs + 120_000;
  setTimeout(() => {
    report({ type: 'failed', message: `load generator passed its ${hardLimitMs} ms limit` });
    process.exit(3);
  }, hardLimitMs).unref();
  const result = spec.kind === 'idle' ? await runIdle(spec) : await runStreams(spec);
  report({ type: 'result', result });
  // Let the IPC message go out before exiting.
  setTimeout(() => process.exit(0), 200);
}

main().catch((error: unknown) => {
  report({
    type: 'failed',
    message: error instanceof Error ? (error.stack ?? error.message) : String(error),
  });
  setTimeout(() => process.exit(1), 200);
});
