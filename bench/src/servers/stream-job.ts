// What the queue-based baselines' workers do with a job: stream the model's answer and hand each frame to `publish`.
import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { announceReady, BENCH_MODEL, createBenchProvider } from './provider.ts';

export interface StreamJob {
  id: string;
  /** Where the frames go: a Pub/Sub channel (b) or a Socket.IO room (c). */
  target: string;
  messages: { role: 'system' | 'user' | 'assistant'; content: string }[];
}

const provider = createBenchProvider();

/** Streams one answer; every frame is a JSON object in the wire contract's shape, with its `seq`. */
export async function streamJob(job: StreamJob, publish: (frame: string) => void): Promise<void> {
  const id = JSON.stringify(job.id);
  let seq = 0;
  try {
    for await (const event of provider.stream({
      model: BENCH_MODEL,
      messages: job.messages,
      signal: new AbortController().signal,
    })) {
      seq++;
      if (event.type === 'delta') {
        publish(`{"type":"chat.delta","id":${id},"seq":${seq},"text":${JSON.stringify(event.text ?? '')}}`);
      } else {
        publish(
          `{"type":"chat.done","id":${id},"seq":${seq},"finishReason":${JSON.stringify(event.finishReason)},"model":${JSON.stringify(event.model)}}`,
        );
      }
    }
  } catch (error) {
    publish(
      JSON.stringify({
        type: 'chat.error',
        id: job.id,
        seq: seq + 1,
        code: 'provider_error',
        message: String(error),
        retryable: true,
      }),
    );
  }
}

/**
 * The worker role of a queue-based baseline: runs `streamJob` for every job of `queue`, handing each frame to
 * `publish`; announces readiness and stops on SIGTERM.
 */
export async function runStreamWorker(
  queue: string,
  options: { connection: Redis; prefix: string; publish: (job: StreamJob, frame: string) => void },
): Promise<void> {
  const worker = new Worker<StreamJob>(
    queue,
    (job) => streamJob(job.data, (frame) => options.publish(job.data, frame)),
    {
      connection: options.connection,
      prefix: options.prefix,
      concurrency: Number(process.env.WORKER_CONCURRENCY ?? 50),
      removeOnComplete: { count: 0 },
      removeOnFail: { count: 0 },
    },
  );
  await worker.waitUntilReady();
  announceReady(0);
  process.on('SIGTERM', () => {
    worker.close().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 2_000).unref();
  });
}

export { announceReady };
