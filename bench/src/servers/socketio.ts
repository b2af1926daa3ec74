// Baseline (c), Socket.IO with its Redis adapter for fan-out: the gateway puts a socket in the request's room and
// enqueues a BullMQ job; the worker emits each delta to the room through the adapter (Redis Pub/Sub underneath).
// `socketio.ts gateway|worker`; env: REDIS_URL, KEY_PREFIX, WORKER_CONCURRENCY, OPENAI_BASE_URL.
import './collect-on-signal.ts';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdapter } from '@socket.io/redis-adapter';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { announceReady, runStreamWorker, type StreamJob } from './stream-job.ts';

const role = process.argv[2];
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = process.env.KEY_PREFIX ?? 'bench';
const queuePrefix = `{${prefix}}`;
const QUEUE = 'socketio';
const connect = () => new Redis(redisUrl, { maxRetriesPerRequest: null, enableAutoPipelining: true });

function createIo(): Server {
  const io = new Server({ transports: ['websocket'], perMessageDeflate: false, serveClient: false });
  const publisher = connect();
  io.adapter(createAdapter(publisher, publisher.duplicate(), { key: `${prefix}:socket.io` }));
  return io;
}

if (role === 'worker') {
  const io = createIo();
  await runStreamWorker(QUEUE, {
    connection: connect(),
    prefix: queuePrefix,
    // The frame goes as an object: Socket.IO encodes it once more for the wire, as an application would.
    publish: (job, frame) => void io.to(job.target).emit('frame', JSON.parse(frame)),
  });
} else {
  const queue = new Queue<StreamJob>(QUEUE, { connection: connect(), prefix: queuePrefix });
  const http = createServer();
  const io = createIo();
  io.attach(http);
  io.on('connection', (socket) => {
    socket.on('chat.send', (frame: { id: string; messages: StreamJob['messages'] }) => {
      const room = `req:${frame.id}`;
      void socket.join(room);
      void queue
        .add('chat', { id: frame.id, target: room, messages: frame.messages }, { removeOnComplete: true })
        .then(() => socket.emit('frame', { type: 'chat.accepted', id: frame.id }));
    });
    socket.on('chat.end', (id: string) => void socket.leave(`req:${id}`));
    socket.on('probe', (answer: () => void) => answer());
  });
  await new Promise<void>((resolve) => http.listen(Number(process.env.PORT ?? 0), '127.0.0.1', resolve));
  process.on('SIGTERM', () => {
    io.close();
    setTimeout(() => process.exit(0), 2_000).unref();
  });
  announceReady((http.address() as AddressInfo).port);
}
