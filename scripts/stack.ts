// `npm run stack -- --gateways 2 --workers 3`: the deployment's topology on this machine, without Docker.
// Starts Redis if none answers, the gateways on consecutive ports, the workers; stops them all on Ctrl-C.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot, type StackProcess, startStack } from '@chrome-plus/testkit';

const usage = `usage: npm run stack -- [options]

options:
  --gateways N       gateways to start (default 1), on PORT, PORT+1, ... (PORT default 8787; 0: free ports)
  --workers N        workers to start (default 1), health and metrics on 9464, 9465, ... (--worker-port)
  --worker-port P    the first worker's health and metrics port (0: free ports)
  --dist             run the bundle (server/dist/main.js, after \`npm run build -w server\`) instead of the sources
  --no-redis         never start redis-server, even when nothing answers at REDIS_URL
  --raw              print the processes' JSON log lines as they are
  --env-file PATH    read variables from PATH (default .env, when present); the environment wins

Configuration is the servers' own: see .env.example.`;

const { values } = parseArgs({
  options: {
    gateways: { type: 'string', default: '1' },
    workers: { type: 'string', default: '1' },
    'worker-port': { type: 'string', default: '9464' },
    dist: { type: 'boolean', default: false },
    'no-redis': { type: 'boolean', default: false },
    raw: { type: 'boolean', default: false },
    'env-file': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log(usage);
  process.exit(0);
}

function count(name: string, raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 64) {
    console.error(`--${name} must be a whole number from 0 to 64 (got "${raw}")\n\n${usage}`);
    process.exit(2);
  }
  return value;
}

/** KEY=VALUE lines; comments and empty values skipped, so that an unset variable keeps its default. */
function readEnvFile(path: string): Record<string, string> {
  const variables: Record<string, string> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (match === null) continue;
    const value = match[2]!.replace(/^(['"])(.*)\1$/, '$2');
    if (value !== '') variables[match[1]!] = value;
  }
  return variables;
}

const envFile = values['env-file'] ?? join(repoRoot, '.env');
if (values['env-file'] !== undefined && !existsSync(envFile)) {
  console.error(`no such file: ${envFile}`);
  process.exit(2);
}
const fileEnv = existsSync(envFile) ? readEnvFile(envFile) : {};
const env: Record<string, string | undefined> = { ...fileEnv, ...process.env };
if (env.DATABASE_URL === undefined) {
  // The embedded database (PGlite) admits one process: apart, the roles need a PostgreSQL server, or none.
  console.log(
    'DATABASE_URL is not set: the processes run without accounts (users from AUTH_TOKENS alone, no usage, no quotas).\n' +
      'Set DATABASE_URL=postgres://... (a PostgreSQL server they share) for users, device tokens and quotas.',
  );
  env.DATABASE_URL = 'none';
}

const colours = [36, 35, 33, 32, 34, 91, 96, 95];
const width = 10;
const tty = process.stdout.isTTY;
const levels: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
const colourOf = new Map<string, number>();

/** One pino JSON line as `time LEVEL message key=value...`; anything else as it is. */
function pretty(line: string): string {
  if (values.raw || !line.startsWith('{')) return line;
  try {
    const record = JSON.parse(line) as Record<string, unknown>;
    const { level, time, msg, role: _role, pid: _pid, ...rest } = record;
    const clock = typeof time === 'number' ? new Date(time).toISOString().slice(11, 23) : '';
    const extra = Object.entries(rest)
      .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
      .join(' ');
    return `${clock} ${(levels[Number(level)] ?? String(level)).padEnd(5)} ${String(msg ?? '')}${extra === '' ? '' : `  ${extra}`}`;
  } catch {
    return line;
  }
}

function print(name: string, line: string): void {
  if (line === '') return;
  let colour = colourOf.get(name);
  if (colour === undefined) {
    colour = colours[colourOf.size % colours.length]!;
    colourOf.set(name, colour);
  }
  const label = `[${name}]`.padEnd(width + 2);
  process.stdout.write(`${tty ? `\x1b[${colour}m${label}\x1b[0m` : label} ${pretty(line)}\n`);
}

function describe(process_: StackProcess): string {
  return process_.role === 'gateway'
    ? `${process_.url}   (health and metrics: ${process_.httpUrl}/readyz, /metrics)`
    : `${process_.httpUrl}/metrics   (/healthz, /readyz)`;
}

try {
  const stack = await startStack({
    gateways: count('gateways', values.gateways),
    workers: count('workers', values.workers),
    workerBasePort: Number(values['worker-port']),
    env,
    runtime: values.dist ? 'dist' : 'source',
    startRedis: !values['no-redis'],
    onLine: print,
    // Ctrl-C reaches the stack alone, which then stops each process with SIGTERM: graceful, in order.
    detached: true,
  });
  const redisNote =
    stack.redisPid === undefined
      ? 'already running'
      : `started by the stack (pid ${stack.redisPid}), in memory`;
  const lines = [
    '',
    'stack ready:',
    `  ${'redis'.padEnd(width)} ${stack.redisUrl.replace(/\/\/[^@/]*@/, '//***@')}   (${redisNote})`,
    ...[...stack.gateways, ...stack.workers].map(
      (process_) => `  ${process_.name.padEnd(width)} ${describe(process_)}`,
    ),
    '',
    `Try: ${env.AUTH_TOKENS ? 'CHROME_PLUS_TOKEN=<a token of AUTH_TOKENS> ' : ''}npm run chat -- --url ${stack.gateways[0]?.url ?? 'ws://…'} "hello"`,
    'Ctrl-C stops everything.',
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      process.stdout.write('second signal: killing everything now\n');
      for (const process_ of [...stack.gateways, ...stack.workers])
        if (process_.alive()) process.kill(process_.pid, 'SIGKILL');
      process.exit(1);
    }
    stopping = true;
    process.stdout.write(`\n${signal}: stopping (SIGTERM to each process; Ctrl-C again to kill)\n`);
    stack.stop().then(
      () => {
        process.stdout.write('stopped\n');
        process.exit(0);
      },
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  // A process that dies on its own is reported; the others go on.
  for (const process_ of [...stack.gateways, ...stack.workers]) {
    process_.exited.then(({ code, signal }) => {
      if (!stopping) process.stdout.write(`${process_.name} exited (${signal ?? `code ${code}`})\n`);
    });
  }
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
}
