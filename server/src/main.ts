// Entry point: `main.ts gateway|worker|all`. Reads the config, checks Redis, starts the role, stops on SIGTERM/SIGINT.
import { type Role, startApp } from './app.ts';
import { type Config, ConfigError, describeConfig, loadConfig } from './config.ts';
import type { Database } from './db/database.ts';
import { DatabaseChoiceError, databaseForRole } from './db/database-for-role.ts';
import { createLogger, type Logger } from './logger.ts';
import { checkRedis, describeRedis } from './redis/connect.ts';
import {
  isWorkerProcessChild,
  joinWorkerProcesses,
  startWorkerProcesses,
} from './worker/worker-processes.ts';

const roles: Role[] = ['gateway', 'worker', 'all'];

async function main(): Promise<void> {
  const role = (process.argv[2] ?? 'all') as Role;
  if (!roles.includes(role)) {
    console.error(`usage: main.ts <${roles.join('|')}> (got "${process.argv[2]}")`);
    process.exit(2);
  }
  let config: ReturnType<typeof loadConfig>;
  let target: ReturnType<typeof databaseForRole>;
  try {
    config = loadConfig(process.env);
    target = databaseForRole(role, config.database);
  } catch (error) {
    if (error instanceof ConfigError || error instanceof DatabaseChoiceError) {
      console.error(`configuration error: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel, role);
  try {
    await checkRedis(config.redis);
  } catch (error) {
    console.error(
      `cannot reach Redis at ${describeRedis(config.redis)}: ${(error as Error).message}\n` +
        'Start one (e.g. `sudo apt-get install -y redis-server`, or `docker run -p 127.0.0.1:6379:6379 redis:7`), or set REDIS_URL (REDIS_SENTINELS, REDIS_CLUSTER_NODES: docs/operations.md).',
    );
    process.exit(1);
  }
  if (role === 'worker' && config.workerProcesses > 1 && !isWorkerProcessChild()) {
    await superviseWorkers(config, logger);
    return;
  }
  if (!isWorkerProcessChild()) logger.info({ config: describeConfig(config) }, 'starting');
  let database: Database | undefined;
  if (target !== undefined) {
    try {
      // Loaded only when there is a database: a role without one never loads Kysely or pg.
      const { openDatabase } = await import('./db/database.ts');
      database = await openDatabase(target, {
        onPoolError: (error) => logger.warn({ err: error.message }, 'database connection error'),
      });
    } catch (error) {
      const where = target.kind === 'postgres' ? target.url.replace(/\/\/[^@/]*@/, '//***@') : target.dataDir;
      console.error(
        `cannot open the accounts database (${target.kind}, ${where}): ${(error as Error).message}\n` +
          (target.kind === 'postgres'
            ? 'Start PostgreSQL (e.g. `docker compose up -d postgres`), check DATABASE_URL, or set DATABASE_URL=none to run without accounts.'
            : 'Set DATA_DIR to a writable directory of this process alone, or DATABASE_URL to a PostgreSQL server.'),
      );
      process.exit(1);
    }
    if (database.migrated.length > 0) logger.info({ versions: database.migrated }, 'database migrated');
    logger.info({ database: target.kind }, 'accounts database ready');
  }
  const app = await startApp({ role, config, logger, ...(database !== undefined && { database }) });
  if (app.gateway) {
    logger.info(
      { url: `ws://${config.host}:${app.gateway.port}/v1/ws` },
      `gateway listening on ${config.host}:${app.gateway.port}`,
    );
  }
  if (app.workerHttp) {
    logger.info(
      { url: `http://${config.host}:${app.workerHttp.port}/metrics` },
      `worker health and metrics on ${config.host}:${app.workerHttp.port}`,
    );
  }
  const child = isWorkerProcessChild()
    ? joinWorkerProcesses(app.metrics.registry, () => {
        // Also seen as the supervisor stops its children: then the SIGTERM came first.
        if (!stopping) stop('the supervising process went away');
      })
    : undefined;
  if (app.worker) {
    // A child's readiness is its supervisor's to announce, once every child is ready.
    logger.info({ concurrency: config.workerConcurrency }, child ? 'worker process ready' : 'worker ready');
    child?.ready();
  }

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      // A worker process hears its group's signal and its supervisor's: the supervisor escalates if need be.
      if (child !== undefined) return;
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      logger.error('shutdown took too long: exiting');
      process.exit(1);
    }, config.shutdownGraceMs + 10_000);
    force.unref();
    exitAfter(
      app.close().then(() => database?.close()),
      logger,
    );
  };
  onStopSignals(stop);
}

/** WORKER_PROCESSES > 1: this process starts the worker processes, serves their health and metrics, stops them. */
async function superviseWorkers(config: Config, logger: Logger): Promise<void> {
  logger.info({ config: describeConfig(config) }, 'starting');
  const processes = await startWorkerProcesses({ config, logger });
  if (processes.http) {
    logger.info(
      { url: `http://${config.host}:${processes.http.port}/metrics` },
      `worker health and metrics on ${config.host}:${processes.http.port}`,
    );
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down the worker processes');
    exitAfter(processes.stop(), logger);
  };
  onStopSignals(stop);
  await processes.ready;
  logger.info(
    { processes: config.workerProcesses, concurrency: config.workerConcurrency },
    `worker ready (${config.workerProcesses} processes)`,
  );
}

function onStopSignals(stop: (signal: string) => void): void {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => stop(signal));
}

/** Exits 0 once `work` is done, 1 if it failed. */
function exitAfter(work: Promise<unknown>, logger: Logger): void {
  work.then(
    () => {
      logger.info('stopped');
      process.exit(0);
    },
    (error: unknown) => {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    },
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
