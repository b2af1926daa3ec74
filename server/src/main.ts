// Entry point: `main.ts gateway|worker|all`. Reads the config, checks Redis, starts the role, stops on SIGTERM/SIGINT.
import { type Role, startApp } from './app.ts';
import { ConfigError, describeConfig, loadConfig } from './config.ts';
import { createLogger } from './logger.ts';
import { checkRedis } from './redis/connect.ts';

const roles: Role[] = ['gateway', 'worker', 'all'];

async function main(): Promise<void> {
  const role = (process.argv[2] ?? 'all') as Role;
  if (!roles.includes(role)) {
    console.error(`usage: main.ts <${roles.join('|')}> (got "${process.argv[2]}")`);
    process.exit(2);
  }
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`configuration error: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel, role);
  try {
    await checkRedis(config.redisUrl);
  } catch (error) {
    console.error(
      `cannot reach Redis at ${config.redisUrl.replace(/\/\/[^@/]*@/, '//***@')}: ${(error as Error).message}\n` +
        'Start one (e.g. `sudo apt-get install -y redis-server`, or `docker run -p 127.0.0.1:6379:6379 redis:7`), or set REDIS_URL.',
    );
    process.exit(1);
  }
  logger.info({ config: describeConfig(config) }, 'starting');
  const app = await startApp({ role, config, logger });
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
  if (app.worker) logger.info({ concurrency: config.workerConcurrency }, 'worker ready');

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      logger.warn('second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      logger.error('shutdown took too long: exiting');
      process.exit(1);
    }, config.shutdownGraceMs + 10_000);
    force.unref();
    app.close().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
