// WORKER_PROCESSES > 1: the worker role as several processes (node:cluster), each a whole worker with its own Redis
// connections and BullMQ consumer, so that one container uses every core; the primary only supervises them and
// serves the one /healthz, /readyz and /metrics (the children's metrics summed by prom-client's aggregator).
import cluster, { type Worker as ClusterWorker } from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { Config } from '../config.ts';
import { type HealthServer, startHealthServer } from '../http/health-server.ts';
import { createMetricsAccess } from '../http/metrics-access.ts';
import type { Logger } from '../logger.ts';

/** The message a child sends the primary once its worker takes jobs. */
const READY = 'chrome-plus:worker-ready';
/** A child that dies is started again after this, doubled while children keep dying, up to the maximum. */
const RESTART_DELAY_MS = 500;
const MAX_RESTART_DELAY_MS = 30_000;

export interface WorkerProcesses {
  /** Resolves once every child took jobs for the first time. */
  readonly ready: Promise<void>;
  /** The primary's health and metrics server, when WORKER_PORT is set. */
  readonly http: HealthServer | undefined;
  /** SIGTERM to every child (each finishes or hands back its answers), SIGKILL to any left after the grace. */
  stop(): Promise<void>;
}

export interface WorkerProcessesOptions {
  config: Pick<
    Config,
    'host' | 'workerPort' | 'workerProcesses' | 'shutdownGraceMs' | 'tokens' | 'adminToken' | 'metricsToken'
  >;
  logger: Logger;
}

/** In the primary: starts `config.workerProcesses` children of this same entry and keeps them running. */
export async function startWorkerProcesses(options: WorkerProcessesOptions): Promise<WorkerProcesses> {
  const { config, logger } = options;
  const count = config.workerProcesses;
  const ready = new Set<number>();
  let stopping = false;
  let restartDelayMs = RESTART_DELAY_MS;
  let allReady: () => void = () => {};
  const firstReady = new Promise<void>((resolve) => {
    allReady = resolve;
  });

  function fork(index: number): ClusterWorker {
    // Each child is a plain worker: one process, no HTTP server of its own.
    const child = cluster.fork({
      WORKER_PROCESSES: '1',
      WORKER_PORT: '0',
      WORKER_PROCESS_INDEX: String(index),
    });
    child.on('message', (message: unknown) => {
      if (message !== READY) return;
      ready.add(child.id);
      restartDelayMs = RESTART_DELAY_MS;
      if (ready.size >= count) allReady();
    });
    child.on('exit', (code, signal) => {
      ready.delete(child.id);
      if (stopping) return;
      logger.error({ process: index, code, signal, restartInMs: restartDelayMs }, 'a worker process died');
      const delay = restartDelayMs;
      restartDelayMs = Math.min(MAX_RESTART_DELAY_MS, restartDelayMs * 2);
      setTimeout(() => {
        if (!stopping) fork(index);
      }, delay).unref();
    });
    return child;
  }
  for (let index = 1; index <= count; index++) fork(index);

  const aggregator = new AggregatorRegistry();
  const metricsAccess = createMetricsAccess(config);
  const http =
    config.workerPort === 0
      ? undefined
      : await startHealthServer({
          host: config.host,
          port: config.workerPort,
          logger,
          readiness: async () => ({ processes: ready.size === count, accepting: !stopping }),
          metrics: async (response, request) => {
            if (!metricsAccess(request, response)) return;
            const text = await aggregator.clusterMetrics();
            response.writeHead(200, { 'content-type': aggregator.contentType }).end(text);
          },
        });

  return {
    ready: firstReady,
    http,
    async stop() {
      stopping = true;
      const children = Object.values(cluster.workers ?? {}).filter(
        (child): child is ClusterWorker => child !== undefined && !child.isDead(),
      );
      const exited = children.map(
        (child) =>
          new Promise<void>((resolve) => (child.isDead() ? resolve() : child.once('exit', () => resolve()))),
      );
      for (const child of children) child.process.kill('SIGTERM');
      const late = setTimeout(() => {
        for (const child of children) if (!child.isDead()) child.process.kill('SIGKILL');
      }, config.shutdownGraceMs + 5_000);
      await Promise.all(exited);
      clearTimeout(late);
      await http?.close();
    },
  };
}

/**
 * In a child: its metrics answer the primary's aggregator, and it says when it takes jobs. It stops when the primary
 * goes away (the IPC channel closes), so that no orphan keeps taking jobs.
 */
export function joinWorkerProcesses(registry: Registry, onPrimaryGone: () => void): { ready(): void } {
  // Constructing one adds the child's side of the aggregation (an answer to the primary's requests).
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([registry]);
  process.on('disconnect', onPrimaryGone);
  return { ready: () => process.send?.(READY) };
}

export const isWorkerProcessChild = (): boolean => cluster.isWorker;
