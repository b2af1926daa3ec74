// Baseline (b), the seed's literal design: the gateway enqueues a BullMQ job and subscribes to the request's channel;
// the worker publishes every delta on Redis Pub/Sub. No log: a late or reconnecting subscriber loses tokens.
// `pubsub.ts gateway|worker`; env: REDIS_URL, KEY_PREFIX, WORKER_CONCURRENCY, OPENAI_BASE_URL.
import './collect-on-signal.ts';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { announceReady, runStreamWorker, type StreamJob } from './stream-job.ts';
import { startFront } from './ws-front.ts';

const role = process.argv[2];
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = process.env.KEY_PREFIX ?? 'bench';
const queuePrefix = `{${prefix}}`;
const QUEUE = 'seed-pubsub';
const connect = () => new Redis(redisUrl, { maxRetriesPerRequest: null, enableAutoPipelining: true });

if (role === 'worker') {
  const publisher = connect();
  await runStreamWorker(QUEUE, {
    connection: connect(),
    prefix: queuePrefix,
    publish: (job, frame) => void publisher.publish(job.target, frame),
  });
} else {
  const redis = connect();
  const subscriber = connect();
  const queue = new Queue<StreamJob>(QUEUE, { connection: redis, prefix: queuePrefix });
  /** channel → the socket's send, while the request runs */
  const listeners = new Map<string, (frame: string) => void>();
  subscriber.on('message', (channel: string, frame: string) => {
    const send = listeners.get(channel);
    if (send === undefined) return;
    send(frame);
    if (!frame.startsWith('{"type":"chat.delta"')) {
      listeners.delete(channel);
      void subscriber.unsubscribe(channel);
    }
  });
  const port = await startFront({
    serverName: 'bench-seed-pubsub',
    chatSend(frame, send) {
      const channel = `${prefix}:seed:${frame.id}`;
      listeners.set(channel, send);
      void (async () => {
        await subscriber.subscribe(channel);
        await queue.add(
          'chat',
          {
            id: frame.id,
            target: channel,
            messages: frame.messages.map((message) => ({ role: message.role, content: message.content })),
          },
          { removeOnComplete: true, removeOnFail: true },
        );
        send(`{"type":"chat.accepted","id":${JSON.stringify(frame.id)}}`);
      })();
    },
  });
  announceReady(port);
}
