// Prometheus metrics of one process (gateway, worker or both): one registry, fed through the roles' hooks.
import type { ServerResponse } from 'node:http';
import type { ErrorCode } from '@chrome-plus/protocol';
import type { Job, Queue } from 'bullmq';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { SessionHooks } from './gateway/session.ts';
import type { GenerationLog, TerminalBody } from './generations/log.ts';
import type { WorkerHooks } from './worker/worker.ts';

const PREFIX = 'chrome_plus_';
/** Job states whose sizes say how far behind the workers are. */
const QUEUE_STATES = ['waiting', 'prioritized', 'delayed', 'active'] as const;
/** A scrape must answer even when Redis does not: the queue gauge is then left out of that scrape. */
const QUEUE_SAMPLE_TIMEOUT_MS = 1_000;

export interface Metrics {
  readonly registry: Registry;
  readonly sessionHooks: SessionHooks;
  readonly workerHooks: WorkerHooks;
  /** The gateway's count of open sockets. */
  socketCount(count: number): void;
  /** A live event reached a socket; `appendedAt` is the append time (epoch ms, the worker's clock). */
  delivered(appendedAt: number): void;
  /** Counts each request's terminal event once, in whichever process wrote it (worker, gateway, sweeper). */
  instrumentLog(log: GenerationLog): GenerationLog;
  /** Samples the queue's job counts at each scrape. */
  watchQueue(queue: Queue): void;
  /** Samples the worker's running jobs at each scrape. */
  watchWorker(worker: { readonly active: number }): void;
  /** Answers a scrape. */
  serve(response: ServerResponse): Promise<void>;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function createMetrics(labels: { role: string }): Metrics {
  const registry = new Registry();
  registry.setDefaultLabels({ role: labels.role });
  collectDefaultMetrics({ register: registry });

  const openSockets = new Gauge({
    name: `${PREFIX}gateway_open_sockets`,
    help: 'WebSocket connections open on this gateway.',
    registers: [registry],
  });
  const accepted = new Counter({
    name: `${PREFIX}requests_accepted_total`,
    help: 'chat.send frames that started a new request (durably enqueued).',
    registers: [registry],
  });
  const refused = new Counter({
    name: `${PREFIX}requests_refused_total`,
    help: 'chat.send frames refused before anything was enqueued, by error code.',
    labelNames: ['code'],
    registers: [registry],
  });
  const framesRefused = new Counter({
    name: `${PREFIX}frames_refused_total`,
    help: 'Client frames answered with an error (bad frames, floods, unknown ids, refused sends), by code.',
    labelNames: ['code'],
    registers: [registry],
  });
  const ended = new Counter({
    name: `${PREFIX}requests_ended_total`,
    help: 'Terminal events written by this process, by outcome (done, error, cancelled) and error code.',
    labelNames: ['outcome', 'code'],
    registers: [registry],
  });
  const gatewayFirstToken = new Histogram({
    name: `${PREFIX}gateway_time_to_first_token_seconds`,
    help: 'From a chat.send reaching the gateway to the first delta sent on that socket.',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60],
    registers: [registry],
  });
  const delivery = new Histogram({
    name: `${PREFIX}delta_delivery_seconds`,
    help: "From an event's append by a worker (its clock) to its send on a socket (this gateway's clock), live events only.",
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const queueWait = new Histogram({
    name: `${PREFIX}queue_wait_seconds`,
    help: 'From enqueue to a worker starting the job (a job handed back or taken over counts again from its enqueue).',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    registers: [registry],
  });
  const firstToken = new Histogram({
    name: `${PREFIX}time_to_first_token_seconds`,
    help: 'From a worker starting a job to its first delta appended to the log (model latency included).',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60],
    registers: [registry],
  });
  const providerErrors = new Counter({
    name: `${PREFIX}provider_errors_total`,
    help: 'Failed model calls, retried ones included, by error code.',
    labelNames: ['code'],
    registers: [registry],
  });
  const jobs = new Counter({
    name: `${PREFIX}worker_jobs_total`,
    help: 'Jobs this worker ran, by how they left it (finished, handed-back on shutdown, abandoned, failed).',
    labelNames: ['outcome'],
    registers: [registry],
  });

  let queue: Queue | undefined;
  new Gauge({
    name: `${PREFIX}queue_jobs`,
    help: 'Jobs in the queue by state, sampled at each scrape (the same for every process of a deployment).',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      if (queue === undefined) return;
      const counts = await withTimeout(
        queue.getJobCounts(...QUEUE_STATES).catch(() => undefined),
        QUEUE_SAMPLE_TIMEOUT_MS,
      );
      if (counts === undefined) return;
      for (const state of QUEUE_STATES) this.set({ state }, counts[state] ?? 0);
    },
  });
  let worker: { readonly active: number } | undefined;
  new Gauge({
    name: `${PREFIX}worker_active_jobs`,
    help: 'Jobs this worker is running now.',
    registers: [registry],
    collect() {
      if (worker !== undefined) this.set(worker.active);
    },
  });

  // Outcomes are known before traffic flows: export them at zero, so that rate() works from the first scrape.
  for (const outcome of ['done', 'cancelled']) ended.inc({ outcome, code: '' }, 0);
  for (const outcome of ['finished', 'handed-back', 'abandoned', 'failed']) jobs.inc({ outcome }, 0);

  const sessionHooks: SessionHooks = {
    requestAccepted: () => accepted.inc(),
    requestRefused: (code: ErrorCode) => refused.inc({ code }),
    frameRefused: (code: ErrorCode) => framesRefused.inc({ code }),
    firstDelta: (elapsedMs: number) => gatewayFirstToken.observe(elapsedMs / 1000),
  };
  const workerHooks: WorkerHooks = {
    jobStarted: (_job: Job, waitedMs: number) => queueWait.observe(Math.max(0, waitedMs) / 1000),
    jobEnded: (_job: Job, outcome) => jobs.inc({ outcome }),
    firstDelta: (elapsedMs: number) => firstToken.observe(elapsedMs / 1000),
    providerFailed: (code: ErrorCode) => providerErrors.inc({ code }),
  };

  function countEnd(body: TerminalBody): void {
    if (body.type === 'chat.error') ended.inc({ outcome: 'error', code: body.code });
    else ended.inc({ outcome: body.type === 'chat.done' ? 'done' : 'cancelled', code: '' });
  }

  return {
    registry,
    sessionHooks,
    workerHooks,
    socketCount: (count) => openSockets.set(count),
    delivered(appendedAt) {
      const seconds = (Date.now() - appendedAt) / 1000;
      // Clocks of different machines may disagree: a negative delay says so, it is not an observation.
      if (seconds >= 0 && Number.isFinite(seconds)) delivery.observe(seconds);
    },
    instrumentLog(log) {
      return {
        ...log,
        async finish(key, token, body, user) {
          const seq = await log.finish(key, token, body, user);
          if (seq > 0) countEnd(body);
          return seq;
        },
      };
    },
    watchQueue(watched) {
      queue = watched;
    },
    watchWorker(watched) {
      worker = watched;
    },
    async serve(response) {
      const text = await registry.metrics();
      response.writeHead(200, { 'content-type': registry.contentType }).end(text);
    },
  };
}
