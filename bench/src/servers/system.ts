// The real system, one role per process, as server/src/main.ts starts it, plus the worker's coalescing window as a knob:
// BENCH_COALESCE_MS (default 15, as app.ts) and BENCH_COALESCE_CHARS (default 2048). Prints {"ready":true,"port":N}.
// BENCH_SERVER_SRC points at another copy of server/src (an experiment outside the work tree) to measure a change.
import './collect-on-signal.ts';
import { join } from 'node:path';
import type * as AppModule from '../../../server/src/app.ts';
import type * as ConfigModule from '../../../server/src/config.ts';
import type * as LoggerModule from '../../../server/src/logger.ts';

const serverSource =
  process.env.BENCH_SERVER_SRC ?? join(import.meta.dirname, '..', '..', '..', 'server', 'src');
const { startApp } = (await import(join(serverSource, 'app.ts'))) as typeof AppModule;
const { loadConfig } = (await import(join(serverSource, 'config.ts'))) as typeof ConfigModule;
const { createLogger } = (await import(join(serverSource, 'logger.ts'))) as typeof LoggerModule;

const role = (process.argv[2] ?? 'all') as AppModule.Role;
const config = loadConfig(process.env);
const logger = createLogger(config.logLevel, role);
const coalesce = {
  maxDelayMs: Number(process.env.BENCH_COALESCE_MS ?? 15),
  maxChars: Number(process.env.BENCH_COALESCE_CHARS ?? 2048),
};
const app = await startApp({ role, config, logger, coalesce });
process.stdout.write(`${JSON.stringify({ ready: true, port: app.gateway?.port ?? 0 })}\n`);

let stopping = false;
process.on('SIGTERM', () => {
  if (stopping) return;
  stopping = true;
  const force = setTimeout(() => process.exit(1), 5_000);
  force.unref();
  app.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
