// The real system, one role per process, as server/src/main.ts starts it, plus the worker's coalescing as a knob:
// BENCH_COALESCE_MS (how long a delta may linger) and BENCH_COALESCE_CHARS; unset, app.ts's default. Prints
// {"ready":true,"port":N}.
import './collect-on-signal.ts';
import { createLogger, loadConfig, type Role, startApp } from '@chrome-plus/server';

const role = (process.argv[2] ?? 'all') as Role;
const config = loadConfig(process.env);
const logger = createLogger(config.logLevel, role);
const coalesce =
  process.env.BENCH_COALESCE_MS === undefined
    ? undefined
    : {
        maxDelayMs: Number(process.env.BENCH_COALESCE_MS),
        maxChars: Number(process.env.BENCH_COALESCE_CHARS ?? 2048),
      };
const app = await startApp({ role, config, logger, ...(coalesce && { coalesce }) });
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
